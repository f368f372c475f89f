// Tests for ForwardingTransport (the decorator base) and VlessStream on it,
// over in-memory transport pairs (PipeTransport) on virtual time: forwarding,
// failure, close with one callback, the VLESS response header stripped
// (client) and prepended (server).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "net/clock.hpp"
#include "session/vless_stream.hpp"
#include "support/hex.hpp"
#include "support/pipe_transport.hpp"
#include "transport/forwarding_transport.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

struct Events final : TransportHandler {
  Bytes data;
  int eofs = 0;
  std::vector<Errc> errors;
  int highs = 0, lows = 0, drained = 0;
  void on_data(Slice&& s) override { data.insert(data.end(), s.span().begin(), s.span().end()); }
  void on_eof() override { eofs++; }
  void on_error(Errc e) override { errors.push_back(e); }
  void on_write_high() override { highs++; }
  void on_write_low() override { lows++; }
  void on_drained() override { drained++; }
};

// Plain: a decorator that changes nothing.
class Plain final : public ForwardingTransport {
 public:
  explicit Plain(std::unique_ptr<Transport> t) : ForwardingTransport(std::move(t)) {}
  void break_it(std::string why) { fail(Errc::protocol_violation, std::move(why)); }
  int closings = 0;

 private:
  void on_closing() noexcept override { closings++; }
};

// Rig: an Engine on a ManualClock and pipes whose far ends the test drives.
struct Rig {
  net::ManualClock clock{1000};
  std::unique_ptr<Engine> engine;
  std::vector<std::unique_ptr<PipeTransport>> far_ends;
  std::vector<std::unique_ptr<Events>> far_events;

  Rig() {
    auto e = net::create_engine(clock);
    REQUIRE(e);
    engine = std::move(*e);
  }
  ~Rig() {
    for (auto& f : far_ends) f->close(nullptr, nullptr);
    clock.advance(0);
  }
  // pipe: the near end (for the code under test) and the far end's recorder
  // (reading).
  std::unique_ptr<PipeTransport> pipe(Events** far) {
    auto [near_end, far_end] = PipeTransport::make_pipe(*engine);
    far_events.push_back(std::make_unique<Events>());
    far_end->set_handler(far_events.back().get());
    far_end->read_start();
    *far = far_events.back().get();
    far_ends.push_back(std::move(far_end));
    return std::move(near_end);
  }
  PipeTransport& far_end(size_t i = 0) { return *far_ends[i]; }
  Slice slice(const Bytes& b) {
    auto s = engine->pool().copy_from(b.data(), b.size());
    REQUIRE(s);
    return std::move(*s);
  }
};

}  // namespace

TEST_CASE("forwarding transport: calls and events pass through unchanged",
          "[session][forwarding]") {
  Rig rig;
  Events* far = nullptr;
  auto inner = rig.pipe(&far);
  PipeTransport* pt = inner.get();
  Plain p(std::move(inner));
  Events ev;
  p.set_handler(&ev);
  CHECK(p.inner() == pt);
  p.read_start();
  CHECK(pt->reading());
  REQUIRE(p.write(rig.slice(hex("010203"))));
  rig.clock.advance(0);
  CHECK(far->data == hex("010203"));
  CHECK(ev.drained == 1);  // the inner queue emptied
  // Watermarks and the queue are the inner transport's: with the far end
  // not reading, 5 bytes cross a high watermark of 4.
  p.set_write_watermarks(2, 4);
  rig.far_end().read_stop();
  REQUIRE(p.write(rig.slice(hex("0405060708"))));
  CHECK(p.write_buffered() == 5);
  CHECK(ev.highs == 1);
  rig.far_end().read_start();
  rig.clock.advance(0);
  CHECK(p.write_buffered() == 0);
  CHECK(ev.lows == 1);
  CHECK(ev.drained == 2);
  CHECK(far->data == hex("0102030405060708"));
  REQUIRE(rig.far_end().write(rig.slice(hex("aabb"))));
  rig.clock.advance(0);
  CHECK(ev.data == hex("aabb"));
  p.read_stop();
  CHECK(!pt->reading());
  REQUIRE(rig.far_end().shutdown());
  rig.clock.advance(0);
  CHECK(ev.eofs == 0);  // held while paused
  p.read_start();
  rig.clock.advance(0);
  CHECK(ev.eofs == 1);
  REQUIRE(p.shutdown());
  CHECK(pt->shut_down());
  rig.clock.advance(0);
  CHECK(far->eofs == 1);
  CHECK(p.stats().bytes_written == 8);
  CHECK(p.stats().bytes_read == 2);
}

