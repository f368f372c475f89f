// QUIC end to end on 127.0.0.1: sluice client <-> sluice server over real UDP
// sockets: handshake, many streams, 16 MiB hash-checked each way, datagrams,
// idle timeout, graceful close, GSO on and off, and a lossy reordering relay.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "quic_support.hpp"
#include "sluice_ext.h"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

// Fixture: an Engine on its own thread with a server and a client endpoint.
struct Fixture {
  std::unique_ptr<Engine> engine;
  SelfSigned cert = make_self_signed();
  EchoServer server_handler;
  std::unique_ptr<quic::Endpoint> server, client;
  ClientHandler ch;
  quic::Connection* conn = nullptr;

  explicit Fixture(quic::EndpointOptions so = {}, quic::EndpointOptions co = {}) {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
    on_loop(*engine, [&] {
      auto s = quic::Endpoint::create(*engine, so, server_tls(cert), &server_handler);
      REQUIRE(s);
      server = std::move(*s);
      auto c = quic::Endpoint::create(*engine, co, client_tls(), nullptr);
      REQUIRE(c);
      client = std::move(*c);
    });
  }
  void connect(uint16_t port = 0) {
    on_loop(*engine, [&] {
      auto r = client->connect("127.0.0.1", port ? port : server->port(), &ch);
      REQUIRE(r);
      conn = *r;
    });
    REQUIRE(wait_until([&] { return ch.up.load(); }, 10000ms));
  }
  ~Fixture() {
    std::atomic<int> closed{0};
    on_loop(*engine, [&] {
      auto cb = [](void* u) { (*static_cast<std::atomic<int>*>(u))++; };
      client->close(cb, &closed);
      server->close(cb, &closed);
    });
    wait_until([&] { return closed.load() == 2; }, 10000ms);
    REQUIRE(engine->stop());
    CHECK(engine->stats().pool.chunks_outstanding == 0);
  }
};

// run_transfers opens |n| streams of |bytes| each and waits for all echoes.
void run_transfers(Fixture& f, int n, size_t bytes, std::chrono::milliseconds limit = 60000ms) {
  std::atomic<int> done{0};
  std::atomic<int> good{0};
  std::vector<Transfer*> ts;
  on_loop(*f.engine, [&] {
    for (int i = 0; i < n; ++i) {
      auto s = f.conn->open_bidi_stream();
      REQUIRE(s);
      auto* t = new Transfer(std::move(*s), f.engine->pool(), bytes, static_cast<uint64_t>(i + 1));
      t->on_done = [&](Transfer* x) {
        if (x->ok()) good++;
        done++;
      };
      ts.push_back(t);
    }
  });
  CHECK(wait_until([&] { return done.load() == n; }, limit));
  on_loop(*f.engine, [&] {
    for (auto* t : ts) {
      t->s->set_handler(nullptr);
      t->s->close([](void* u) { delete static_cast<Transfer*>(u); }, t);
    }
  });
  CHECK(good.load() == n);
}

}  // namespace

TEST_CASE("QUIC handshake, ALPN and graceful close with an application code",
          "[integration][quic]") {
  Fixture f;
  f.connect();
  CHECK(wait_until([&] { return f.server_handler.handshakes.load() == 1; }));
  std::string alpn = on_loop(*f.engine, [&] { return f.conn->alpn(); });
  CHECK(alpn == "sluice-test");
  on_loop(*f.engine, [&] { f.conn->close(0x100, "bye"); });
  REQUIRE(wait_until([&] { return f.ch.closed.load(); }));
  CHECK(f.ch.close_error == Errc::closed);
  CHECK(f.ch.app_error == 0x100);
  // The server drains on our CONNECTION_CLOSE and reports it.
  REQUIRE(wait_until([&] { return f.server_handler.closed.load() == 1; }));
}

TEST_CASE("QUIC: 100 concurrent streams echo 64 KiB each", "[integration][quic]") {
  Fixture f;
  f.connect();
  run_transfers(f, 100, 64 * 1024);
}

