// End to end on 127.0.0.1: local SOCKS5 / HTTP / mixed inbound -> direct
// outbound -> test servers, with real sockets.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "inbound/proxy_inbound.hpp"
#include "session/direct_session.hpp"
#include "session/upstream_proxy_session.hpp"
#include "session_close_check.hpp"
#include "support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

struct Rig {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<DirectSession> direct;
  std::unique_ptr<FinalRouter> router;
  std::unique_ptr<ProxyInbound> inbound;
  std::unique_ptr<TestServer> echo;
  std::unique_ptr<TestServer> greeter;
  std::unique_ptr<TestServer> sink;
  std::unique_ptr<TestServer> reset;

  explicit Rig(ProxyKind kind, std::vector<ProxyUser> users = {}, RelayOptions relay = {}) {
    engine = std::move(*Engine::create());
    direct = std::make_unique<DirectSession>(*engine, "direct", net::DialOptions{});
    router = std::make_unique<FinalRouter>(direct.get());
    ProxyInboundOptions o;
    o.kind = kind;
    o.tag = "in";
    o.users = std::move(users);
    o.relay = relay;
    std::string reason;
    auto in = ProxyInbound::create(*engine, o, router.get(), &reason);
    REQUIRE(in);
    inbound = std::move(*in);
    echo = std::make_unique<TestServer>(*engine, TestServer::Mode::echo);
    greeter = std::make_unique<TestServer>(*engine, TestServer::Mode::greeter, "hello from server");
    sink = std::make_unique<TestServer>(*engine, TestServer::Mode::sink);
    reset = std::make_unique<TestServer>(*engine, TestServer::Mode::reset);
    REQUIRE(engine->start());
  }
  ~Rig() {
    REQUIRE(engine->stop());
    const EngineStats st = engine->stats();
    inbound.reset();
    direct.reset();
    echo.reset();
    greeter.reset();
    sink.reset();
    reset.reset();
    CHECK(st.objects == 0);
    CHECK(st.pool.chunks_outstanding == 0);
    engine.reset();
  }
  EngineStats stats() {
    return on_loop(*engine, [this] { return engine->stats(); });
  }
};

int socks_to(Rig& rig, uint16_t port) {
  int fd = tcp_connect(rig.inbound->port());
  REQUIRE(socks5_connect(fd, "127.0.0.1", port) == 0);
  return fd;
}

}  // namespace

TEST_CASE("64 MiB through SOCKS5 -> direct, hash-checked both ways", "[integration][proxy]") {
  Rig rig(ProxyKind::socks);
  int fd = socks_to(rig, rig.echo->port());
  constexpr size_t kTotal = 64u << 20;
  std::thread writer([fd] {
    Pattern p(7);
    std::vector<uint8_t> buf(256 * 1024);
    for (size_t sent = 0; sent < kTotal; sent += buf.size()) {
      p.fill(buf.data(), buf.size());
      if (!send_all(fd, buf.data(), buf.size())) return;
    }
    ::shutdown(fd, SHUT_WR);
  });
  Pattern expect(7);
  std::vector<uint8_t> got(256 * 1024), want(256 * 1024);
  size_t received = 0;
  bool same = true;
  while (received < kTotal) {
    const size_t n = std::min(got.size(), kTotal - received);
    if (!recv_exact(fd, got.data(), n, 30000)) break;
    expect.fill(want.data(), n);
    same = same && std::memcmp(got.data(), want.data(), n) == 0;
    received += n;
  }
  writer.join();
  CHECK(received == kTotal);
  CHECK(same);
  CHECK(wait_eof(fd));  // the echo server's half-close came back through the relay
  ::close(fd);
  const EngineStats st = rig.stats();
  CHECK(st.bytes_up >= kTotal);
  CHECK(st.bytes_down >= kTotal);
}

