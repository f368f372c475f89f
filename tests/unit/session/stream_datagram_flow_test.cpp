// Tests for StreamDatagramFlow: the datagram-over-stream flow over
// in-memory carrying streams (tests/support/pipe_transport.hpp: the test
// drives each stream's far end), with the real VLESS framings. No socket;
// virtual time (net::ManualClock) delivers bytes, deferred errors and closes.
#include "session/stream_datagram_flow.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "net/clock.hpp"
#include "proto/vless/udp_framing.hpp"
#include "proto/vless/xudp_framing.hpp"
#include "support/hex.hpp"
#include "support/pipe_transport.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

// FarEnd: the test's end of a carrying stream; |near| is the flow's end,
// valid until the flow's close of it has called back.
struct FarEnd final : TransportHandler {
  std::unique_ptr<PipeTransport> t;
  PipeTransport* near = nullptr;
  Bytes got;
  int eofs = 0;
  std::vector<Errc> errors;
  void on_data(Slice&& s) override { got.insert(got.end(), s.span().begin(), s.span().end()); }
  void on_eof() override { eofs++; }
  void on_error(Errc e) override { errors.push_back(e); }
};

// TestCarrier opens nothing by itself: the test answers each open.
class TestCarrier final : public DatagramCarrier {
 public:
  struct OpenState {
    CarrierHandler* handler = nullptr;
    bool has_first = false;
    TargetAddress first;
    bool answered = false;
    bool cancelled = false;
  };
  class TestOpen final : public Open {
   public:
    explicit TestOpen(std::shared_ptr<OpenState> s) : s_(std::move(s)) {}
    ~TestOpen() override {
      if (!s_->answered) s_->cancelled = true;
    }

   private:
    std::shared_ptr<OpenState> s_;
  };

  bool xudp = false;
  Errc refuse_at_once = Errc::ok;  // answer every open inside open() with this
  Bytes prefix_bytes;
  std::vector<std::shared_ptr<OpenState>> opens;
  Engine* engine = nullptr;
  std::vector<std::shared_ptr<FarEnd>>* wires = nullptr;  // every stream made

  std::unique_ptr<Open> open(const TargetAddress* first, CarrierHandler* h) noexcept override {
    auto s = std::make_shared<OpenState>();
    s->handler = h;
    if (first) {
      s->has_first = true;
      s->first = *first;
    }
    opens.push_back(s);
    auto o = std::make_unique<TestOpen>(s);
    if (refuse_at_once != Errc::ok) {
      s->answered = true;
      h->on_carrier(refuse_at_once, "refused at once");
    }
    return o;
  }
  std::unique_ptr<DatagramFraming> framing(const TargetAddress& first) noexcept override {
    if (xudp) return std::make_unique<vless::XudpFraming>(vless::XudpFraming::client(first));
    return std::make_unique<vless::UdpFraming>(first);
  }
  Result<Slice> prefix(const TargetAddress& first, BufferPool& pool) noexcept override {
    (void)first;
    if (prefix_bytes.empty()) return Slice{};
    return pool.copy_from(prefix_bytes.data(), prefix_bytes.size());
  }

  // connect answers open |i| with a new in-memory stream whose far end
  // reads if |far_reads|; the flow's close of it calls back |close_delay_ms|
  // after it (0: on the next loop turn).
  std::shared_ptr<FarEnd> connect(size_t i, bool far_reads = true, uint64_t close_delay_ms = 0) {
    auto w = std::make_shared<FarEnd>();
    if (wires) wires->push_back(w);
    REQUIRE(i < opens.size());
    REQUIRE(!opens[i]->answered);
    REQUIRE(!opens[i]->cancelled);
    auto [near_end, far_end] = PipeTransport::make_pipe(*engine);
    w->t = std::move(far_end);
    w->near = near_end.get();
    w->t->set_handler(w.get());
    if (far_reads) w->t->read_start();
    near_end->set_close_delay_ms(close_delay_ms);
    opens[i]->answered = true;
    opens[i]->handler->on_carrier(std::unique_ptr<Transport>(near_end.release()), "");
    return w;
  }
  void refuse(size_t i, Errc e) {
    REQUIRE(!opens[i]->answered);
    opens[i]->answered = true;
    opens[i]->handler->on_carrier(e, "refused");
  }
};

struct Received {
  std::string host;
  uint16_t port;
  Bytes data;
};

struct Recorder final : DatagramHandler {
  std::vector<Received> got;
  std::vector<Errc> errors;
  void on_datagram(const Endpoint& from, Slice&& p) override {
    got.push_back({from.host, from.port, Bytes(p.span().begin(), p.span().end())});
  }
  void on_error(Errc e) override { errors.push_back(e); }
};

