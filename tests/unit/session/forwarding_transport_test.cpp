// Tests for ForwardingTransport (the decorator base) and VlessStream on it,
// over in-memory transports: forwarding, failure, close with one callback,
// the VLESS response header stripped (client) and prepended (server).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "session/vless_stream.hpp"
#include "support/hex.hpp"
#include "support/memory_transport.hpp"
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

Slice slice_of(BufferPool& pool, const Bytes& b) {
  auto s = pool.copy_from(b.data(), b.size());
  REQUIRE(s);
  return std::move(*s);
}

Bytes written(const MemoryWire& w) {
  Bytes b(w.written.size());
  w.written.copy_out(b.data(), b.size());
  return b;
}

}  // namespace

TEST_CASE("forwarding transport: calls and events pass through unchanged",
          "[session][forwarding]") {
  BufferPool pool;
  auto w = std::make_shared<MemoryWire>();
  Plain p(std::make_unique<MemoryTransport>(w));
  Events ev;
  p.set_handler(&ev);
  CHECK(p.inner() == w->transport);
  p.read_start();
  CHECK(w->reading);
  REQUIRE(p.write(slice_of(pool, hex("010203"))));
  CHECK(written(*w) == hex("010203"));
  w->backlog = 77;
  CHECK(p.write_buffered() == 77);
  w->deliver(slice_of(pool, hex("aabb")));
  CHECK(ev.data == hex("aabb"));
  auto* mt = w->transport;
  static_cast<TransportHandler*>(mt->handler())->on_write_high();
  static_cast<TransportHandler*>(mt->handler())->on_write_low();
  static_cast<TransportHandler*>(mt->handler())->on_drained();
  CHECK(ev.highs == 1);
  CHECK(ev.lows == 1);
  CHECK(ev.drained == 1);
  p.read_stop();
  CHECK(!w->reading);
  w->deliver_eof();  // held while paused
  CHECK(ev.eofs == 0);
  p.read_start();
  CHECK(ev.eofs == 1);
  REQUIRE(p.shutdown());
  CHECK(w->shut_down);
  CHECK(p.stats().bytes_written == 3);
}

TEST_CASE("forwarding transport: a failure is told once and stops writes",
          "[session][forwarding]") {
  BufferPool pool;
  auto w = std::make_shared<MemoryWire>();
  Plain p(std::make_unique<MemoryTransport>(w));
  Events ev;
  p.set_handler(&ev);
  p.read_start();
  // The inner transport's error: its reason stands.
  w->fail(Errc::connection_reset, "reset by test");
  REQUIRE(ev.errors.size() == 1);
  CHECK(ev.errors[0] == Errc::connection_reset);
  CHECK(std::string(p.failure_reason()) == "reset by test");
  CHECK(p.write(slice_of(pool, hex("01"))).error() == Errc::closed);
  CHECK(p.shutdown().error() == Errc::closed);

  auto w2 = std::make_shared<MemoryWire>();
  Plain q(std::make_unique<MemoryTransport>(w2));
  q.set_handler(&ev);
  q.break_it("decorator says no");
  q.break_it("twice");
  CHECK(ev.errors.size() == 2);
  CHECK(std::string(q.failure_reason()) == "decorator says no");
}

TEST_CASE("forwarding transport close: inner closed, one callback, nothing after",
          "[session][forwarding]") {
  BufferPool pool;
  auto w = std::make_shared<MemoryWire>();
  auto* p = new Plain(std::make_unique<MemoryTransport>(w));
  Events ev;
  p->set_handler(&ev);
  p->read_start();
  int calls = 0;
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
  CHECK(w->closing);
  p->close(nullptr, nullptr);  // ignored
  CHECK(w->close_calls == 1);
  CHECK(p->write(slice_of(pool, hex("01"))).error() == Errc::closed);
  CHECK(calls == 0);
  w->finish_close();
  CHECK(calls == 1);
  CHECK(ev.data.empty());
  CHECK(ev.errors.empty());
}

TEST_CASE("vless stream client: the response header is stripped, split anywhere",
          "[session][vless]") {
  BufferPool pool;
  const Bytes reply = hex("00 03 aabbcc 68656c6c6f");  // version 0, 3 addon bytes, "hello"
  for (size_t cut = 1; cut < reply.size(); ++cut) {
    INFO("cut at " << cut);
    auto w = std::make_shared<MemoryWire>();
    VlessStream s(std::make_unique<MemoryTransport>(w), VlessStream::Role::client);
    Events ev;
    s.set_handler(&ev);
    s.read_start();
    CHECK(s.unread(Chain{}).error() == Errc::invalid_state);  // header not yet gone
    w->deliver(slice_of(pool, Bytes(reply.begin(), reply.begin() + static_cast<long>(cut))));
    w->deliver(slice_of(pool, Bytes(reply.begin() + static_cast<long>(cut), reply.end())));
    CHECK(ev.data == Bytes{'h', 'e', 'l', 'l', 'o'});
    CHECK(s.response_seen());
    CHECK(ev.errors.empty());
  }
  // A wrong version fails with the decorator's reason.
  auto w = std::make_shared<MemoryWire>();
  VlessStream s(std::make_unique<MemoryTransport>(w), VlessStream::Role::client);
  Events ev;
  s.set_handler(&ev);
  s.read_start();
  w->deliver(slice_of(pool, hex("01 00 41")));
  REQUIRE(ev.errors.size() == 1);
  CHECK(std::string(s.failure_reason()) == "vless: bad response header version");
  // End of stream inside the header is truncated.
  auto w2 = std::make_shared<MemoryWire>();
  VlessStream t(std::make_unique<MemoryTransport>(w2), VlessStream::Role::client);
  Events ev2;
  t.set_handler(&ev2);
  t.read_start();
  w2->deliver(slice_of(pool, hex("00")));
  w2->deliver_eof();
  REQUIRE(ev2.errors.size() == 1);
  CHECK(ev2.errors[0] == Errc::truncated);
  CHECK(ev2.eofs == 0);
}

TEST_CASE("vless stream server: the response header leads the first write or the end",
          "[session][vless]") {
  BufferPool pool;
  auto w = std::make_shared<MemoryWire>();
  VlessStream s(std::make_unique<MemoryTransport>(w), VlessStream::Role::server,
                slice_of(pool, hex("0000")));
  REQUIRE(s.write(slice_of(pool, hex("6869"))));
  REQUIRE(s.write(slice_of(pool, hex("21"))));
  CHECK(written(*w) == hex("0000 6869 21"));
  auto w2 = std::make_shared<MemoryWire>();
  VlessStream t(std::make_unique<MemoryTransport>(w2), VlessStream::Role::server,
                slice_of(pool, hex("0000")));
  REQUIRE(t.shutdown());
  CHECK(written(*w2) == hex("0000"));
  CHECK(w2->shut_down);
}