TEST_CASE("forwarding transport: a failure is told once and stops writes",
          "[session][forwarding]") {
  Rig rig;
  Events* far = nullptr;
  Plain p(rig.pipe(&far));
  Events ev;
  p.set_handler(&ev);
  p.read_start();
  // The inner transport's error: its reason stands.
  rig.far_end().close_with_reset(nullptr, nullptr);
  REQUIRE(ev.errors.size() == 1);
  CHECK(ev.errors[0] == Errc::connection_reset);
  CHECK(std::string(p.failure_reason()) == "peer reset the pipe");
  CHECK(p.write(rig.slice(hex("01"))).error() == Errc::closed);
  CHECK(p.shutdown().error() == Errc::closed);

  Events* far2 = nullptr;
  Plain q(rig.pipe(&far2));
  q.set_handler(&ev);
  q.break_it("decorator says no");
  q.break_it("twice");
  CHECK(ev.errors.size() == 2);
  CHECK(std::string(q.failure_reason()) == "decorator says no");
  CHECK(q.write(rig.slice(hex("01"))).error() == Errc::closed);
  rig.clock.advance(0);
  CHECK(far2->data.empty());
}

TEST_CASE("forwarding transport close: inner closed, one callback, nothing after",
          "[session][forwarding]") {
  Rig rig;
  Events* far = nullptr;
  auto inner = rig.pipe(&far);
  PipeTransport* pt = inner.get();
  auto* p = new Plain(std::move(inner));
  Events ev;
  p->set_handler(&ev);
  p->read_start();
  int calls = 0, second_calls = 0;
  struct Ctx {
    Plain* p;
    int* calls;
  } ctx{p, &calls};
  p->close(
      [](void* u) {
        auto* c = static_cast<Ctx*>(u);
        ++*c->calls;
        delete c->p;  // the owner deletes it in the callback
      },
      &ctx);
  CHECK(p->closings == 1);
  CHECK(pt->closing());
  p->close([](void* u) { ++*static_cast<int*>(u); }, &second_calls);  // ignored
  CHECK(p->closings == 1);
  CHECK(p->write(rig.slice(hex("01"))).error() == Errc::closed);
  // Bytes the far end sends now reach nobody.
  (void)rig.far_end().write(rig.slice(hex("02")));
  CHECK(calls == 0);  // never from inside close()
  rig.clock.advance(0);
  CHECK(calls == 1);
  CHECK(second_calls == 0);
  CHECK(far->eofs == 1);  // the inner close reached the far end as a FIN
  CHECK(ev.data.empty());
  CHECK(ev.errors.empty());
  CHECK(ev.eofs == 0);
}

TEST_CASE("vless stream client: the response header is stripped, split anywhere",
          "[session][vless]") {
  Rig rig;
  const Bytes reply = hex("00 03 aabbcc 68656c6c6f");  // version 0, 3 addon bytes, "hello"
  for (size_t cut = 1; cut < reply.size(); ++cut) {
    INFO("cut at " << cut);
    Events* far = nullptr;
    VlessStream s(rig.pipe(&far), VlessStream::Role::client);
    Events ev;
    s.set_handler(&ev);
    s.read_start();
    CHECK(s.unread(Chain{}).error() == Errc::invalid_state);  // header not yet gone
    PipeTransport& f = *rig.far_ends.back();
    REQUIRE(f.write(rig.slice(Bytes(reply.begin(), reply.begin() + static_cast<long>(cut)))));
    rig.clock.advance(0);
    REQUIRE(f.write(rig.slice(Bytes(reply.begin() + static_cast<long>(cut), reply.end()))));
    rig.clock.advance(0);
    CHECK(ev.data == Bytes{'h', 'e', 'l', 'l', 'o'});
    CHECK(s.response_seen());
    CHECK(ev.errors.empty());
  }
  // A wrong version fails with the decorator's reason.
  Events* far = nullptr;
  VlessStream s(rig.pipe(&far), VlessStream::Role::client);
  Events ev;
  s.set_handler(&ev);
  s.read_start();
  REQUIRE(rig.far_ends.back()->write(rig.slice(hex("01 00 41"))));
  rig.clock.advance(0);
  REQUIRE(ev.errors.size() == 1);
  CHECK(std::string(s.failure_reason()) == "vless: bad response header version");
  // End of stream inside the header is truncated.
  Events* far2 = nullptr;
  VlessStream t(rig.pipe(&far2), VlessStream::Role::client);
  Events ev2;
  t.set_handler(&ev2);
  t.read_start();
  PipeTransport& f2 = *rig.far_ends.back();
  REQUIRE(f2.write(rig.slice(hex("00"))));
  REQUIRE(f2.shutdown());
  rig.clock.advance(0);
  REQUIRE(ev2.errors.size() == 1);
  CHECK(ev2.errors[0] == Errc::truncated);
  CHECK(ev2.eofs == 0);
}

TEST_CASE("vless stream server: the response header leads the first write or the end",
          "[session][vless]") {
  Rig rig;
  Events* far = nullptr;
  VlessStream s(rig.pipe(&far), VlessStream::Role::server, rig.slice(hex("0000")));
  REQUIRE(s.write(rig.slice(hex("6869"))));
  REQUIRE(s.write(rig.slice(hex("21"))));
  rig.clock.advance(0);
  CHECK(far->data == hex("0000 6869 21"));
  Events* far2 = nullptr;
  VlessStream t(rig.pipe(&far2), VlessStream::Role::server, rig.slice(hex("0000")));
  REQUIRE(t.shutdown());
  rig.clock.advance(0);
  CHECK(far2->data == hex("0000"));
  CHECK(far2->eofs == 1);
}