TEST_CASE("a SOCKS5 request pipelined behind the greeting, with data behind it",
          "[integration][proxy]") {
  Rig rig(ProxyKind::socks);
  int fd = tcp_connect(rig.inbound->port());
  const uint16_t p = rig.echo->port();
  const uint8_t msg[] = {
      5,   1,  0, 5, 1, 0, 1, 127, 0, 0, 1, static_cast<uint8_t>(p >> 8), static_cast<uint8_t>(p),
      'h', 'i'};
  REQUIRE(send_all(fd, msg, sizeof msg));
  uint8_t reply[2 + 10 + 2];
  REQUIRE(recv_exact(fd, reply, sizeof reply));
  CHECK(reply[1] == 0);  // no-auth chosen
  CHECK(reply[3] == 0);  // succeeded
  CHECK(std::string(reinterpret_cast<char*>(reply + 12), 2) == "hi");
  ::close(fd);
}

TEST_CASE("half-close from the client: data still flows back", "[integration][proxy]") {
  Rig rig(ProxyKind::mixed);
  int fd = socks_to(rig, rig.echo->port());
  REQUIRE(send_all(fd, "abc", 3));
  ::shutdown(fd, SHUT_WR);
  char buf[3];
  REQUIRE(recv_exact(fd, buf, 3));
  CHECK(std::string(buf, 3) == "abc");
  CHECK(wait_eof(fd));
  ::close(fd);
}