TEST_CASE("QUIC: 16 MiB each way on one stream, hash-checked", "[integration][quic]") {
  SECTION("with GSO where the kernel has it") {
    Fixture f;
    f.connect();
    run_transfers(f, 1, 16u << 20);
    auto st = on_loop(*f.engine, [&] { return f.client->socket().stats(); });
    INFO("client datagrams sent " << st.datagrams_sent << " in " << st.send_calls << " calls");
    CHECK(st.datagrams_sent > st.send_calls);  // batching happened
  }
  SECTION("with sendmmsg only") {
    quic::EndpointOptions o;
    o.allow_gso = false;
    Fixture f(o, o);
    f.connect();
    CHECK_FALSE(on_loop(*f.engine, [&] { return f.client->socket().gso(); }));
    run_transfers(f, 1, 16u << 20);
  }
}

TEST_CASE("QUIC DATAGRAM frames: echo and size limit", "[integration][quic]") {
  Fixture f;
  f.connect();
  const size_t maxp = on_loop(*f.engine, [&] { return f.conn->max_datagram_payload(); });
  CHECK(maxp > 1000);
  CHECK(maxp < 1452);
  on_loop(*f.engine, [&] {
    uint8_t buf[1400] = {};
    for (int i = 0; i < 100; ++i) CHECK(f.conn->send_datagram(buf, 200));
    // One byte over the limit is dropped and counted, not queued.
    std::vector<uint8_t> big(maxp + 1);
    CHECK(f.conn->send_datagram(big.data(), big.size()).error() == Errc::frame_too_large);
    CHECK(f.conn->send_datagram(big.data(), maxp));
  });
  CHECK(wait_until([&] { return f.ch.datagrams.load() >= 95; }, 5000ms));
  CHECK(f.server_handler.datagrams.load() >= 95);
  CHECK(on_loop(*f.engine, [&] { return f.conn->stats().datagrams_dropped; }) == 1);
}

TEST_CASE("QUIC idle timeout ends a quiet connection on both sides", "[integration][quic]") {
  quic::EndpointOptions o;
  o.connection.idle_timeout_ms = 300;
  Fixture f(o, o);
  f.connect();
  REQUIRE(wait_until([&] { return f.ch.closed.load(); }, 5000ms));
  CHECK(f.ch.close_error == Errc::timed_out);
  REQUIRE(wait_until([&] { return f.server_handler.closed.load() == 1; }, 5000ms));
}

TEST_CASE("QUIC keep-alive holds an idle connection open", "[integration][quic]") {
  quic::EndpointOptions o;
  o.connection.idle_timeout_ms = 300;
  o.connection.keep_alive_ms = 100;
  Fixture f(o, o);
  f.connect();
  std::this_thread::sleep_for(1000ms);
  CHECK_FALSE(f.ch.closed.load());
}

TEST_CASE("QUIC through a relay dropping 5 % and reordering", "[integration][quic]") {
  Fixture f;
  LossyRelay* relay = nullptr;
  on_loop(*f.engine, [&] { relay = new LossyRelay(f.engine->loop(), f.server->port(), 5, 10); });
  const uint16_t rport = on_loop(*f.engine, [&] { return relay->port(); });
  f.connect(rport);
  run_transfers(f, 4, 1u << 20, 120000ms);
  auto counts =
      on_loop(*f.engine, [&] { return std::make_pair(relay->dropped, relay->reordered); });
  CHECK(counts.first > 0);
  CHECK(counts.second > 0);
  std::atomic<bool> relay_closed{false};
  on_loop(*f.engine, [&] { relay->close([&] { relay_closed = true; }); });
  wait_until([&] { return relay_closed.load(); });
  delete relay;
}

TEST_CASE("QUIC key update mid-transfer", "[integration][quic]") {
  Fixture f;
  f.connect();
  // Let the handshake be confirmed (RFC 9001 §6.1 forbids earlier updates).
  std::this_thread::sleep_for(100ms);
  Status st = on_loop(*f.engine, [&] { return f.conn->initiate_key_update(); });
  CHECK(st);
  run_transfers(f, 1, 4u << 20);
  CHECK(on_loop(*f.engine, [&] { return f.conn->stats().key_updates; }) >= 1);
}

