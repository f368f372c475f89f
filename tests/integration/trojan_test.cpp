// Trojan end to end on 127.0.0.1, built from JSON configs like `sluice run`:
// app -> socks inbound -> trojan outbound -> TLS -> trojan inbound -> direct
// -> test servers; and probers that are not Trojan clients -> fallback.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "../unit/transport/tls_test_util.hpp"
#include "inbound/instance.hpp"
#include "inbound/trojan_inbound.hpp"
#include "proto/trojan/trojan.hpp"
#include "session/direct_session.hpp"
#include "session/trojan_session.hpp"
#include "session_close_check.hpp"
#include "support.hpp"
#include "tls_support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

struct TrojanRig {
  Pki pki = make_pki("trojan.test");
  std::string cert_path, key_path, ca_path;
  std::unique_ptr<Engine> servers;  // echo + fallback targets
  std::unique_ptr<TestServer> echo;
  std::unique_ptr<TestServer> fallback;  // an "ordinary web server": echoes what it gets
  std::unique_ptr<Side> server;
  std::unique_ptr<Side> client;

  // |client_tls_extra|: more fields of the client's "tls" object (utls);
  // |via|: a port in front of the server (a TcpTap), 0 for none.
  explicit TrojanRig(const std::string& client_password = "correct horse",
                     const std::string& client_tls_extra = "",
                     const std::function<uint16_t(uint16_t)>& via = nullptr) {
    cert_path = write_temp("trojan_test", "cert.pem", pki.leaf.certificate);
    key_path = write_temp("trojan_test", "key.pem", pki.leaf.private_key);
    ca_path = write_temp("trojan_test", "ca.pem", pki.ca.certificate);
    servers = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    fallback = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    REQUIRE(servers->start());
    server = std::make_unique<Side>(
        R"({"log":{"level":"error"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,
            "users":[{"name":"alice","password":"other user"},{"name":"bob","password":"correct horse"}],
            "tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" +
        cert_path + R"(","key_path":")" + key_path + R"("},
            "fallback":{"server":"127.0.0.1","server_port":)" +
        std::to_string(fallback->port()) + R"(}}],
          "outbounds":[{"type":"direct","tag":"direct"}]})");
    client = std::make_unique<Side>(
        R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
          "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
        std::to_string(via ? via(server->port("in")) : server->port("in")) + R"(,"password":")" +
        client_password +
        R"(","tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" + ca_path +
        R"(")" + client_tls_extra + R"(}}]})");
  }
  ~TrojanRig() {
    client.reset();
    server.reset();
    REQUIRE(servers->stop());
    echo.reset();
    fallback.reset();
    servers.reset();
    for (const std::string& p : {cert_path, key_path, ca_path}) std::remove(p.c_str());
  }
  int socks_to(uint16_t port) {
    int fd = tcp_connect(client->port("in"));
    REQUIRE(socks5_connect(fd, "127.0.0.1", port) == 0);
    return fd;
  }
  TrojanInboundStats server_stats() {
    return on_loop(*server->engine,
                   [this] { return server->instance->trojan_inbound("in")->stats(); });
  }
};

// SocksUdp is an application's SOCKS5 UDP ASSOCIATE through the client side.
struct SocksUdp : SocksUdpAssociation {
  using SocksUdpAssociation::send_to;
  using SocksUdpAssociation::SocksUdpAssociation;
  void send_to(uint16_t port, const std::vector<uint8_t>& payload) {
    REQUIRE(SocksUdpAssociation::send_to(port, payload.data(), payload.size()));
  }
};

std::vector<uint8_t> pattern_bytes(size_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  Pattern(seed).fill(v.data(), n);
  return v;
}

// udp_request is a raw Trojan UDP ASSOCIATE header for |password|.
std::string udp_request(const std::string& password) {
  auto t = TargetAddress::from_ipv4({0, 0, 0, 0}, 0);
  std::string h(trojan::request_size(t), '\0');
  REQUIRE(trojan::encode_request(trojan::hash_password(password), trojan::Command::udp_associate, t,
                                 {reinterpret_cast<uint8_t*>(h.data()), h.size()}));
  return h;
}