struct Fixture {
  net::ManualClock clock{1000};
  std::unique_ptr<Engine> engine = make_engine(clock);
  std::vector<std::shared_ptr<FarEnd>> wires;  // every stream the carrier made
  Recorder rec;
  TestCarrier* carrier = nullptr;
  std::unique_ptr<StreamDatagramFlow> flow;

  static std::unique_ptr<Engine> make_engine(net::ManualClock& c) {
    auto e = net::create_engine(c);
    REQUIRE(e);
    return std::move(*e);
  }
  // The flow first; then every close still pending finishes, so every
  // stream (and the pool memory it holds) is gone before the Engine.
  ~Fixture() {
    flow.reset();
    for (auto& w : wires) w->t->close(nullptr, nullptr);
    clock.advance(1000);  // past any close delay
  }
  void advance(uint64_t ms = 0) { clock.advance(ms); }

  void make(const StreamDatagramFlowOptions& o, bool xudp = false, Errc refuse_at_once = Errc::ok,
            Bytes prefix = {}) {
    auto c = std::make_unique<TestCarrier>();
    c->xudp = xudp;
    c->refuse_at_once = refuse_at_once;
    c->prefix_bytes = std::move(prefix);
    c->wires = &wires;
    c->engine = engine.get();
    carrier = c.get();
    auto f = StreamDatagramFlow::create(*engine, std::move(c), o, &rec);
    REQUIRE(f);
    flow = std::move(*f);
  }
  Slice payload(std::string_view s) {
    auto p = engine->pool().get(std::max<size_t>(s.size(), 1));
    REQUIRE(p);
    std::copy(s.begin(), s.end(), p->append(s.size()));
    return std::move(*p);
  }
  Slice bytes_slice(const Bytes& b) {
    auto p = engine->pool().copy_from(b.data(), b.size());
    REQUIRE(p);
    return std::move(*p);
  }
  // deliver: the far end of |w| sends |b|; it arrives on the next turn.
  void deliver(FarEnd& w, const Bytes& b) {
    REQUIRE(w.t->write(bytes_slice(b)));
    advance();
  }
};

StreamDatagramFlowOptions vless_udp_options() {
  StreamDatagramFlowOptions o;
  o.stream_per_target = true;
  o.send_empty = false;
  o.name = "test udp";
  return o;
}

}  // namespace

TEST_CASE("stream flow, a stream per target: opens, queues, flushes, replies", "[session][flow]") {
  Fixture f;
  f.make(vless_udp_options());
  CHECK(f.flow->send({"example.com", 53}, f.payload("a1")));
  CHECK(f.flow->send({"example.com", 53}, f.payload("a2")));
  CHECK(f.flow->send({"10.0.0.2", 53}, f.payload("b1")));
  REQUIRE(f.carrier->opens.size() == 2);
  CHECK(f.carrier->opens[0]->first == *TargetAddress::from_domain("example.com", 53));
  CHECK(f.carrier->opens[1]->first == TargetAddress::from_ipv4({10, 0, 0, 2}, 53));
  CHECK(f.flow->stats().sent == 3);

  auto a = f.carrier->connect(0);
  CHECK(a->near->reading());
  f.advance();
  CHECK(a->got == hex("0002 6131 0002 6132"));
  CHECK(f.flow->send({"example.com", 53}, f.payload("a3")));
  f.advance();
  CHECK(a->got == hex("0002 6131 0002 6132 0002 6133"));

  // Replies name the Endpoint the application sent to, split anyhow.
  f.deliver(*a, hex("0003 78"));
  f.deliver(*a, hex("797a 00"));
  f.deliver(*a, hex("01 71"));
  REQUIRE(f.rec.got.size() == 2);
  CHECK(f.rec.got[0].host == "example.com");
  CHECK(f.rec.got[0].port == 53);
  CHECK(f.rec.got[0].data == Bytes{'x', 'y', 'z'});
  CHECK(f.rec.got[1].data == Bytes{'q'});
  CHECK(f.flow->stats().received == 2);

  // A refused open drops what it queued and is forgotten; the next
  // datagram to that target opens a new stream.
  f.carrier->refuse(1, Errc::connection_refused);
  CHECK(f.flow->stats().dropped == 1);
  CHECK(f.flow->streams() == 1);
  CHECK(f.flow->send({"10.0.0.2", 53}, f.payload("b2")));
  CHECK(f.carrier->opens.size() == 3);
  CHECK(f.rec.errors.empty());  // streams come and go; the flow lives on

  // The server ending a stream forgets it too.
  REQUIRE(a->t->shutdown());
  f.advance();          // the EOF arrives, the flow closes the stream
  CHECK(a->eofs == 1);  // the far end hears that close
  CHECK(f.flow->streams() == 1);
  CHECK(f.flow->send({"example.com", 53}, f.payload("a4")));
  CHECK(f.carrier->opens.size() == 4);
  CHECK(f.rec.errors.empty());
}