// Held keeps a stream open (no FIN) while the streams around it close.
struct Held final : TransportHandler {
  std::unique_ptr<quic::QuicStream> s;
  size_t received = 0;
  bool eof = false, failed = false;
  explicit Held(std::unique_ptr<quic::QuicStream> st) : s(std::move(st)) {
    s->set_handler(this);
    s->read_start();
  }
  void send(BufferPool& pool, size_t n, uint8_t byte) {
    auto sl = pool.get(n);
    REQUIRE(sl);
    std::memset(sl->append(n), byte, n);
    REQUIRE(s->write(std::move(*sl)));
  }
  void on_data(Slice&& d) override { received += d.size(); }
  void on_eof() override { eof = true; }
  void on_error(Errc) override { failed = true; }
};

TEST_CASE("QUIC gives closed streams' memory back while the connection lives",
          "[integration][quic]") {
  Fixture f;
  f.connect();
  // 640 streams at once: ten blocks of ngtcp2's stream pool (64 each) on
  // both sides. Every tenth is held open, so each block keeps streams in use
  // when the other 576 close: compaction must free around them (ASan sees a
  // live stream's memory freed), and the stream table it rebuilds must
  // still find them.
  constexpr int kStreams = 640;
  std::vector<std::unique_ptr<Held>> held;
  std::vector<Transfer*> ts;
  std::atomic<int> done{0}, good{0};
  on_loop(*f.engine, [&] {
    for (int i = 0; i < kStreams; ++i) {
      auto s = f.conn->open_bidi_stream();
      REQUIRE(s);
      if (i % 10 == 0) {
        held.push_back(std::make_unique<Held>(std::move(*s)));
        held.back()->send(f.engine->pool(), 1024, static_cast<uint8_t>(i));
        continue;
      }
      auto* t = new Transfer(std::move(*s), f.engine->pool(), 1024, static_cast<uint64_t>(i + 1));
      t->on_done = [&](Transfer* x) {
        if (x->ok()) good++;
        done++;
      };
      ts.push_back(t);
    }
    // ngtcp2 grows its stream table at a load of 3/4: 640 streams take 1,024 buckets.
    CHECK(sluice_ngtcp2_stream_table_len(f.conn->native()) == 1024);
  });
  const int transfers = kStreams - kStreams / 10;
  REQUIRE(wait_until([&] { return done.load() == transfers; }, 60000ms));
  CHECK(good.load() == transfers);
  on_loop(*f.engine, [&] {
    for (auto* t : ts) {
      t->s->set_handler(nullptr);
      t->s->close([](void* u) { delete static_cast<Transfer*>(u); }, t);
    }
  });
  const size_t nheld = held.size();
  auto kept = [&](quic::Connection* c) { return sluice_ngtcp2_num_streams(c->native()); };
  // ngtcp2 forgets a stream once both sides' data and FINs are acknowledged.
  REQUIRE(wait_until([&] {
    return on_loop(*f.engine, [&] {
      return kept(f.conn) == nheld && f.server_handler.last && kept(f.server_handler.last) == nheld;
    });
  }));
  REQUIRE(wait_until([&] {
    return on_loop(*f.engine, [&] {
      return f.conn->stats().compactions >= 1 && f.server_handler.last->stats().compactions >= 1 &&
             std::all_of(held.begin(), held.end(), [](auto& h) { return h->received == 1024; });
    });
  }));
  // What phase 3 gives back is counted from here: the packet pools may
  // have given some already.
  const uint64_t before_client =
      on_loop(*f.engine, [&] { return f.conn->stats().compacted_bytes; });
  const uint64_t before_server =
      on_loop(*f.engine, [&] { return f.server_handler.last->stats().compacted_bytes; });
  // The held streams still work both ways after the compaction.
  on_loop(*f.engine, [&] {
    for (auto& h : held) {
      h->send(f.engine->pool(), 1024, 0xee);
      REQUIRE(h->s->shutdown());
    }
  });
  REQUIRE(wait_until([&] {
    return on_loop(*f.engine, [&] {
      return std::all_of(held.begin(), held.end(), [](auto& h) { return h->eof || h->failed; });
    });
  }));
  on_loop(*f.engine, [&] {
    for (auto& h : held) {
      CHECK_FALSE(h->failed);
      CHECK(h->received == 2048);
      h->s->set_handler(nullptr);
      h->s->close(nullptr, nullptr);  // no callback: deleted below
    }
  });
  // Once every stream is gone, each side has given back every block of its
  // stream pool but the current one, and its stream table shrank (rebuilt
  // at 16 buckets once a quarter of the length or less would do). The
  // client took its ten blocks at once, each with held streams in it, so
  // none could go before: nine blocks of 64 streams of 176 bytes (ngtcp2
  // 0.12.1's ngtcp2_strm) came back now. (The server may have reused the
  // first streams' objects for later ones: fewer blocks.)
  constexpr uint64_t kNineBlocks = 9 * 64 * 176;
  auto given_back = [&](quic::Connection* c) {
    return c != nullptr && kept(c) == 0 && !sluice_ngtcp2_stream_pool_grown(c->native()) &&
           sluice_ngtcp2_stream_table_len(c->native()) <= 32;
  };
  CHECK(wait_until(
      [&] {
        return on_loop(*f.engine,
                       [&] { return given_back(f.conn) && given_back(f.server_handler.last); });
      },
      10000ms));
  on_loop(*f.engine, [&] {
    for (quic::Connection* c : {f.conn, f.server_handler.last}) {
      REQUIRE(c != nullptr);
      INFO((c == f.conn ? "client: " : "server: ")
           << kept(c) << " streams, pool grown " << sluice_ngtcp2_stream_pool_grown(c->native())
           << ", table " << sluice_ngtcp2_stream_table_len(c->native()) << ", given back "
           << c->stats().compacted_bytes - (c == f.conn ? before_client : before_server)
           << " bytes since the held streams closed");
      CHECK(given_back(c));
    }
    CHECK(f.conn->stats().compacted_bytes - before_client >= kNineBlocks);
    held.clear();
  });
  // The connection goes on: new streams take fresh blocks.
  run_transfers(f, 100, 64 * 1024);
}