// udp_frame is one framed packet to 127.0.0.1:|port|.
std::string udp_frame(uint16_t port, const std::string& payload) {
  auto t = TargetAddress::from_ipv4({127, 0, 0, 1}, port);
  std::string f(trojan::udp_header_size(t), '\0');
  REQUIRE(trojan::encode_udp_header(t, payload.size(),
                                    {reinterpret_cast<uint8_t*>(f.data()), f.size()}));
  return f + payload;
}

}  // namespace

TEST_CASE("trojan: 64 MiB through socks -> trojan+tls -> echo, hash-checked",
          "[integration][trojan]") {
  TrojanRig rig;
  int fd = rig.socks_to(rig.echo->port());
  CHECK(echo_transfer(fd, 64u << 20, 21));
  CHECK(wait_eof(fd));
  ::close(fd);
  auto st = rig.server_stats();
  CHECK(st.relayed == 1);
  CHECK(st.fallbacks == 0);
}

TEST_CASE("trojan: 1 byte and many concurrent streams", "[integration][trojan]") {
  TrojanRig rig;
  int fd = rig.socks_to(rig.echo->port());
  CHECK(echo_transfer(fd, 1, 2));
  ::close(fd);
  std::vector<int> fds;
  for (int i = 0; i < 100; ++i) fds.push_back(rig.socks_to(rig.echo->port()));
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string m = "stream " + std::to_string(i);
    REQUIRE(send_all(fds[i], m.data(), m.size()));
  }
  for (int i = 0; i < 100; ++i) {
    const std::string m = "stream " + std::to_string(i);
    std::string b(m.size(), '\0');
    if (recv_exact(fds[i], b.data(), b.size()) && b == m) ++ok;
  }
  CHECK(ok == 100);
  for (int f : fds) ::close(f);
}

TEST_CASE("trojan: half-close in both directions", "[integration][trojan]") {
  TrojanRig rig;
  int fd = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(fd, "abc", 3));
  ::shutdown(fd, SHUT_WR);
  char buf[3];
  REQUIRE(recv_exact(fd, buf, 3));
  CHECK(std::string(buf, 3) == "abc");
  CHECK(wait_eof(fd));
  ::close(fd);
}

TEST_CASE("trojan: a wrong password goes to the fallback, bytes unchanged",
          "[integration][trojan]") {
  TrojanRig rig("wrong password");
  int fd = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(fd, "GET / HTTP/1.1\r\n\r\n", 18));
  // The fallback (an echo server here) received the whole Trojan header
  // with the wrong hash, then the payload, in order: it sends them back.
  auto hash = trojan::hash_password("wrong password");
  auto target = TargetAddress::from_ipv4({127, 0, 0, 1}, rig.echo->port());
  const size_t hlen = trojan::request_size(target);
  std::string got(hlen + 18, '\0');
  REQUIRE(recv_exact(fd, got.data(), got.size()));
  CHECK(got.substr(0, 56) == std::string(hash.begin(), hash.end()));
  CHECK(got.substr(hlen) == "GET / HTTP/1.1\r\n\r\n");
  ::close(fd);
  auto st = rig.server_stats();
  CHECK(st.auth_failures == 1);
  CHECK(st.fallbacks == 1);
  CHECK(st.relayed == 0);
  CHECK(rig.echo->received == 0);
}

TEST_CASE("trojan: a TLS prober sending HTTP sees the fallback web server",
          "[integration][trojan]") {
  TrojanRig rig;
  check_tls_prober_echoed(rig.pki.ca.certificate, "trojan.test", rig.server->port("in"));
  auto st = rig.server_stats();
  CHECK(st.fallbacks == 1);
}