TEST_CASE("stream flow: bounds drop and count, never fail", "[session][flow]") {
  Fixture f;
  auto o = vless_udp_options();
  o.max_streams = 2;
  o.connect_queue = 10;  // two 4-byte frames fit, the third does not
  o.write_queue = 100;
  o.max_payload = 1000;
  f.make(o);
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("aa")));
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("bb")));
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("cc")));
  CHECK(f.flow->stats().sent == 2);
  CHECK(f.flow->stats().dropped == 1);
  CHECK(f.flow->send({"1.1.1.2", 1}, f.payload("x")));
  CHECK(f.flow->send({"1.1.1.3", 1}, f.payload("x")));  // a third stream: over max_streams
  CHECK(f.carrier->opens.size() == 2);
  CHECK(f.flow->stats().dropped == 2);
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("")));  // empty: dropped
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload(std::string(1001, 'z'))));
  CHECK(f.flow->send({"no such host!", 1}, f.payload("x")));  // not strict: silent
  CHECK(f.flow->stats().dropped == 5);
  // The far end does not read: the stream's write queue is the bound.
  auto w = f.carrier->connect(0, /*far_reads=*/false);
  CHECK(w->near->write_buffered() == 8);
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload(std::string(86, 'e'))));  // 8 + 88 = 96
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("dd")));                  // 96 + 4 = 100: fits
  CHECK(w->near->write_buffered() == 100);
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("dd")));  // 100 + 4 > 100
  CHECK(f.flow->stats().dropped == 6);
  CHECK(f.flow->stats().sent == 5);  // aa, bb, x to 1.1.1.2, the 86 e's, dd
  w->t->read_start();
  f.advance();
  CHECK(w->got.size() == 100);
  CHECK(f.rec.errors.empty());
}

TEST_CASE("stream flow, one stream (XUDP): New then Keep, full cone, End reopens",
          "[session][flow][xudp]") {
  Fixture f;
  StreamDatagramFlowOptions o;
  o.send_empty = false;
  o.name = "test xudp";
  f.make(o, /*xudp=*/true);
  CHECK(f.flow->send({"8.8.8.8", 53}, f.payload("abc")));
  CHECK(f.flow->send({"1.1.1.1", 53}, f.payload("xyz")));
  REQUIRE(f.carrier->opens.size() == 1);
  auto w = f.carrier->connect(0);
  f.advance();
  CHECK(w->got == hex("000c 0000 01 01 02 0035 01 08080808 0003 616263"
                      "000c 0000 02 01 02 0035 01 01010101 0003 78797a"));
  f.deliver(*w, hex("000c 0000 02 01 02 0035 01 09090909 0002 6869"));
  REQUIRE(f.rec.got.size() == 1);
  CHECK(f.rec.got[0].host == "9.9.9.9");
  CHECK(f.rec.got[0].data == Bytes{'h', 'i'});
  // End: the stream closes and the next datagram opens a new one (New again).
  f.deliver(*w, hex("0004 0000 03 00"));
  CHECK(w->eofs == 1);  // the far end hears the close
  CHECK(f.flow->streams() == 0);
  CHECK(f.flow->send({"1.1.1.1", 53}, f.payload("q")));
  REQUIRE(f.carrier->opens.size() == 2);
  auto w2 = f.carrier->connect(1);
  f.advance();
  CHECK(w2->got == hex("000c 0000 01 01 02 0035 01 01010101 0001 71"));
  // A malformed frame closes the stream as well, without failing the flow.
  f.deliver(*w2, hex("0004 0001 02 00"));
  CHECK(w2->eofs == 1);
  CHECK(f.rec.errors.empty());
  CHECK(f.flow->streams() == 0);
}

