// QUIC loss recovery on 127.0.0.1 through a relay that drops on command:
// a path MTU that shrinks under a live connection (PMTU black hole), a
// connection whose DATAGRAM-only packets were all lost, and a stream's FIN
// that shutdown() asked for counting as buffered until it is sent. Each
// was a stall or a reset found by the network-namespace fault harness
// (tests/faults, docs/reliability-faults.md); these reproduce them without
// namespaces or root.
#include <ngtcp2/ngtcp2.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "quic_support.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

// Relayed: an Engine with a server, a client endpoint, and a LossyRelay
// between them that drops nothing until told to.
struct Relayed {
  std::unique_ptr<Engine> engine;
  SelfSigned cert = make_self_signed();
  EchoServer server_handler;
  std::unique_ptr<quic::Endpoint> server, client;
  LossyRelay* relay = nullptr;
  ClientHandler ch;
  quic::Connection* conn = nullptr;

  Relayed() {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
    on_loop(*engine, [&] {
      auto s = quic::Endpoint::create(*engine, {}, server_tls(cert), &server_handler);
      REQUIRE(s);
      server = std::move(*s);
      auto c = quic::Endpoint::create(*engine, {}, client_tls(), nullptr);
      REQUIRE(c);
      client = std::move(*c);
      relay = new LossyRelay(engine->loop(), server->port(), 0, 0);
      auto r = client->connect("127.0.0.1", relay->port(), &ch);
      REQUIRE(r);
      conn = *r;
    });
    REQUIRE(wait_until([&] { return ch.up.load(); }, 10000ms));
  }
  ~Relayed() {
    std::atomic<int> closed{0};
    on_loop(*engine, [&] {
      auto cb = [](void* u) { (*static_cast<std::atomic<int>*>(u))++; };
      client->close(cb, &closed);
      server->close(cb, &closed);
      relay->close([&] { closed++; });
    });
    wait_until([&] { return closed.load() == 3; }, 10000ms);
    delete relay;
    REQUIRE(engine->stop());
    CHECK(engine->stats().pool.chunks_outstanding == 0);
  }
  size_t path_payload() {
    return on_loop(*engine,
                   [&] { return ngtcp2_conn_get_path_max_tx_udp_payload_size(conn->native()); });
  }
  // echo sends |bytes| on a new stream and waits for the whole echo; true
  // when it came back intact within |limit|.
  bool echo(size_t bytes, std::chrono::milliseconds limit) {
    std::atomic<int> done{0}, good{0};
    Transfer* t = nullptr;
    on_loop(*engine, [&] {
      auto s = conn->open_bidi_stream();
      REQUIRE(s);
      t = new Transfer(std::move(*s), engine->pool(), bytes, 7);
      t->on_done = [&](Transfer* x) {
        if (x->ok()) good++;
        done++;
      };
    });
    const bool finished = wait_until([&] { return done.load() == 1; }, limit);
    on_loop(*engine, [&] {
      t->on_done = nullptr;
      t->s->set_handler(nullptr);
      t->s->close([](void* u) { delete static_cast<Transfer*>(u); }, t);
    });
    return finished && good.load() == 1;
  }
};

}  // namespace

TEST_CASE("QUIC keeps going when the path MTU drops under a live connection",
          "[integration][quic]") {
  Relayed f;
  // PMTUD raises the packets above what the path will carry below (it
  // settles at 1444 here: ngtcp2 0.12.1 probes 1406, 1342, 1232, 1444).
  REQUIRE(f.echo(1u << 20, 20000ms));
  wait_until([&] { return f.path_payload() > 1400; }, 5000ms);
  REQUIRE(f.path_payload() > 1400);
  // The path now carries 1280-byte IP packets: 1252 bytes of UDP payload.
  on_loop(*f.engine, [&] { f.relay->max_size = 1252; });
  // Full-sized packets vanish both ways; each sender must notice on its own.
  CHECK(f.echo(1u << 20, 20000ms));
  const size_t now = f.path_payload();
  CHECK(now >= 1200);
  CHECK(now <= 1252);
  CHECK(on_loop(*f.engine, [&] { return f.conn->stats().pmtu_black_holes; }) >= 1);
  CHECK_FALSE(f.ch.closed.load());
}

TEST_CASE("QUIC datagrams resume after every packet in flight was lost", "[integration][quic]") {
  Relayed f;
  uint8_t d[1000];
  std::memset(d, 0x5a, sizeof d);
  // Let PMTUD finish and the post-handshake frames be acknowledged, so that
  // only DATAGRAM frames are in flight below.
  wait_until([&] { return f.path_payload() > 1400; }, 5000ms);
  std::this_thread::sleep_for(300ms);
  // A burst while the path drops everything: the datagram packets that fit
  // the congestion window are all lost, the rest wait in the queue.
  on_loop(*f.engine, [&] {
    f.relay->drop_pct = 100;
    for (int i = 0; i < 100; ++i) (void)f.conn->send_datagram(d, sizeof d);
  });
  std::this_thread::sleep_for(300ms);
  CHECK(f.ch.datagrams.load() == 0);
  on_loop(*f.engine, [&] { f.relay->drop_pct = 0; });
  // The probe timeout finds the loss and the queued datagrams go out; before
  // the fix the connection sent nothing more until its 30 s idle timeout.
  CHECK(wait_until([&] { return f.ch.datagrams.load() > 0; }, 5000ms));
  // And later ones flow as usual.
  const int before = f.ch.datagrams.load();
  on_loop(*f.engine, [&] {
    for (int i = 0; i < 10; ++i) (void)f.conn->send_datagram(d, sizeof d);
  });
  CHECK(wait_until([&] { return f.ch.datagrams.load() >= before + 10; }, 5000ms));
}

TEST_CASE("QUIC stream: a FIN asked for counts as buffered until it is sent",
          "[integration][quic]") {
  Relayed f;
  struct Drain final : TransportHandler {
    std::atomic<bool> drained{false};
    void on_data(Slice&&) override {}
    void on_eof() override {}
    void on_error(Errc) override {}
    void on_drained() override { drained = true; }
  } h;
  std::unique_ptr<quic::QuicStream> s;
  size_t before = 0, after_shutdown = 0;
  on_loop(*f.engine, [&] {
    auto r = f.conn->open_bidi_stream();
    REQUIRE(r);
    s = std::move(*r);
    s->set_handler(&h);
    before = s->write_buffered();
    REQUIRE(s->shutdown());
    // Nothing was written, but the FIN has not gone to ngtcp2 yet: an owner
    // closing now would reset the stream (a Relay closes at 0).
    after_shutdown = s->write_buffered();
  });
  CHECK(before == 0);
  CHECK(after_shutdown == 1);
  // Once the FIN is sent and acknowledged the stream is drained.
  CHECK(wait_until([&] { return h.drained.load(); }, 5000ms));
  CHECK(on_loop(*f.engine, [&] { return s->write_buffered(); }) == 0);
  on_loop(*f.engine, [&] {
    s->set_handler(nullptr);
    quic::QuicStream* raw = s.release();
    raw->close([](void* u) { delete static_cast<quic::QuicStream*>(u); }, raw);
  });
}