TEST_CASE("trojan: an untrusted server certificate fails the open with the reason",
          "[integration][trojan]") {
  TrojanRig rig;
  Pki other = make_pki("trojan.test");
  const std::string other_ca = write_temp("trojan_test", "other_ca.pem", other.ca.certificate);
  Side client(
      R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
      "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
      std::to_string(rig.server->port("in")) +
      R"(,"password":"correct horse","tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" +
      other_ca + R"("}}]})");
  int fd = tcp_connect(client.port("in"));
  CHECK(socks5_connect(fd, "127.0.0.1", rig.echo->port()) != 0);
  ::close(fd);
  std::remove(other_ca.c_str());
}

constexpr const char* kUtls = R"(,"utls":{"enabled":true,"fingerprint":"chrome"})";

TEST_CASE("trojan utls: 1 B to 64 MiB through the engine client -> BoringSSL server, hash-checked",
          "[integration][trojan][utls]") {
  std::unique_ptr<TcpTap> tap;
  TrojanRig rig("correct horse", kUtls, [&](uint16_t port) {
    tap = std::make_unique<TcpTap>(port);
    return tap->port();
  });
  uint64_t seed = 70;
  for (size_t n : {size_t{1}, size_t{16385}, size_t{1} << 20, size_t{64} << 20}) {
    INFO("bytes " << n);
    int fd = rig.socks_to(rig.echo->port());
    CHECK(echo_transfer(fd, n, seed++));
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  auto st = rig.server_stats();
  CHECK(st.relayed == 4);
  CHECK(st.fallbacks == 0);
  // The engine's Chrome ClientHello went out: its first record carries the
  // 1216-byte X25519MLKEM768 share BoringSSL's client cannot send.
  auto sent = tap->client_bytes();
  REQUIRE(sent.size() == 4);
  for (const std::string& s : sent) {
    REQUIRE(s.size() > 5);
    const size_t first_record = (size_t{uint8_t(s[3])} << 8) | uint8_t(s[4]);
    CHECK(first_record > 1216);
  }
}

TEST_CASE("trojan utls: half-close in both directions", "[integration][trojan][utls]") {
  TrojanRig rig("correct horse", kUtls);
  int fd = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(fd, "ping", 4));
  ::shutdown(fd, SHUT_WR);
  char buf[4];
  REQUIRE(recv_exact(fd, buf, 4));
  CHECK(std::string(buf, 4) == "ping");
  CHECK(wait_eof(fd));
  ::close(fd);
}

TEST_CASE("trojan utls: an untrusted server certificate fails the open",
          "[integration][trojan][utls]") {
  TrojanRig rig;
  Pki other = make_pki("trojan.test");
  const std::string other_ca = write_temp("trojan_test", "other_ca.pem", other.ca.certificate);
  Side client(
      R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
      "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
      std::to_string(rig.server->port("in")) +
      R"(,"password":"correct horse","tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" +
      other_ca + R"(")" + kUtls + R"(}}]})");
  int fd = tcp_connect(client.port("in"));
  CHECK(socks5_connect(fd, "127.0.0.1", rig.echo->port()) != 0);
  ::close(fd);
  std::remove(other_ca.c_str());
}

TEST_CASE("trojan UDP: datagrams of every size through socks -> trojan+tls -> UDP echo",
          "[integration][trojan][udp]") {
  TrojanRig rig;
  UdpEcho echo;
  SocksUdp app(rig.client->port("in"));
  // 1 byte up to the largest payload a SOCKS5 datagram over IPv4 can carry
  // (65507 - 10), one at a time.
  const std::vector<size_t> sizes = {1, 2, 100, 1400, 2048, 2100, 8192, 16384, 16385, 40000, 65497};
  for (size_t i = 0; i < sizes.size(); ++i) {
    INFO("payload of " << sizes[i] << " bytes");
    CHECK(app.round_trip(echo.port, pattern_bytes(sizes[i], i)));
  }
  // A burst in flight at once comes back whole and in order (one TLS
  // stream each way; loopback UDP does not reorder).
  for (int i = 0; i < 32; ++i) app.send_to(echo.port, pattern_bytes(1000, 100 + i));
  int in_order = 0;
  std::vector<uint8_t> back;
  for (int i = 0; i < 32 && app.receive(echo.port, &back); ++i)
    if (back == pattern_bytes(1000, 100 + i)) ++in_order;
  CHECK(in_order == 32);
  auto st = rig.server_stats();
  CHECK(st.udp_associations == 1);
  CHECK(st.udp_malformed == 0);
  CHECK(st.fallbacks == 0);
}