// Hidden (run with "[.perf]"): numbers for docs/perf/quic.md, never asserted.
#include <sys/resource.h>

TEST_CASE("QUIC one-stream echo throughput", "[.perf][quic]") {
  for (bool gso : {true, false}) {
    quic::EndpointOptions o;
    o.allow_gso = gso;
    Fixture f(o, o);
    f.connect();
    rusage r0{}, r1{};
    getrusage(RUSAGE_SELF, &r0);
    const auto t0 = std::chrono::steady_clock::now();
    const size_t bytes = 256u << 20;
    run_transfers(f, 1, bytes, 300000ms);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    getrusage(RUSAGE_SELF, &r1);
    auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
    const double cpu = tv(r1.ru_utime) - tv(r0.ru_utime) + tv(r1.ru_stime) - tv(r0.ru_stime);
    auto cs = on_loop(*f.engine, [&] { return f.client->socket().stats(); });
    auto ss = on_loop(*f.engine, [&] { return f.server->socket().stats(); });
    const double gb = 2.0 * bytes / 1e9;  // echoed: each byte crosses twice
    std::printf(
        "quic echo gso=%d: %.0f MiB each way in %.2f s = %.1f MiB/s per direction; "
        "cpu %.2f s = %.2f cpu-s/GB; client dgrams/send-call %.1f, server dgrams/recv-batch %.1f\n",
        gso ? 1 : 0, bytes / 1048576.0, secs, bytes / 1048576.0 / secs, cpu, cpu / gb,
        double(cs.datagrams_sent) / double(cs.send_calls),
        double(ss.datagrams_received) / double(ss.recv_batches ? ss.recv_batches : 1));
  }
}

TEST_CASE("QUIC keeps packets a full socket refused and sends them when writable",
          "[integration][quic]") {
  // Loopback UDP never fills the sender's buffer (the kernel frees it when
  // the packet loops back), so the socket is told to refuse sends as a full
  // buffer does: EAGAIN, then POLLOUT through the socket's writability poll.
  for (bool gso : {true, false}) {
    INFO("gso " << gso);
    quic::EndpointOptions o;
    o.allow_gso = gso;
    Fixture f(o, o);
    f.connect();
    on_loop(*f.engine, [&] {
      f.client->socket().inject_would_block(5);
      f.server->socket().inject_would_block(5);
    });
    run_transfers(f, 2, 1u << 20);
    for (quic::Endpoint* ep : {f.client.get(), f.server.get()}) {
      auto st = on_loop(*f.engine, [&] { return ep->socket().stats(); });
      CHECK(st.send_would_block == 5);
      CHECK(st.writable_waits >= 1);
      CHECK(st.send_errors == 0);
    }
  }
}