TEST_CASE("half-close from the server: the client can still send", "[integration][proxy]") {
  Rig rig(ProxyKind::socks);
  int fd = socks_to(rig, rig.greeter->port());
  std::string got;
  while (got.size() < 17) {
    std::string s = recv_some(fd);
    if (s.empty()) break;
    got += s;
  }
  CHECK(got == "hello from server");
  CHECK(wait_eof(fd, 5000));
  REQUIRE(send_all(fd, "late data", 9));
  for (int i = 0; i < 200 && rig.greeter->received < 9; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(rig.greeter->received == 9);
  ::close(fd);
}

TEST_CASE("1,000 concurrent streams", "[integration][proxy]") {
  Rig rig(ProxyKind::socks);
  constexpr int kStreams = 1000;
  std::vector<int> fds;
  fds.reserve(kStreams);
  for (int i = 0; i < kStreams; ++i) fds.push_back(socks_to(rig, rig.echo->port()));
  for (int i = 0; i < kStreams; ++i) {
    const std::string msg = "stream " + std::to_string(i);
    REQUIRE(send_all(fds[i], msg.data(), msg.size()));
  }
  int ok = 0;
  for (int i = 0; i < kStreams; ++i) {
    const std::string msg = "stream " + std::to_string(i);
    std::string buf(msg.size(), '\0');
    if (recv_exact(fds[i], buf.data(), buf.size()) && buf == msg) ++ok;
  }
  CHECK(ok == kStreams);
  CHECK(rig.stats().streams_active == kStreams);
  for (int fd : fds) ::close(fd);
}

TEST_CASE("a slow reader keeps the relay within its watermarks", "[integration][proxy]") {
  RelayOptions relay;
  relay.low_watermark = 64 * 1024;
  relay.high_watermark = 256 * 1024;
  Rig rig(ProxyKind::socks, {}, relay);
  int fd = socks_to(rig, rig.sink->port());
  // Push until the kernel buffers and the relay are full: the sink never reads.
  std::vector<uint8_t> chunk(64 * 1024, 0x5a);
  timeval tv{0, 500000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  size_t pushed = 0;
  for (int i = 0; i < 2000; ++i) {
    ssize_t k = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (k <= 0) break;
    pushed += static_cast<size_t>(k);
  }
  CHECK(pushed > relay.high_watermark);  // it did push past the relay's limit
  const EngineStats st = rig.stats();
  // Buffered in sluice: at most the high watermark plus one read in flight
  // (64 KiB chunks) per direction.
  CHECK(st.pool.bytes_outstanding <= relay.high_watermark + 4 * 65536);
  CAPTURE(pushed, st.pool.bytes_outstanding, st.pool.high_water);
  ::close(fd);
}

TEST_CASE("a peer reset fails one stream and leaves the others alone", "[integration][proxy]") {
  Rig rig(ProxyKind::socks);
  int good = socks_to(rig, rig.echo->port());
  int bad = socks_to(rig, rig.reset->port());
  REQUIRE(send_all(bad, "boom", 4));
  CHECK(wait_eof(bad));  // reset at the server -> the relay closes our side
  REQUIRE(send_all(good, "still fine", 10));
  char buf[10];
  REQUIRE(recv_exact(good, buf, 10));
  CHECK(std::string(buf, 10) == "still fine");
  ::close(bad);
  ::close(good);
}

TEST_CASE("CONNECT and absolute-URI requests through the HTTP inbound", "[integration][proxy]") {
  Rig rig(ProxyKind::http);
  {
    int fd = tcp_connect(rig.inbound->port());
    const std::string req = "CONNECT 127.0.0.1:" + std::to_string(rig.echo->port()) +
                            " HTTP/1.1\r\nHost: x\r\n\r\nearly";
    REQUIRE(send_all(fd, req.data(), req.size()));
    std::string got;
    while (got.find("early") == std::string::npos) {
      std::string s = recv_some(fd);
      if (s.empty()) break;
      got += s;
    }
    CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(got.substr(got.size() - 5) == "early");
    ::close(fd);
  }
  {
    int fd = tcp_connect(rig.inbound->port());
    const std::string req =
        "GET http://127.0.0.1:" + std::to_string(rig.echo->port()) +
        "/path?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Connection: keep-alive\r\n\r\n";
    REQUIRE(send_all(fd, req.data(), req.size()));
    std::string got;
    while (got.find("\r\n\r\n") == std::string::npos) {
      std::string s = recv_some(fd);
      if (s.empty()) break;
      got += s;
    }
    // The echo server returns the forwarded head: origin-form, no proxy fields.
    CHECK(got.rfind("GET /path?q=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(got.find("Proxy-Connection") == std::string::npos);
    CHECK(got.find("Connection: close") != std::string::npos);
    ::close(fd);
  }
}

TEST_CASE("malformed SOCKS5 and HTTP requests get an error reply and a close",
          "[integration][proxy]") {
  Rig rig(ProxyKind::mixed, {});
  SECTION("SOCKS5 with no acceptable method") {
    int fd = tcp_connect(rig.inbound->port());
    const uint8_t greet[] = {5, 1, 0x80};
    REQUIRE(send_all(fd, greet, 3));
    uint8_t rep[2];
    REQUIRE(recv_exact(fd, rep, 2));
    CHECK(rep[0] == 5);
    CHECK(rep[1] == 0xFF);
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  SECTION("SOCKS5 unsupported address type") {
    int fd = tcp_connect(rig.inbound->port());
    const uint8_t msg[] = {5, 1, 0, 5, 1, 0, 9, 1, 2, 3, 4, 0, 80};
    REQUIRE(send_all(fd, msg, sizeof msg));
    uint8_t rep[4];
    REQUIRE(recv_exact(fd, rep, 2));
    REQUIRE(recv_exact(fd, rep, 4));
    CHECK(rep[1] == 0x08);
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  SECTION("SOCKS5 BIND is refused") {
    int fd = tcp_connect(rig.inbound->port());
    const uint8_t msg[] = {5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80};
    REQUIRE(send_all(fd, msg, sizeof msg));
    uint8_t rep[6];
    REQUIRE(recv_exact(fd, rep, 2));
    REQUIRE(recv_exact(fd, rep, 4));
    CHECK(rep[1] == 0x07);
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  SECTION("HTTP garbage") {
    int fd = tcp_connect(rig.inbound->port());
    const std::string junk = "GARBAGE\x01\x02 nonsense\r\n\r\n";
    REQUIRE(send_all(fd, junk.data(), junk.size()));
    std::string got = recv_some(fd);
    CHECK(got.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  SECTION("HTTP head too large") {
    int fd = tcp_connect(rig.inbound->port());
    std::string big = "CONNECT a:1 HTTP/1.1\r\nX: " + std::string(20000, 'a');
    send_all(fd, big.data(), big.size());
    std::string got = recv_some(fd);
    CHECK(got.rfind("HTTP/1.1 431", 0) == 0);
    ::close(fd);
  }
  SECTION("dial failure maps to a SOCKS5 reply") {
    int fd = tcp_connect(rig.inbound->port());
    // Port 1 on loopback: connection refused.
    CHECK(socks5_connect(fd, "127.0.0.1", 1) == 0x05);
    ::close(fd);
  }
}

TEST_CASE("authentication: SOCKS5 user/pass and HTTP Basic", "[integration][proxy]") {
  Rig rig(ProxyKind::mixed, {{"alice", "s3cret"}});
  {
    int fd = tcp_connect(rig.inbound->port());
    const uint8_t greet[] = {5, 1, 2};
    REQUIRE(send_all(fd, greet, 3));
    uint8_t c[2];
    REQUIRE(recv_exact(fd, c, 2));
    CHECK(c[1] == 2);
    const uint8_t bad[] = {1, 5, 'a', 'l', 'i', 'c', 'e', 3, 'b', 'a', 'd'};
    REQUIRE(send_all(fd, bad, sizeof bad));
    REQUIRE(recv_exact(fd, c, 2));
    CHECK(c[1] != 0);
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  {
    int fd = tcp_connect(rig.inbound->port());
    const std::string req = "CONNECT 127.0.0.1:" + std::to_string(rig.echo->port()) +
                            " HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n";
    REQUIRE(send_all(fd, req.data(), req.size()));
    CHECK(recv_some(fd).rfind("HTTP/1.1 200", 0) == 0);
    ::close(fd);
  }
  {
    int fd = tcp_connect(rig.inbound->port());
    const std::string req = "CONNECT 127.0.0.1:80 HTTP/1.1\r\n\r\n";
    REQUIRE(send_all(fd, req.data(), req.size()));
    CHECK(recv_some(fd).rfind("HTTP/1.1 407", 0) == 0);
    ::close(fd);
  }
}

TEST_CASE("socks and http upstream sessions chain through a second inbound",
          "[integration][proxy]") {
  for (auto kind : {UpstreamProxyOptions::Kind::socks, UpstreamProxyOptions::Kind::http}) {
    Rig server(ProxyKind::mixed);
    auto engine = std::move(*Engine::create());
    UpstreamProxyOptions uo;
    uo.kind = kind;
    uo.server = "127.0.0.1";
    uo.server_port = server.inbound->port();
    auto upstream = std::make_unique<UpstreamProxySession>(*engine, "up", uo);
    FinalRouter router(upstream.get());
    ProxyInboundOptions o;
    o.kind = ProxyKind::socks;
    std::string reason;
    auto in = std::move(*ProxyInbound::create(*engine, o, &router, &reason));
    REQUIRE(engine->start());
    int fd = tcp_connect(in->port());
    REQUIRE(socks5_connect(fd, "127.0.0.1", server.echo->port()) == 0);
    REQUIRE(send_all(fd, "through two proxies", 19));
    char buf[19];
    REQUIRE(recv_exact(fd, buf, 19));
    CHECK(std::string(buf, 19) == "through two proxies");
    ::close(fd);
    int fd2 = tcp_connect(in->port());
    CHECK(socks5_connect(fd2, "127.0.0.1", 1) == 0x05);  // refused at the far end
    ::close(fd2);
    REQUIRE(engine->stop());
    in.reset();
    upstream.reset();
    CHECK(engine->stats().pool.chunks_outstanding == 0);
  }
}

TEST_CASE("flows the router refuses: CONNECT and UDP ASSOCIATE get 'command not supported'",
          "[integration][proxy]") {
  struct RefuseAll final : Router {
    std::atomic<int> asked{0};
    Session* route(std::string_view, const TargetAddress&) noexcept override {
      asked++;
      return nullptr;
    }
  } router;
  auto engine = std::move(*Engine::create());
  ProxyInboundOptions o;
  o.kind = ProxyKind::socks;
  std::string reason;
  auto in = std::move(*ProxyInbound::create(*engine, o, &router, &reason));
  REQUIRE(engine->start());
  int fd = tcp_connect(in->port());
  CHECK(socks5_connect(fd, "127.0.0.1", 9) == 0x07);  // RFC 1928: command not supported
  CHECK(wait_eof(fd));
  ::close(fd);
  // UDP ASSOCIATE: the same reply, and the control connection closes.
  fd = tcp_connect(in->port());
  const uint8_t greet[] = {5, 1, 0};
  REQUIRE(send_all(fd, greet, 3));
  uint8_t c[2];
  REQUIRE(recv_exact(fd, c, 2));
  const uint8_t req[] = {5, 3, 0, 1, 127, 0, 0, 1, 0, 0};
  REQUIRE(send_all(fd, req, sizeof req));
  uint8_t rep[10];
  REQUIRE(recv_exact(fd, rep, 10));
  CHECK(rep[1] == 0x07);
  CHECK(wait_eof(fd));
  ::close(fd);
  CHECK(router.asked.load() == 2);
  REQUIRE(engine->stop());
  in.reset();
  CHECK(engine->stats().pool.chunks_outstanding == 0);
}

TEST_CASE("SOCKS5 UDP ASSOCIATE carries datagrams both ways", "[integration][proxy][udp]") {
  Rig rig(ProxyKind::socks);
  UdpEcho echo;
  auto assoc = std::make_unique<SocksUdpAssociation>(rig.inbound->port());
  for (int i = 0; i < 20; ++i) {
    const std::string payload =
        "datagram #" + std::to_string(i) + std::string(static_cast<size_t>(i) * 50, 'x');
    std::vector<uint8_t> dgram;
    REQUIRE(assoc->send_to(echo.port, payload.data(), payload.size(), &dgram));
    pollfd pf{assoc->u, POLLIN, 0};
    REQUIRE(::poll(&pf, 1, 5000) == 1);
    uint8_t back[4096];
    ssize_t n = ::recv(assoc->u, back, sizeof back, 0);
    REQUIRE(n == static_cast<ssize_t>(dgram.size()));
    CHECK(back[3] == 1);  // source reported as an IPv4 address
    CHECK(back[8] == dgram[8]);
    CHECK(back[9] == dgram[9]);  // from the echo server's port
    CHECK(std::string(reinterpret_cast<char*>(back + 10), static_cast<size_t>(n) - 10) == payload);
  }
  // A fragmented datagram (FRAG != 0) is dropped, and the association survives.
  const uint8_t frag[] = {0,
                          0,
                          1,
                          1,
                          127,
                          0,
                          0,
                          1,
                          static_cast<uint8_t>(echo.port >> 8),
                          static_cast<uint8_t>(echo.port),
                          'z'};
  ::sendto(assoc->u, frag, sizeof frag, 0, reinterpret_cast<sockaddr*>(&assoc->relay),
           sizeof assoc->relay);
  pollfd pf{assoc->u, POLLIN, 0};
  CHECK(::poll(&pf, 1, 200) == 0);
  assoc.reset();  // ends the association
}

namespace {

// Answer records one OpenHandler call (made on the loop thread).
struct Answer final : OpenHandler {
  std::atomic<int> calls{0};
  std::atomic<int> error{0};
  std::mutex mu;
  std::string reason;
  std::unique_ptr<Stream> stream;
  void on_open(Result<std::unique_ptr<Stream>> s, const char* why) override {
    std::lock_guard<std::mutex> lock(mu);
    error = s ? 0 : static_cast<int>(s.error());
    if (s) stream = std::move(*s);
    reason = why;
    calls++;
  }
  std::string why() {
    std::lock_guard<std::mutex> lock(mu);
    return reason;
  }
};

}  // namespace

TEST_CASE("upstream sessions: a silent proxy times the open out, cancel forgets, stop fails",
          "[integration][proxy]") {
  for (auto kind : {UpstreamProxyOptions::Kind::socks, UpstreamProxyOptions::Kind::http}) {
    auto engine = std::move(*Engine::create());
    // Accepts, never reads, never answers: the handshake stays pending.
    auto silent = std::make_unique<TestServer>(*engine, TestServer::Mode::sink);
    UpstreamProxyOptions uo;
    uo.kind = kind;
    uo.server = "127.0.0.1";
    uo.server_port = silent->port();
    uo.handshake_timeout_ms = 150;
    uo.dial.connect_timeout_ms = 50;  // the deadline is both: 200 ms
    auto quick = std::make_unique<UpstreamProxySession>(*engine, "quick", uo);
    uo.handshake_timeout_ms = 60000;
    auto slow = std::make_unique<UpstreamProxySession>(*engine, "slow", uo);
    REQUIRE(engine->start());

    Answer timed, cancelled, stopped;
    const auto t0 = std::chrono::steady_clock::now();
    on_loop(*engine, [&] {
      quick->open_stream("127.0.0.1", 9, &timed);
      slow->open_stream("127.0.0.1", 9, &cancelled);
      slow->open_stream("127.0.0.1", 9, &stopped);
      slow->cancel_open(&cancelled);
    });
    REQUIRE(wait_until([&] { return timed.calls.load() == 1; }, std::chrono::seconds(10)));
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(190));
    CHECK(timed.error.load() == static_cast<int>(Errc::timed_out));
    CHECK(timed.why() == "proxy handshake timed out");
    // The engine stopping fails the open still pending, once; the
    // cancelled one hears nothing.
    REQUIRE(engine->stop());
    CHECK(stopped.calls.load() == 1);
    CHECK(stopped.error.load() == static_cast<int>(Errc::canceled));
    CHECK(stopped.why() == "engine stopping");
    CHECK(cancelled.calls.load() == 0);
    CHECK(timed.calls.load() == 1);
    quick.reset();
    slow.reset();
    silent.reset();
    CHECK(engine->stats().objects == 0);
    CHECK(engine->stats().pool.chunks_outstanding == 0);
  }
}

TEST_CASE("Session::close of the upstream and direct sessions: one callback, opens fail once",
          "[integration][proxy][close]") {
  auto engine = std::move(*Engine::create());
  auto silent = std::make_unique<TestServer>(*engine, TestServer::Mode::sink);
  REQUIRE(engine->start());
  for (auto kind : {UpstreamProxyOptions::Kind::socks, UpstreamProxyOptions::Kind::http}) {
    UpstreamProxyOptions uo;
    uo.kind = kind;
    uo.server = "127.0.0.1";
    uo.server_port = silent->port();
    check_session_close(*engine, std::make_unique<UpstreamProxySession>(*engine, "up", uo));
  }
  // Direct: a dial to 127.0.0.1 answers at once, so the open may already be
  // over; what matters is the one callback and the later open failing.
  {
    std::atomic<int> closed{0};
    CloseAnswer late;
    auto* d = new DirectSession(*engine, "direct", net::DialOptions{});
    struct Ctx {
      DirectSession* d;
      std::atomic<int>* closed;
    } ctx{d, &closed};
    const int inside = on_loop(*engine, [&] {
      d->close(
          [](void* u) {
            auto* c = static_cast<Ctx*>(u);
            (*c->closed)++;
            delete c->d;
          },
          &ctx);
      return closed.load();
    });
    CHECK(inside == 0);
    REQUIRE(wait_until([&] { return closed.load() == 1; }, std::chrono::seconds(10)));
  }
  REQUIRE(engine->stop());
  silent.reset();
  CHECK(engine->stats().objects == 0);
  CHECK(engine->stats().pool.chunks_outstanding == 0);
}
