// relay_test.cpp: Relay on virtual time, over in-memory Transport pairs.
//
//   client end ==pipe== [a] Relay [b] ==pipe== server end
//
// The test drives the two outer ends; the Relay owns the inner ones. Time is
// a net::ManualClock: idle timeouts of minutes run in microseconds.
#include "session/relay.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "net/clock.hpp"
#include "sluice/engine.hpp"
#include "support/pipe_transport.hpp"

using namespace sluice;
using sluice::net::ManualClock;
using sluice::test::PipeTransport;

namespace {

// End is a test-side endpoint: it records what arrives, in order.
struct End final : TransportHandler {
  std::unique_ptr<PipeTransport> t;
  std::string got;
  std::vector<std::string> events;  // "data", "eof", "error", "high", "low"
  Errc error = Errc::ok;
  bool eof = false;
  void on_data(Slice&& s) override {
    got.append(reinterpret_cast<const char*>(s.data()), s.size());
    if (events.empty() || events.back() != "data") events.push_back("data");
  }
  void on_eof() override {
    eof = true;
    events.push_back("eof");
  }
  void on_error(Errc e) override {
    error = e;
    events.push_back("error");
  }
  void on_write_high() override { events.push_back("high"); }
  void on_write_low() override { events.push_back("low"); }
};

struct Observer final : RelayObserver {
  int calls = 0;
  RelayResult result;
  uint64_t at_ms = 0;
  Engine* engine = nullptr;
  void on_relay_done(const RelayResult& r) override {
    calls++;
    result = r;
    at_ms = engine->now_ms();
  }
};

struct Rig {
  ManualClock clock{1000};
  std::unique_ptr<Engine> engine;
  End client, server;
  Observer obs;
  Relay* relay = nullptr;

  explicit Rig(const RelayOptions& o = {}) {
    auto e = net::create_engine(clock);
    REQUIRE(e);
    engine = std::move(*e);
    obs.engine = engine.get();
    auto [c, a] = PipeTransport::make_pipe(*engine);
    auto [b, s] = PipeTransport::make_pipe(*engine);
    client.t = std::move(c);
    server.t = std::move(s);
    client.t->set_handler(&client);
    server.t->set_handler(&server);
    client.t->read_start();
    server.t->read_start();
    relay = Relay::start(*engine, std::move(a), std::move(b), o, &obs);
    REQUIRE(relay != nullptr);
  }
  ~Rig() {
    // Close the outer ends, then let the Engine close what is left.
    client.t->close(nullptr, nullptr);
    server.t->close(nullptr, nullptr);
    clock.advance(0);
  }
  Slice bytes(const std::string& s) {
    auto out = engine->pool().copy_from(s.data(), s.size());
    REQUIRE(out);
    return std::move(*out);
  }
  std::string pattern(size_t n, char seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 61);
    return s;
  }
  // send writes |s| in 16 KiB slices.
  void send(End& from, const std::string& s) {
    for (size_t off = 0; off < s.size(); off += 16384) {
      const size_t n = std::min<size_t>(16384, s.size() - off);
      REQUIRE(from.t->write(bytes(s.substr(off, n))));
    }
  }
};

}  // namespace

TEST_CASE("Relay: bytes both ways, counted, in order", "[relay]") {
  Rig rig;
  const std::string up = rig.pattern(100000, 'a');
  const std::string down = rig.pattern(70000, 'A');
  rig.send(rig.client, up);
  rig.send(rig.server, down);
  REQUIRE(rig.server.got.empty());  // nothing arrives synchronously
  rig.clock.advance(0);
  REQUIRE(rig.server.got == up);
  REQUIRE(rig.client.got == down);
  REQUIRE(rig.obs.calls == 0);
  const EngineStats st = rig.engine->stats();
  REQUIRE(st.bytes_up == up.size());
  REQUIRE(st.bytes_down == down.size());
  REQUIRE(st.streams_active == 1);
}

TEST_CASE("Relay: idle timeout on virtual time, pushed back by traffic", "[relay]") {
  RelayOptions o;
  o.idle_timeout_ms = 300000;  // five minutes
  Rig rig(o);
  const uint64_t t0 = rig.engine->now_ms();
  rig.clock.advance(200000);
  rig.send(rig.client, "ping");  // activity at t0 + 200 s
  rig.clock.advance(0);
  REQUIRE(rig.server.got == "ping");
  rig.clock.advance(100000);  // t0 + 300 s: the first deadline, but not idle
  REQUIRE(rig.obs.calls == 0);
  rig.clock.advance(199999);  // t0 + 499.999 s
  REQUIRE(rig.obs.calls == 0);
  rig.clock.advance(1);  // t0 + 500 s: 300 s after the last byte
  REQUIRE(rig.obs.calls == 1);
  REQUIRE(rig.obs.result.error == Errc::timed_out);
  REQUIRE(rig.obs.result.failed_side == -1);
  REQUIRE(rig.obs.at_ms == t0 + 500000);
  REQUIRE(rig.obs.result.bytes_a_to_b == 4);
  // Both outer ends hear the relay's inner ends go away (a FIN each).
  rig.clock.advance(0);
  REQUIRE(rig.client.eof);
  REQUIRE(rig.server.eof);
  REQUIRE(rig.engine->stats().objects == 0);  // the relay deleted itself
}