namespace {

// CwndSampler records the largest cwnd a connection reaches, sampled every
// millisecond on the loop while a test runs.
struct CwndSampler {
  uv_timer_t t{};
  quic::Connection* conn;
  uint64_t max_cwnd = 0;
  explicit CwndSampler(uv_loop_t* loop, quic::Connection* c) : conn(c) {
    uv_timer_init(loop, &t);
    t.data = this;
    uv_timer_start(
        &t,
        [](uv_timer_t* h) {
          auto* s = static_cast<CwndSampler*>(h->data);
          s->max_cwnd = std::max(s->max_cwnd, s->conn->conn_stat().cwnd);
        },
        1, 1);
  }
  void stop() { uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr); }
};

uint64_t max_cwnd_during_transfer(quic::EndpointOptions o) {
  Fixture f(o, o);
  f.connect();
  CwndSampler* s = on_loop(*f.engine, [&] { return new CwndSampler(f.engine->loop(), f.conn); });
  run_transfers(f, 1, 16u << 20);
  const uint64_t m = on_loop(*f.engine, [&] {
    s->stop();
    return s->max_cwnd;
  });
  on_loop(*f.engine, [&] {});  // the timer's close callback has run
  delete s;
  return m;
}

// FixedWindow is a RateController holding cwnd at one value; it records what
// the hook handed it.
struct FixedWindow final : quic::RateController {
  struct Log {
    std::atomic<int> starts{0}, acks{0}, congestion{0}, acked_before_sent{0};
    std::atomic<uint64_t> sent_bytes{0}, acked_bytes{0}, max_in_flight{0}, max_packet{0};
  };
  uint64_t window;
  Log* log;
  FixedWindow(uint64_t w, Log* l) : window(w), log(l) {}
  void hold(ngtcp2_conn_stat& cs) {
    cs.cwnd = window;
    // PTO probes may go out whatever cwnd says (RFC 9002 §6.2.4): count
    // in-flight bytes only outside probe time.
    if (cs.pto_count == 0 && cs.bytes_in_flight > log->max_in_flight)
      log->max_in_flight = cs.bytes_in_flight;
  }
  void on_start(ngtcp2_conn_stat& cs, uint64_t) override {
    log->starts++;
    hold(cs);
  }
  void on_packet_sent(ngtcp2_conn_stat& cs, size_t bytes, uint64_t) override {
    log->sent_bytes += bytes;
    if (bytes > log->max_packet) log->max_packet = bytes;
    hold(cs);
  }
  void on_packet_acked(ngtcp2_conn_stat& cs, size_t bytes, uint64_t sent_at,
                       uint64_t now) override {
    if (sent_at > now) log->acked_before_sent++;
    log->acked_bytes += bytes;
    hold(cs);
  }
  void on_ack(ngtcp2_conn_stat& cs, uint64_t) override {
    log->acks++;
    hold(cs);
  }
  void on_congestion(ngtcp2_conn_stat& cs, uint64_t, uint64_t) override {
    log->congestion++;
    hold(cs);
  }
  void on_persistent_congestion(ngtcp2_conn_stat& cs, uint64_t) override { hold(cs); }
};

}  // namespace

TEST_CASE("QUIC congestion-control hook: this ngtcp2 passes the layout checks",
          "[integration][quic][cc]") {
  // Debian's static libngtcp2 0.12.1 is what sluice links; if its internal
  // controller table ever stops matching, the hook turns itself off and
  // this fails rather than the throughput quietly dropping.
  CHECK(quic::cc_hook::available());
}