TEST_CASE("stream flow, eager and failing on loss (Trojan's shape)", "[session][flow]") {
  StreamDatagramFlowOptions o;
  o.eager = true;
  o.fail_on_loss = true;
  o.strict_send = true;
  o.name = "test eager";

  SECTION("the prefix goes in front of the first frames once a target is known") {
    Fixture f;
    f.make(o, false, Errc::ok, hex("5052"));
    REQUIRE(f.carrier->opens.size() == 1);
    CHECK(!f.carrier->opens[0]->has_first);
    auto w = f.carrier->connect(0);
    f.advance();
    CHECK(w->got.empty());
    CHECK(f.flow->send({"1.2.3.4", 5}, f.payload("ab")));
    CHECK(f.flow->send({"1.2.3.4", 5}, f.payload("")));  // empty datagrams go too
    f.advance();
    CHECK(w->got == hex("5052 0002 6162 0000"));
    CHECK(f.flow->send({"1.2.3.4", 0}, f.payload("ab")).error() == Errc::invalid_argument);
    CHECK(f.flow->send({"1.2.3.4", 5}, f.payload(std::string(65536, 'z'))).error() ==
          Errc::frame_too_large);
    CHECK(f.flow->stats().dropped == 2);
    // Losing the stream fails the flow, once; later sends return the error.
    PipeTransport* near = w->near;
    w->t->close_with_reset(nullptr, nullptr);
    REQUIRE(f.rec.errors.size() == 1);
    CHECK(f.rec.errors[0] == Errc::connection_reset);
    CHECK(near->closing());
    CHECK(f.flow->send({"1.2.3.4", 5}, f.payload("ab")).error() == Errc::connection_reset);
    f.advance();  // the close completes
    CHECK(f.rec.errors.size() == 1);
  }

  SECTION("frames sent while connecting follow the prefix") {
    Fixture f;
    f.make(o, false, Errc::ok, hex("50"));
    CHECK(f.flow->send({"1.2.3.4", 5}, f.payload("ab")));
    auto w = f.carrier->connect(0);
    f.advance();
    CHECK(w->got == hex("50 0002 6162"));
  }

  SECTION("a failure inside create is reported from the loop, once") {
    Fixture f;
    f.make(o, false, Errc::connection_refused);
    CHECK(f.rec.errors.empty());  // never inside a call into the flow
    CHECK(f.flow->send({"1.2.3.4", 5}, f.payload("ab")).error() == Errc::connection_refused);
    f.advance();
    REQUIRE(f.rec.errors.size() == 1);
    CHECK(f.rec.errors[0] == Errc::connection_refused);
    f.advance();
    CHECK(f.rec.errors.size() == 1);
  }
}

TEST_CASE("stream flow: a failure inside open() in send() forgets the stream", "[session][flow]") {
  Fixture f;
  f.make(vless_udp_options(), false, Errc::connection_refused);
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("a")));
  CHECK(f.flow->streams() == 0);
  CHECK(f.flow->stats().dropped == 1);
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("a")));
  CHECK(f.carrier->opens.size() == 2);
  CHECK(f.rec.errors.empty());
}

TEST_CASE("stream flow close: cancels opens, one callback after every stream closed",
          "[session][flow]") {
  Fixture f;
  f.make(vless_udp_options());
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("a")));
  CHECK(f.flow->send({"1.1.1.2", 1}, f.payload("b")));
  CHECK(f.flow->send({"1.1.1.3", 1}, f.payload("c")));
  // The second stream's close finishes 5 ms after it starts, the first's 10 ms.
  auto w1 = f.carrier->connect(0, true, 10);
  auto w2 = f.carrier->connect(1, true, 5);
  int calls = 0;
  f.flow->close([](void* u) { ++*static_cast<int*>(u); }, &calls);
  CHECK(f.carrier->opens[2]->cancelled);
  CHECK(w1->near->closing());
  CHECK(w2->near->closing());
  CHECK(calls == 0);
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("a")).error() == Errc::closed);
  f.advance(5);  // the second stream has closed
  CHECK(calls == 0);
  f.advance(5);  // and the first
  CHECK(calls == 1);
  f.flow->close([](void* u) { ++*static_cast<int*>(u); }, &calls);  // ignored
  CHECK(calls == 1);
  CHECK(f.rec.got.empty());
  CHECK(f.rec.errors.empty());
}

TEST_CASE("stream flow close with nothing open calls back on the next loop turn",
          "[session][flow]") {
  Fixture f;
  f.make(vless_udp_options());
  struct Ctx {
    std::unique_ptr<StreamDatagramFlow>* flow;
    int calls = 0;
  } ctx{&f.flow};
  StreamDatagramFlow* raw = f.flow.get();
  raw->close(
      [](void* u) {
        auto* c = static_cast<Ctx*>(u);
        c->calls++;
        c->flow->reset();  // the owner deletes the flow in its callback
      },
      &ctx);
  CHECK(ctx.calls == 0);  // never from inside close()
  f.advance();
  CHECK(ctx.calls == 1);
  CHECK(!f.flow);
}

TEST_CASE("stream flow deleted without close: opens cancelled, streams closed", "[session][flow]") {
  Fixture f;
  f.make(vless_udp_options());
  CHECK(f.flow->send({"1.1.1.1", 1}, f.payload("a")));
  CHECK(f.flow->send({"1.1.1.2", 1}, f.payload("b")));
  auto w = f.carrier->connect(0);
  auto pending = f.carrier->opens[1];
  f.flow.reset();
  CHECK(pending->cancelled);
  CHECK(w->near->closing());
  f.advance();  // the close completes, reporting to nobody: the flow is gone
  CHECK(w->eofs == 1);
}