TEST_CASE("trojan UDP: concurrent associations stay apart", "[integration][trojan][udp]") {
  TrojanRig rig;
  UdpEcho echo;
  std::vector<std::unique_ptr<SocksUdp>> apps;
  for (int i = 0; i < 8; ++i) apps.push_back(std::make_unique<SocksUdp>(rig.client->port("in")));
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 8; ++i) {
      INFO("association " << i << " round " << round);
      CHECK(apps[static_cast<size_t>(i)]->round_trip(echo.port,
                                                     pattern_bytes(64 + i, 1000 * round + i)));
    }
  CHECK(rig.server_stats().udp_associations == 8);
  // TCP through the same client and server is untouched.
  int fd = rig.socks_to(rig.echo->port());
  CHECK(echo_transfer(fd, 1u << 20, 5));
  ::close(fd);
}

TEST_CASE("trojan UDP: a malformed frame closes that connection only",
          "[integration][trojan][udp]") {
  TrojanRig rig;
  UdpEcho echo;
  SocksUdp app(rig.client->port("in"));
  REQUIRE(app.round_trip(echo.port, pattern_bytes(500, 1)));

  // A raw TLS client: plain socket -> TlsForwarder -> the Trojan server.
  TlsClientOptions co = client_options(rig.pki.ca.certificate, "trojan.test");
  auto eng = std::move(*Engine::create());
  auto fwd = std::make_unique<TlsForwarder>(*eng, client_ctx(co), rig.server->port("in"));
  REQUIRE(eng->start());

  const std::string good = udp_frame(echo.port, "well formed");
  std::string bad;
  bool eof_after_bad = false;  // the bad bytes are a prefix: end the stream after them
  Errc expect_error = Errc::ok;
  SECTION("unknown address type") {
    bad = good;
    bad[0] = 0x05;
    expect_error = Errc::unsupported_address_type;
  }
  SECTION("CRLF missing after the length") {
    bad = good;
    bad[9] = 'x';
    expect_error = Errc::malformed;
  }
  SECTION("empty domain name") {
    bad = std::string("\x03\x00\x00\x35\x00\x01\r\nz", 9);
    expect_error = Errc::malformed;
  }
  SECTION("truncated: the stream ends inside a frame") {
    bad = good.substr(0, good.size() - 3);
    eof_after_bad = true;
    expect_error = Errc::truncated;
  }
  INFO("expected failure: " << errc_message(expect_error));
  int fd = tcp_connect(fwd->port());
  const std::string first = udp_request("correct horse") + good;
  REQUIRE(send_all(fd, first.data(), first.size()));
  // The valid frame is answered, framed with the echo server as source.
  std::string reply(good.size(), '\0');
  REQUIRE(recv_exact(fd, reply.data(), reply.size()));
  CHECK(reply == good);
  REQUIRE(send_all(fd, bad.data(), bad.size()));
  if (eof_after_bad) ::shutdown(fd, SHUT_WR);
  CHECK(wait_eof(fd));
  ::close(fd);
  REQUIRE(eng->stop());
  fwd.reset();
  eng.reset();

  auto st = rig.server_stats();
  CHECK(st.udp_malformed == 1);
  CHECK(st.udp_associations == 2);
  CHECK(st.fallbacks == 0);
  // The other association and the server are still fine.
  CHECK(app.round_trip(echo.port, pattern_bytes(700, 2)));
  int tfd = rig.socks_to(rig.echo->port());
  CHECK(echo_transfer(tfd, 64 * 1024, 6));
  ::close(tfd);
}

