// Relay between two raw TCP sockets: bytes move with splice(2). Real
// sockets on 127.0.0.1; the Engine runs on its own thread, the test drives
// blocking sockets at both ends:
//
//   client fd ==TCP== [a] Relay [b] ==TCP== server fd
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <mutex>

#include "session/relay.hpp"
#include "support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

struct Acceptor final : EngineObject, net::AcceptHandler {
  std::unique_ptr<net::TcpListener> listener;
  std::vector<std::unique_ptr<net::TcpTransport>> accepted;  // loop thread
  std::atomic<int> count{0};
  uint16_t port = 0;
  explicit Acceptor(Engine& e) : EngineObject(e) {
    auto l = net::TcpListener::create(e, "127.0.0.1", 0, {}, this, nullptr);
    REQUIRE(l);
    listener = std::move(*l);
    port = listener->port();
  }
  void on_accept(std::unique_ptr<net::TcpTransport> t) override {
    accepted.push_back(std::move(t));
    ++count;
  }
  void engine_close() noexcept override {
    for (auto& t : accepted)
      if (t) close_and_delete(t.release());
    listener->close([](void* u) { static_cast<Acceptor*>(u)->detach_from_engine(); }, this);
  }
};

struct Done final : RelayObserver {
  std::mutex mu;
  bool done = false;
  RelayResult result;
  void on_relay_done(const RelayResult& r) override {
    std::lock_guard<std::mutex> l(mu);
    done = true;
    result = r;
  }
  bool finished() {
    std::lock_guard<std::mutex> l(mu);
    return done;
  }
};

// Rig connects a client and a server socket to the Engine and relays them;
// next() does it again on the same Engine (and loop thread).
struct Rig {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Acceptor> acc;
  int client = -1, server = -1;
  std::unique_ptr<Done> done;
  bool splicing = false;
  RelayOptions opts;

  explicit Rig(RelayOptions o = {}) : opts(o) {
    engine = std::move(*Engine::create());
    acc = std::make_unique<Acceptor>(*engine);
    REQUIRE(engine->start());
    next();
  }
  void next() {
    if (client >= 0) ::close(client);
    if (server >= 0) ::close(server);
    done = std::make_unique<Done>();
    const int base = acc->count;
    client = tcp_connect(acc->port);
    REQUIRE(wait_until([&] { return acc->count == base + 1; }));
    server = tcp_connect(acc->port);
    REQUIRE(wait_until([&] { return acc->count == base + 2; }));
    splicing = on_loop(*engine, [&] {
      Relay* r = Relay::start(*engine, std::move(acc->accepted[base]),
                              std::move(acc->accepted[base + 1]), opts, done.get());
      return r != nullptr && r->splicing();
    });
  }
  ~Rig() {
    if (client >= 0) ::close(client);
    if (server >= 0) ::close(server);
    REQUIRE(engine->stop());
    CHECK(engine->stats().pool.chunks_outstanding == 0);
    acc.reset();
    engine.reset();
  }
  RelayResult result() {
    REQUIRE(wait_until([&] { return done->finished(); }));
    std::lock_guard<std::mutex> l(done->mu);
    return done->result;
  }
};

std::string pattern(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  Pattern(seed).fill(reinterpret_cast<uint8_t*>(s.data()), n);
  return s;
}

bool send_str(int fd, const std::string& s) { return send_all(fd, s.data(), s.size()); }

std::string recv_n(int fd, size_t n) {
  std::string s(n, '\0');
  if (!recv_exact(fd, s.data(), n)) return {};
  return s;
}

}  // namespace

TEST_CASE("splice: bytes both ways, counted exactly; the client half-closes first",
          "[integration][relay][splice]") {
  Rig rig;
  REQUIRE(rig.splicing);
  const std::string up = pattern(3u << 20, 1), down = pattern(700000, 2);
  std::thread writer([&] { CHECK(send_str(rig.client, up)); });
  CHECK(recv_n(rig.server, up.size()) == up);
  writer.join();
  REQUIRE(send_str(rig.server, down));
  CHECK(recv_n(rig.client, down.size()) == down);
  // The client ends its side; the server still answers.
  ::shutdown(rig.client, SHUT_WR);
  CHECK(wait_eof(rig.server));
  REQUIRE(send_str(rig.server, "after"));
  CHECK(recv_n(rig.client, 5) == "after");
  ::shutdown(rig.server, SHUT_WR);
  CHECK(wait_eof(rig.client));
  const RelayResult r = rig.result();
  CHECK(r.error == Errc::ok);
  CHECK(r.bytes_a_to_b == up.size());
  CHECK(r.bytes_b_to_a == down.size() + 5);
  CHECK(r.bytes_lost == 0);
}