TEST_CASE("QUIC cwnd ceiling: the smoothed-RTT rule lets cwnd grow, 0.12.1's own holds it",
          "[integration][quic][cc]") {
  // On loopback the minimum RTT is tens of microseconds while a bulk
  // transfer queues for hundreds: 0.12.1's min-RTT ceiling keeps cwnd at
  // 2.89 x max(initial window, delivery rate x min RTT), 41-160 KiB here.
  quic::EndpointOptions o;
  o.connection.cwnd_ceiling = quic::CwndCeiling::stock;
  const uint64_t stock = max_cwnd_during_transfer(o);
  o.connection.cwnd_ceiling = quic::CwndCeiling::smoothed_rtt;
  for (auto cc : {quic::CongestionControl::cubic, quic::CongestionControl::reno}) {
    o.connection.cc = cc;
    const uint64_t m = max_cwnd_during_transfer(o);
    INFO("max cwnd " << m << " with sluice's ceiling, " << stock << " with 0.12.1's (cubic)");
    std::printf("quic cwnd ceiling: max cwnd %llu (sluice's rule) vs %llu (0.12.1's)\n",
                static_cast<unsigned long long>(m), static_cast<unsigned long long>(stock));
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // A sanitized build runs the loop several times slower, which raises the
    // measured RTTs both ceilings grow from (seen: 328 KiB stock against
    // 445-623 KiB); only the release build's numbers mean something here.
    CHECK(m > 0);
#else
    CHECK(m >= (512u << 10));
    // Only "above": the stock ceiling scales with the measured minimum RTT,
    // which a loaded machine raises, so no fixed ratio holds everywhere.
    CHECK(m > stock);
#endif
  }
}

TEST_CASE("QUIC RateController owns cwnd: in-flight bytes stay within its window",
          "[integration][quic][cc]") {
  FixedWindow::Log client_log, server_log;
  constexpr uint64_t kWindow = 24 * 1024;
  quic::EndpointOptions co, so;
  co.connection.cc = quic::CongestionControl::bbr;  // ignored: the controller decides
  co.connection.rate_controller = [&] {
    return std::make_unique<FixedWindow>(kWindow, &client_log);
  };
  so.connection.rate_controller = [&] {
    return std::make_unique<FixedWindow>(kWindow, &server_log);
  };
  {
    Fixture f(so, co);
    f.connect();
    run_transfers(f, 2, 2u << 20);
    const uint64_t cwnd = on_loop(*f.engine, [&] { return f.conn->conn_stat().cwnd; });
    CHECK(cwnd == kWindow);
  }
  for (FixedWindow::Log* l : {&client_log, &server_log}) {
    CHECK(l->starts.load() == 1);
    CHECK(l->acks.load() > 0);
    CHECK(l->acked_before_sent.load() == 0);
    // 4 MiB of stream data each way plus headers went out and came back.
    CHECK(l->sent_bytes.load() > (4u << 20));
    CHECK(l->acked_bytes.load() > (4u << 20));
    // ngtcp2 sends while cwnd has room, so one packet may overshoot.
    CHECK(l->max_in_flight.load() > 0);
    CHECK(l->max_in_flight.load() <= kWindow + l->max_packet.load());
  }
}

TEST_CASE("QUIC RateController factory that makes nothing fails the connect",
          "[integration][quic][cc]") {
  quic::EndpointOptions co;
  co.connection.rate_controller = [] { return std::unique_ptr<quic::RateController>(); };
  Fixture f({}, co);
  auto r =
      on_loop(*f.engine, [&] { return f.client->connect("127.0.0.1", f.server->port(), &f.ch); });
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::invalid_argument);
}

TEST_CASE("QUIC fixed UDP payload size: large datagrams from the start, transfers intact",
          "[integration][quic]") {
  quic::EndpointOptions o;
  o.connection.max_tx_udp_payload_size = 8000;  // loopback's MTU is 65536
  SECTION("with PMTUD (default): 1200-byte packets until probes succeed, never above 1500") {
    Fixture f(o, o);
    f.connect();
    run_transfers(f, 1, 1u << 20);
    const size_t m = on_loop(*f.engine, [&] { return f.conn->max_datagram_payload(); });
    CHECK(m > 1000);
    CHECK(m < 1500);
  }
  SECTION("fixed") {
    o.connection.fixed_udp_payload_size = true;
    Fixture f(o, o);
    f.connect();
    const size_t m = on_loop(*f.engine, [&] { return f.conn->max_datagram_payload(); });
    CHECK(m > 7900);
    CHECK(m < 8000);
    run_transfers(f, 2, 4u << 20);
  }
}