TEST_CASE("trojan UDP: a wrong password on UDP ASSOCIATE goes to the fallback",
          "[integration][trojan][udp]") {
  TrojanRig rig("wrong password");
  UdpEcho echo;
  SocksUdp app(rig.client->port("in"));
  // The fallback (an echo server) sends the header and frame back; the
  // client cannot take "hash CRLF ..." for a UDP frame (a hex digit is no
  // address type), fails the flow, and the SOCKS5 association ends with it.
  app.send_to(echo.port, pattern_bytes(100, 3));
  CHECK(wait_eof(app.ctl));
  CHECK(echo.received == 0);
  auto st = rig.server_stats();
  CHECK(st.auth_failures == 1);
  CHECK(st.fallbacks == 1);
  CHECK(st.udp_associations == 0);
}

TEST_CASE("trojan UDP: an idle association is closed after the UDP timeout",
          "[integration][trojan][udp]") {
  // Built by hand (not from JSON) to set a short udp_timeout_ms.
  Pki pki = make_pki("trojan.test");
  UdpEcho echo;
  auto eng = std::move(*Engine::create());
  DirectSession direct(*eng, "direct", net::DialOptions{});
  FinalRouter router(&direct);
  TrojanInboundConfig cfg;
  cfg.tag = "in";
  cfg.users.push_back(TrojanUser{"alice", "idle password"});
  cfg.tls = server_options(pki.leaf);
  cfg.udp_timeout_ms = 300;
  std::string why;
  auto in = TrojanInbound::create(*eng, cfg, &router, &why);
  INFO(why);
  REQUIRE(in);
  auto fwd = std::make_unique<TlsForwarder>(
      *eng, client_ctx(client_options(pki.ca.certificate, "trojan.test")), (*in)->port());
  REQUIRE(eng->start());

  int fd = tcp_connect(fwd->port());
  const std::string frame = udp_frame(echo.port, "before the timeout");
  const std::string first = udp_request("idle password") + frame;
  REQUIRE(send_all(fd, first.data(), first.size()));
  std::string reply(frame.size(), '\0');
  REQUIRE(recv_exact(fd, reply.data(), reply.size()));
  CHECK(reply == frame);
  // Nothing moves any more: the server ends the association by itself.
  CHECK(wait_eof(fd, 10000));
  ::close(fd);
  const TrojanInboundStats st = on_loop(*eng, [&] { return (*in)->stats(); });
  CHECK(st.udp_associations == 1);
  CHECK(st.udp_malformed == 0);
  REQUIRE(eng->stop());
  fwd.reset();
  in->reset();
  CHECK(eng->stats().objects == 0);
}

namespace {

struct CountingHandler final : DatagramHandler {
  std::atomic<int> datagrams{0};
  std::atomic<int> errors{0};
  std::atomic<int> last_error{0};
  void on_datagram(const Endpoint&, Slice&&) override { datagrams++; }
  void on_error(Errc e) override {
    errors++;
    last_error = static_cast<int>(e);
  }
};

Slice payload_of(Engine& e, size_t n) {
  auto s = e.pool().get(n);
  if (!s) std::abort();
  s->append(n);
  return std::move(*s);
}

bool wait_for(const std::function<bool()>& done, int timeout_ms = 10000) {
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

}  // namespace

TEST_CASE("trojan UDP client flow: bounded queue while connecting, limits, failures",
          "[integration][trojan][udp]") {
  Pki pki = make_pki("trojan.test");
  auto eng = std::move(*Engine::create());
  // A server that accepts and never answers: the TLS handshake stays pending.
  auto silent = std::make_unique<TestServer>(*eng, TestServer::Mode::sink);
  TrojanSessionOptions o;
  o.server = "127.0.0.1";
  o.server_port = silent->port();
  o.password = "p";
  std::string why;
  auto session =
      TrojanSession::create(*eng, "t", o, client_options(pki.ca.certificate, "trojan.test"), &why);
  INFO(why);
  REQUIRE(session);
  // The same towards a port nobody listens on.
  TrojanSessionOptions refused = o;
  refused.server_port = 0;
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    refused.server_port = ntohs(a.sin_port);
    ::close(fd);  // bound, never listening, now closed: connections are refused
  }
  auto session2 = TrojanSession::create(*eng, "t2", refused,
                                        client_options(pki.ca.certificate, "trojan.test"), &why);
  REQUIRE(session2);
  REQUIRE(eng->start());