TEST_CASE("Relay: half-close in order, the other direction stays open", "[relay]") {
  Rig rig;
  const std::string up = rig.pattern(50000, 'x');
  rig.send(rig.client, up);
  REQUIRE(rig.client.t->shutdown());  // client: "that is all"
  rig.clock.advance(0);
  // The server gets every byte, then end-of-stream, and nothing after.
  REQUIRE(rig.server.got == up);
  REQUIRE(rig.server.events == std::vector<std::string>{"data", "eof"});
  REQUIRE(rig.obs.calls == 0);  // the other direction is still open

  const std::string down = rig.pattern(30000, 'y');
  rig.send(rig.server, down);
  rig.clock.advance(0);
  REQUIRE(rig.client.got == down);
  REQUIRE(!rig.client.eof);
  REQUIRE(rig.server.t->shutdown());
  rig.clock.advance(0);
  REQUIRE(rig.client.events == std::vector<std::string>{"data", "eof"});
  REQUIRE(rig.obs.calls == 1);
  REQUIRE(rig.obs.result.error == Errc::ok);
  REQUIRE(rig.obs.result.bytes_a_to_b == up.size());
  REQUIRE(rig.obs.result.bytes_b_to_a == down.size());
  REQUIRE(rig.obs.result.bytes_lost == 0);
  rig.clock.advance(0);
  REQUIRE(rig.engine->stats().objects == 0);
  REQUIRE(rig.engine->stats().streams_active == 0);
}

TEST_CASE("Relay: watermarks pause the producer and resume it", "[relay]") {
  RelayOptions o;
  o.low_watermark = 16 * 1024;
  o.high_watermark = 64 * 1024;
  Rig rig(o);
  rig.server.t->read_stop();  // the server stops reading: its window is full
  const std::string up = rig.pattern(1 << 20, 'm');
  rig.send(rig.client, up);
  rig.clock.advance(0);
  // The relay holds at most about one high watermark towards the server (plus
  // the slice that crossed it) and stopped reading from the client, whose
  // own queue holds the rest.
  REQUIRE(rig.server.got.empty());
  REQUIRE(rig.obs.result.bytes_a_to_b == 0);  // result is filled at the end
  const size_t client_queued = rig.client.t->write_buffered();
  REQUIRE(client_queued > 0);
  REQUIRE(client_queued >= up.size() - (o.high_watermark + 16384));
  REQUIRE(rig.engine->stats().bytes_up <= o.high_watermark + 16384);
  REQUIRE(std::count(rig.client.events.begin(), rig.client.events.end(), "high") == 1);
  // Time passing changes nothing while the server does not read.
  rig.clock.advance(1000);
  REQUIRE(rig.client.t->write_buffered() == client_queued);

  rig.server.t->read_start();  // the window opens
  rig.clock.advance(0);
  REQUIRE(rig.server.got == up);
  REQUIRE(rig.client.t->write_buffered() == 0);
  REQUIRE(std::count(rig.client.events.begin(), rig.client.events.end(), "low") == 1);
  REQUIRE(rig.engine->stats().bytes_up == up.size());
}

TEST_CASE("Relay: an error on one side closes both and says which", "[relay]") {
  Rig rig;
  rig.send(rig.client, "hello");
  rig.clock.advance(0);
  REQUIRE(rig.server.got == "hello");
  // The server's end resets: the relay's side b fails.
  rig.server.t->close_with_reset(nullptr, nullptr);
  rig.clock.advance(0);
  REQUIRE(rig.obs.calls == 1);
  REQUIRE(rig.obs.result.error == Errc::connection_reset);
  REQUIRE(rig.obs.result.failed_side == 1);
  REQUIRE(rig.client.eof);  // the relay closed side a: the client hears a FIN
  REQUIRE(rig.engine->stats().objects == 0);
}

TEST_CASE("Relay: the Engine closes it at stop, with one result", "[relay]") {
  Rig rig;
  rig.send(rig.client, "x");
  rig.clock.advance(0);
  bool closed = false;
  rig.engine->close_all([](void* u) { *static_cast<bool*>(u) = true; }, &closed);
  REQUIRE(rig.obs.calls == 1);
  REQUIRE(rig.obs.result.error == Errc::canceled);
  rig.clock.advance(0);  // the relay's transports finish closing
  REQUIRE(rig.engine->stats().objects == 0);
  REQUIRE(rig.client.eof);
  REQUIRE(rig.server.eof);
}