TEST_CASE("splice: the server half-closes first", "[integration][relay][splice]") {
  Rig rig;
  REQUIRE(rig.splicing);
  REQUIRE(send_str(rig.server, "greeting"));
  ::shutdown(rig.server, SHUT_WR);
  CHECK(recv_n(rig.client, 8) == "greeting");
  CHECK(wait_eof(rig.client));
  // The other direction stays open.
  const std::string late = pattern(200000, 3);
  REQUIRE(send_str(rig.client, late));
  CHECK(recv_n(rig.server, late.size()) == late);
  ::shutdown(rig.client, SHUT_WR);
  CHECK(wait_eof(rig.server));
  const RelayResult r = rig.result();
  CHECK(r.error == Errc::ok);
  CHECK(r.bytes_a_to_b == late.size());
  CHECK(r.bytes_b_to_a == 8);
}

TEST_CASE("splice: a slow reader stops the writer; nothing piles up in user space",
          "[integration][relay][splice]") {
  RelayOptions o;
  o.high_watermark = 256 * 1024;
  o.low_watermark = 64 * 1024;
  Rig rig(o);
  REQUIRE(rig.splicing);
  // The server reads nothing: the client's sends stop being accepted once
  // the socket buffers and the relay's pipe are full.
  const int fl = ::fcntl(rig.client, F_GETFL);
  REQUIRE(::fcntl(rig.client, F_SETFL, fl | O_NONBLOCK) == 0);
  const std::string big = pattern(256u << 20, 9);
  size_t off = 0;
  auto stalled_since = std::chrono::steady_clock::now();
  while (off < big.size() &&
         std::chrono::steady_clock::now() - stalled_since < std::chrono::milliseconds(300)) {
    const ssize_t n = ::send(rig.client, big.data() + off,
                             std::min<size_t>(65536, big.size() - off), MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      stalled_since = std::chrono::steady_clock::now();
      continue;
    }
    REQUIRE(errno == EAGAIN);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::string sent = big.substr(0, off);
  REQUIRE(off < big.size());  // the writer was stopped
  REQUIRE(::fcntl(rig.client, F_SETFL, fl) == 0);
  // Stalled: the relay holds its pipe's worth at most, none of it in pool
  // chunks (a copying relay would hold up to its high watermark there).
  CHECK(sent.size() < (64u << 20));
  const EngineStats st = on_loop(*rig.engine, [&] { return rig.engine->stats(); });
  CHECK(st.pool.bytes_outstanding == 0);
  // Now the reader catches up: every byte arrives, in order, counted.
  CHECK(recv_n(rig.server, sent.size()) == sent);
  ::shutdown(rig.client, SHUT_WR);
  CHECK(wait_eof(rig.server));
  ::shutdown(rig.server, SHUT_WR);
  CHECK(wait_eof(rig.client));
  const RelayResult r = rig.result();
  CHECK(r.error == Errc::ok);
  CHECK(r.bytes_a_to_b == sent.size());
}

TEST_CASE("splice: the idle timeout closes a quiet relay", "[integration][relay][splice]") {
  RelayOptions o;
  o.idle_timeout_ms = 300;
  Rig rig(o);
  REQUIRE(rig.splicing);
  REQUIRE(send_str(rig.client, "x"));
  CHECK(recv_n(rig.server, 1) == "x");
  const auto t0 = std::chrono::steady_clock::now();
  const RelayResult r = rig.result();
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(r.error == Errc::timed_out);
  CHECK(r.bytes_a_to_b == 1);
  CHECK(waited >= std::chrono::milliseconds(200));
  CHECK(wait_eof(rig.client));
  CHECK(wait_eof(rig.server));
}

TEST_CASE("splice refused: the relay copies, with the same results",
          "[integration][relay][splice]") {
  Relay::refuse_splice_for_test(true);
  {
    Rig rig;
    CHECK_FALSE(rig.splicing);
    const std::string up = pattern(1u << 20, 4);
    std::thread writer([&] { CHECK(send_str(rig.client, up)); });
    CHECK(recv_n(rig.server, up.size()) == up);
    writer.join();
    REQUIRE(send_str(rig.server, "pong"));
    CHECK(recv_n(rig.client, 4) == "pong");
    ::shutdown(rig.client, SHUT_WR);
    CHECK(wait_eof(rig.server));
    ::shutdown(rig.server, SHUT_WR);
    CHECK(wait_eof(rig.client));
    const RelayResult r = rig.result();
    CHECK(r.error == Errc::ok);
    CHECK(r.bytes_a_to_b == up.size());
    CHECK(r.bytes_b_to_a == 4);
  }
  Relay::refuse_splice_for_test(false);
}

TEST_CASE("splice: a reset on one side ends the relay with that side's error",
          "[integration][relay][splice]") {
  Rig rig;
  REQUIRE(rig.splicing);
  REQUIRE(send_str(rig.client, "abc"));
  CHECK(recv_n(rig.server, 3) == "abc");
  linger lg{1, 0};
  REQUIRE(::setsockopt(rig.server, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
  ::close(rig.server);  // RST
  rig.server = -1;
  const RelayResult r = rig.result();
  CHECK(r.error != Errc::ok);
  CHECK(r.failed_side == 1);
  CHECK(wait_eof(rig.client));
}

TEST_CASE("splice: pipes are reused from the loop thread's cache", "[integration][relay][splice]") {
  Rig rig;
  size_t first = 0;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) rig.next();
    REQUIRE(rig.splicing);
    REQUIRE(send_str(rig.client, "hi"));
    CHECK(recv_n(rig.server, 2) == "hi");
    ::shutdown(rig.client, SHUT_WR);
    ::shutdown(rig.server, SHUT_WR);
    CHECK(wait_eof(rig.client));
    CHECK(wait_eof(rig.server));
    CHECK(rig.result().error == Errc::ok);
    // A direction holds a pipe only while bytes are in it and gives it back
    // to the cache: the next relays take them from there, none is made.
    const size_t live = on_loop(*rig.engine, [] { return Relay::live_pipes_for_test(); });
    if (i == 0) first = live;
    CHECK(live == first);
    CHECK(live >= 1);
    CHECK(live <= 2);
  }
}

TEST_CASE("splice: a pipe out of slots with a blocked reader does not spin the loop",
          "[integration][relay][splice]") {
  // A 16 KiB pipe has 4 slots, one per page fragment spliced into it.
  // The client sends 2000-byte pieces of distinct pages (vmsplice + splice,
  // so the segments keep their own fragments and cannot be merged): the
  // relay's pipe runs out of slots with 8000 bytes in it. The server's
  // small receive buffer makes the relay's writes stop soon. With the reader
  // blocked, the client's socket stays readable while every splice into
  // the pipe fails; the relay must wait for the pipe to drain, not retry
  // each time the loop comes round.
  RelayOptions o;
  o.high_watermark = 16 * 1024;
  o.low_watermark = 4 * 1024;
  Rig rig(o);
  REQUIRE(rig.splicing);
  const int one = 1, small = 32 * 1024;
  REQUIRE(::setsockopt(rig.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
  REQUIRE(::setsockopt(rig.server, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  const int fl = ::fcntl(rig.client, F_GETFL);
  REQUIRE(::fcntl(rig.client, F_SETFL, fl | O_NONBLOCK) == 0);
  int p[2];
  REQUIRE(::pipe2(p, O_NONBLOCK) == 0);
  constexpr size_t kPage = 4096, kPages = 256, kPiece = 2000;
  std::vector<uint8_t> pages(kPage * kPages);
  Pattern(12).fill(pages.data(), pages.size());
  std::string sent;
  size_t i = 0;
  auto stalled_since = std::chrono::steady_clock::now();
  const auto give_up = stalled_since + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() - stalled_since < std::chrono::milliseconds(200)) {
    REQUIRE(std::chrono::steady_clock::now() < give_up);
    uint8_t* piece = pages.data() + (i % kPages) * kPage;
    iovec iov{piece, kPiece};
    // The piece stays in the client's pipe until the socket takes it.
    const ssize_t v = ::vmsplice(p[1], &iov, 1, SPLICE_F_NONBLOCK);
    if (v > 0) {  // all of it, or what the pipe had room for
      sent.append(reinterpret_cast<const char*>(piece), static_cast<size_t>(v));
      ++i;
    } else {
      REQUIRE(v < 0);
      REQUIRE(errno == EAGAIN);
    }
    const ssize_t n = ::splice(p[0], nullptr, rig.client, nullptr, kPiece * 16,
                               SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (n > 0) {
      stalled_since = std::chrono::steady_clock::now();
      continue;
    }
    REQUIRE(errno == EAGAIN);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Stalled for 200 ms; another 200 ms of nothing moving costs the relay
  // almost no failed splices (a spinning loop makes thousands).
  const uint64_t before = on_loop(*rig.engine, [] { return Relay::splice_eagain_for_test(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t after = on_loop(*rig.engine, [] { return Relay::splice_eagain_for_test(); });
  CHECK(after - before < 20);
  // The reader catches up: every byte arrives in order and is counted.
  REQUIRE(::fcntl(rig.client, F_SETFL, fl) == 0);
  std::thread flusher([&] {
    while (true) {
      const ssize_t n = ::splice(p[0], nullptr, rig.client, nullptr, 1 << 20, SPLICE_F_MOVE);
      if (n <= 0) break;
    }
  });
  ::close(p[1]);
  CHECK(recv_n(rig.server, sent.size()) == sent);
  flusher.join();
  ::close(p[0]);
  ::shutdown(rig.client, SHUT_WR);
  CHECK(wait_eof(rig.server));
  ::shutdown(rig.server, SHUT_WR);
  CHECK(wait_eof(rig.client));
  const RelayResult r = rig.result();
  CHECK(r.error == Errc::ok);
  CHECK(r.bytes_a_to_b == sent.size());
}