  CountingHandler h, h2;
  std::unique_ptr<DatagramFlow> flow, flow2;
  struct Out {
    bool created = false;
    int errors_at_return = -1;
    Errc too_big = Errc::ok, no_port = Errc::ok;
    DatagramFlowStats st;
  };
  const Out out = on_loop(*eng, [&] {
    Out r;
    auto f = (*session)->open_datagram(&h);
    auto f2 = (*session2)->open_datagram(&h2);
    if (!f || !f2) return r;
    r.created = true;
    flow = std::move(*f);
    flow2 = std::move(*f2);
    r.errors_at_return = h2.errors;
    for (int i = 0; i < 400; ++i)
      (void)flow->send(Endpoint{"127.0.0.1", 9}, payload_of(*eng, 1000));
    r.too_big = flow->send(Endpoint{"127.0.0.1", 9}, payload_of(*eng, 65536)).error();
    r.no_port = flow->send(Endpoint{"127.0.0.1", 0}, payload_of(*eng, 10)).error();
    r.st = flow->stats();
    return r;
  });
  REQUIRE(out.created);
  CHECK(out.errors_at_return == 0);  // never called back inside open_datagram
  // 1000 bytes + 11 of framing each, 256 KiB of queue while connecting.
  const uint64_t fit = kTrojanUdpConnectQueue / 1011;
  CHECK(out.st.sent == fit);
  CHECK(out.st.dropped == 400 - fit + 2);
  CHECK(out.too_big == Errc::frame_too_large);
  CHECK(out.no_port == Errc::invalid_argument);

  // The refused dial fails its flow exactly once, from the loop.
  CHECK(wait_for([&] { return h2.errors.load() == 1; }));
  CHECK(h2.last_error == static_cast<int>(Errc::connection_refused));
  CHECK(on_loop(*eng, [&] {
          return flow2->send(Endpoint{"127.0.0.1", 9}, payload_of(*eng, 10)).error();
        }) == Errc::connection_refused);

  // Closing: exactly one callback each, no error reported for the close.
  std::atomic<int> closed{0};
  on_loop(*eng, [&] {
    for (DatagramFlow* f : {flow.release(), flow2.release()})
      f->close(
          [](void* u) {
            auto* c = static_cast<std::pair<DatagramFlow*, std::atomic<int>*>*>(u);
            (*c->second)++;
            delete c->first;
            delete c;
          },
          new std::pair<DatagramFlow*, std::atomic<int>*>(f, &closed));
  });
  CHECK(wait_for([&] { return closed.load() == 2; }));
  CHECK(h.errors == 0);
  CHECK(h2.errors == 1);
  REQUIRE(eng->stop());
  silent.reset();
  session->reset();
  session2->reset();
  CHECK(eng->stats().objects == 0);
  CHECK(eng->stats().pool.chunks_outstanding == 0);
}

TEST_CASE("Session::close of a trojan session with a TLS handshake pending",
          "[integration][trojan][close]") {
  Pki pki = make_pki("trojan.test");
  auto eng = std::move(*Engine::create());
  auto silent = std::make_unique<TestServer>(*eng, TestServer::Mode::sink);
  TrojanSessionOptions o;
  o.server = "127.0.0.1";
  o.server_port = silent->port();
  o.password = "p";
  std::string why;
  auto s =
      TrojanSession::create(*eng, "t", o, client_options(pki.ca.certificate, "trojan.test"), &why);
  INFO(why);
  REQUIRE(s);
  REQUIRE(eng->start());
  check_session_close(*eng, std::unique_ptr<Session>(s->release()));
  REQUIRE(eng->stop());
  silent.reset();
  CHECK(eng->stats().objects == 0);
  CHECK(eng->stats().pool.chunks_outstanding == 0);
}
