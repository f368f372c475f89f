// VLESS end to end on 127.0.0.1, built from JSON configs like `sluice run`:
// app -> socks inbound -> vless outbound -> TLS (or TCP) -> vless inbound ->
// direct -> test servers (TCP echo, UDP echo); raw clients sending malformed
// or foreign requests -> specific errors or the fallback.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "../unit/transport/tls_test_util.hpp"
#include "inbound/instance.hpp"
#include "proto/vless/header.hpp"
#include "proto/vless/user_id.hpp"
#include "session/direct_session.hpp"
#include "session/vless_session.hpp"
#include "session_close_check.hpp"
#include "support.hpp"
#include "tls_support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

constexpr const char* kAlice = "bf000d23-0752-40b4-affe-68f7707a9661";
constexpr const char* kBob = "test";  // a name: UUIDv5 e8b764da-5fe5-51ed-8af8-c5c6eca28d7a

struct VlessRig {
  Pki pki = make_pki("vless.test");
  std::string cert_path, key_path, ca_path;
  std::unique_ptr<Engine> servers;  // echo + fallback targets
  std::unique_ptr<TestServer> echo;
  std::unique_ptr<TestServer> fallback;      // an "ordinary web server": echoes what it gets
  std::unique_ptr<TlsEchoServer> inner_tls;  // a TLS server behind the tunnel (Vision tests)
  std::unique_ptr<Side> server;
  std::unique_ptr<Side> client;

  // |tls|: TLS on both sides, else security "none".
  // |packet_encoding|: the client's field verbatim ("" leaves it out).
  // |client_tls_extra|: more fields of the client's "tls" object (utls).
  explicit VlessRig(bool tls = true, const std::string& client_uuid = kAlice,
                    const std::string& packet_encoding = "", const std::string& flow = "",
                    const std::string& client_tls_extra = "") {
    cert_path = write_temp("vless_test", "cert.pem", pki.leaf.certificate);
    key_path = write_temp("vless_test", "key.pem", pki.leaf.private_key);
    ca_path = write_temp("vless_test", "ca.pem", pki.ca.certificate);
    servers = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    fallback = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    REQUIRE(servers->start());
    const std::string server_tls =
        tls ? R"(,"tls":{"enabled":true,"server_name":"vless.test","certificate_path":")" +
                  cert_path + R"(","key_path":")" + key_path + R"("})"
            : "";
    server = std::make_unique<Side>(
        R"({"log":{"level":"error"},"inbounds":[{"type":"vless","tag":"in","listen":"127.0.0.1","listen_port":0,
            "users":[{"name":"alice","uuid":")" +
        std::string(kAlice) + R"("},{"name":"bob","uuid":")" + kBob +
        R"(","flow":"xtls-rprx-vision"}])" + server_tls +
        R"(,"fallback":{"server":"127.0.0.1","server_port":)" + std::to_string(fallback->port()) +
        R"(}}],"outbounds":[{"type":"direct","tag":"direct"}]})");
    const std::string client_tls =
        tls ? R"(,"tls":{"enabled":true,"server_name":"vless.test","certificate_path":")" +
                  ca_path + R"(")" + client_tls_extra + "}"
            : "";
    client = std::make_unique<Side>(
        R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
          "outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
        std::to_string(server->port("in")) + R"(,"uuid":")" + client_uuid + R"(")" +
        (packet_encoding.empty() ? "" : R"(,"packet_encoding":)" + packet_encoding) +
        (flow.empty() ? "" : R"(,"flow":")" + flow + R"(")") + client_tls + R"(}]})");
  }
  ~VlessRig() {
    client.reset();
    server.reset();
    REQUIRE(servers->stop());
    echo.reset();
    fallback.reset();
    inner_tls.reset();
    servers.reset();
    for (const std::string& p : {cert_path, key_path, ca_path}) std::remove(p.c_str());
  }
  // start_inner_tls starts |inner_tls| (on the servers' loop) with |o|.
  uint16_t start_inner_tls(const TlsServerOptions& o) {
    auto ctx = test::server_ctx(o);
    on_loop(*servers, [&] { inner_tls = std::make_unique<TlsEchoServer>(*servers, ctx); });
    return inner_tls->port();
  }
  int socks_to(uint16_t port) {
    int fd = tcp_connect(client->port("in"));
    REQUIRE(socks5_connect(fd, "127.0.0.1", port) == 0);
    return fd;
  }
  VisionCounters vision() {
    return on_loop(*server->engine,
                   [this] { return server->instance->vless_inbound("in")->vision(); });
  }
  VlessInboundStats server_stats() {
    return on_loop(*server->engine,
                   [this] { return server->instance->vless_inbound("in")->stats(); });
  }
};

std::vector<uint8_t> request_bytes(const std::string& uuid, vless::Flow flow, vless::Command cmd,
                                   uint16_t port) {
  vless::Request r;
  r.user = *vless::parse_user_id(uuid);
  r.addons = vless::Addons::with_flow(flow);
  r.command = cmd;
  r.target = TargetAddress::from_ipv4({127, 0, 0, 1}, port);
  std::vector<uint8_t> out(vless::request_size(r));
  REQUIRE(vless::encode_request(r, out));
  return out;
}

}  // namespace

TEST_CASE("vless: 32 MiB through socks -> vless+tls -> echo, hash-checked",
          "[integration][vless]") {
  VlessRig rig;
  int fd = rig.socks_to(rig.echo->port());
  CHECK(echo_transfer(fd, 32u << 20, 5));
  CHECK(wait_eof(fd));
  ::close(fd);
  auto st = rig.server_stats();
  CHECK(st.relayed == 1);
  CHECK(st.fallbacks == 0);
  CHECK(st.last_error == Errc::ok);
}

TEST_CASE("vless: security none, 1 byte, half-close and many concurrent streams",
          "[integration][vless]") {
  VlessRig rig(false);
  int fd = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(fd, "abc", 3));
  ::shutdown(fd, SHUT_WR);
  char buf[3];
  REQUIRE(recv_exact(fd, buf, 3));
  CHECK(std::string(buf, 3) == "abc");
  CHECK(wait_eof(fd));
  ::close(fd);
  std::vector<int> fds;
  for (int i = 0; i < 50; ++i) fds.push_back(rig.socks_to(rig.echo->port()));
  for (int i = 0; i < 50; ++i) {
    const std::string m = "stream " + std::to_string(i);
    REQUIRE(send_all(fds[i], m.data(), m.size()));
  }
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string m = "stream " + std::to_string(i);
    std::string b(m.size(), '\0');
    if (recv_exact(fds[i], b.data(), b.size()) && b == m) ++ok;
  }
  CHECK(ok == 50);
  for (int f : fds) ::close(f);
  CHECK(rig.server_stats().relayed == 51);
}

TEST_CASE("vless: a target that sends nothing still gets the response header out",
          "[integration][vless]") {
  // The greeter-less case: the client half-closes, the echo server ends
  // without a byte; the client must see a clean end-of-stream.
  VlessRig rig;
  int fd = rig.socks_to(rig.echo->port());
  ::shutdown(fd, SHUT_WR);
  CHECK(wait_eof(fd));
  ::close(fd);
}

TEST_CASE("vless: UDP (command 0x02) round trips over TLS, several sizes and targets",
          "[integration][vless][udp]") {
  VlessRig rig(true, kAlice, R"("")");
  UdpEcho echo1, echo2;
  SocksUdpAssociation s(rig.client->port("in"));
  for (int i = 0; i < 30; ++i) {
    const std::string p =
        "datagram #" + std::to_string(i) + std::string(static_cast<size_t>(i) * 300, 'x');
    CHECK(s.round_trip(i % 2 ? echo1.port : echo2.port, p));
  }
  const std::string big(60000, 'B');
  CHECK(s.round_trip(echo1.port, big));
  auto st = rig.server_stats();
  CHECK(st.udp == 2);  // one VLESS connection per destination
  CHECK(st.xudp == 0);
  CHECK(st.relayed == 0);
}

TEST_CASE("vless: UDP as XUDP (the default) over one connection, several targets",
          "[integration][vless][udp]") {
  VlessRig rig;  // packet_encoding absent: xudp
  UdpEcho echo1, echo2, echo3;
  SocksUdpAssociation s(rig.client->port("in"));
  for (int i = 0; i < 30; ++i) {
    const uint16_t port = i % 3 == 0 ? echo1.port : i % 3 == 1 ? echo2.port : echo3.port;
    const std::string p =
        "xudp #" + std::to_string(i) + std::string(static_cast<size_t>(i) * 250, 'y');
    CHECK(s.round_trip(port, p));  // the reply names its own source port
  }
  const std::string big(60000, 'X');
  CHECK(s.round_trip(echo2.port, big));
  auto st = rig.server_stats();
  CHECK(st.xudp == 1);  // one Mux connection for every destination
  CHECK(st.udp == 0);
  CHECK(st.malformed == 0);
}

TEST_CASE("vless: a wrong uuid goes to the fallback, bytes unchanged", "[integration][vless]") {
  const std::string wrong = "00000000-0000-0000-0000-000000000001";
  VlessRig rig(true, wrong);
  int fd = rig.socks_to(rig.echo->port());
  const std::string payload = "GET / HTTP/1.1\r\n\r\n";
  REQUIRE(send_all(fd, payload.data(), payload.size()));
  // The fallback (an echo server) received the whole VLESS header with the
  // wrong id, then the payload, in order, and sends them back. The client
  // takes the echoed version byte (00) and the id's first byte (00) for a
  // response header with no addons, and delivers the rest.
  auto hdr = request_bytes(wrong, vless::Flow::none, vless::Command::tcp, rig.echo->port());
  std::string want(hdr.begin() + 2, hdr.end());
  want += payload;
  std::string got(want.size(), '\0');
  REQUIRE(recv_exact(fd, got.data(), got.size()));
  CHECK(got == want);
  ::close(fd);
  auto st = rig.server_stats();
  CHECK(st.auth_failures == 1);
  CHECK(st.fallbacks == 1);
  CHECK(st.relayed == 0);
  CHECK(rig.echo->received == 0);
}

TEST_CASE("vless: a TLS prober sending HTTP sees the fallback web server", "[integration][vless]") {
  VlessRig rig;
  check_tls_prober_echoed(rig.pki.ca.certificate, "vless.test", rig.server->port("in"));
  auto st = rig.server_stats();
  CHECK(st.fallbacks == 1);
  CHECK(st.last_error == Errc::unsupported_version);
}

TEST_CASE("vless: raw requests with an unknown user reach the fallback unchanged",
          "[integration][vless]") {
  VlessRig rig(false);
  auto req = request_bytes("00000000-0000-0000-0000-0000000000ff", vless::Flow::none,
                           vless::Command::tcp, rig.echo->port());
  const std::string payload = "hello fallback";
  req.insert(req.end(), payload.begin(), payload.end());
  int fd = tcp_connect(rig.server->port("in"));
  REQUIRE(send_all(fd, req.data(), req.size()));
  std::vector<uint8_t> back(req.size());
  REQUIRE(recv_exact(fd, back.data(), back.size()));
  CHECK(back == req);
  ::close(fd);
  auto st = rig.server_stats();
  CHECK(st.auth_failures == 1);
  CHECK(st.last_error == Errc::auth_failed);
  CHECK(rig.echo->received == 0);
}

TEST_CASE("vless: malformed headers and wrong flows are refused, others untouched",
          "[integration][vless]") {
  VlessRig rig(false);
  // A healthy connection that must survive everything below.
  int good = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(good, "before", 6));
  char b6[6];
  REQUIRE(recv_exact(good, b6, 6));

  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    Errc error;
    const char* reason;
  };
  const uint16_t ep = rig.echo->port();
  std::vector<Case> cases;
  {
    auto r = request_bytes(kAlice, vless::Flow::none, vless::Command::tcp, ep);
    r[18] = 0x07;  // command
    cases.push_back({"unknown command", r, Errc::unknown_command, "unknown command"});
  }
  {
    auto r = request_bytes(kAlice, vless::Flow::none, vless::Command::tcp, ep);
    r[21] = 0x09;  // address type
    cases.push_back(
        {"bad address type", r, Errc::unsupported_address_type, "unknown address type"});
  }
  {
    auto r = request_bytes(kAlice, vless::Flow::none, vless::Command::tcp, ep);
    r[17] = 3;  // addons length 3: 07 ff ff is no protobuf
    const uint8_t junk[] = {0x07, 0xff, 0xff};
    r.insert(r.begin() + 18, junk, junk + 3);
    cases.push_back({"bad addons", r, Errc::malformed, "malformed addons or address"});
  }
  cases.push_back({"vision flow for a flow-less user",
                   request_bytes(kAlice, vless::Flow::vision, vless::Command::tcp, ep),
                   Errc::protocol_violation, "flow not allowed for this user"});
  cases.push_back({"flow-less TCP for a Vision user",
                   request_bytes(kBob, vless::Flow::none, vless::Command::tcp, ep),
                   Errc::protocol_violation, "flow-less request for a Vision user"});
  {
    // Mux (no address: version, id, A=0, command 3), then an XUDP frame on
    // session 1: `000c 0001 01 01 02 0035 01 08080808 0003 616263`.
    auto r = request_bytes(kAlice, vless::Flow::none, vless::Command::tcp, ep);
    r.resize(19);
    r[18] = 0x03;
    const uint8_t frame[] = {0x00, 0x0c, 0x00, 0x01, 0x01, 0x01, 0x02, 0x00, 0x35, 0x01,
                             0x08, 0x08, 0x08, 0x08, 0x00, 0x03, 'a',  'b',  'c'};
    r.insert(r.end(), frame, frame + sizeof frame);
    cases.push_back({"xudp session 1", r, Errc::protocol_violation, "bad XUDP frame sequence"});
  }
  {
    // Mux, then a frame whose metadata length is over Xray's 512.
    auto r = request_bytes(kAlice, vless::Flow::none, vless::Command::tcp, ep);
    r.resize(19);
    r[18] = 0x03;
    const uint8_t frame[] = {0x02, 0x01, 0x00, 0x00, 0x01, 0x01};
    r.insert(r.end(), frame, frame + sizeof frame);
    cases.push_back({"xudp metadata too long", r, Errc::frame_too_large, "malformed XUDP frame"});
  }
  {
    auto r = request_bytes(kAlice, vless::Flow::none, vless::Command::tcp, ep);
    r.resize(19);
    r[18] = 0x04;
    cases.push_back({"reverse proxy", r, Errc::not_supported, "reverse proxy is not supported"});
  }
  {
    // An unknown flow string in otherwise valid addons.
    auto r = request_bytes(kAlice, vless::Flow::none, vless::Command::tcp, ep);
    const uint8_t addons[] = {0x0a, 0x03, 'x', 'y', 'z'};
    r[17] = sizeof addons;
    r.insert(r.begin() + 18, addons, addons + sizeof addons);
    cases.push_back({"unknown flow", r, Errc::protocol_violation, "unknown flow"});
  }
  uint64_t refused = 0;
  for (const Case& c : cases) {
    INFO(c.name);
    int fd = tcp_connect(rig.server->port("in"));
    REQUIRE(send_all(fd, c.bytes.data(), c.bytes.size()));
    CHECK(wait_eof(fd));  // closed, nothing sent back
    ::close(fd);
    auto st = rig.server_stats();
    CHECK(st.last_error == c.error);
    CHECK(std::string(st.last_reason) == c.reason);
    CHECK(st.malformed + st.rejected == ++refused);
  }
  // A header cut short by end-of-stream: truncated.
  {
    auto r = request_bytes(kAlice, vless::Flow::none, vless::Command::tcp, ep);
    int fd = tcp_connect(rig.server->port("in"));
    REQUIRE(send_all(fd, r.data(), r.size() - 2));
    ::shutdown(fd, SHUT_WR);
    CHECK(wait_eof(fd));
    ::close(fd);
    auto st = rig.server_stats();
    CHECK(st.last_error == Errc::truncated);
  }
  auto st = rig.server_stats();
  CHECK(st.fallbacks == 0);
  CHECK(st.relayed == 1);  // the good one
  REQUIRE(send_all(good, "after!", 6));
  REQUIRE(recv_exact(good, b6, 6));
  CHECK(std::string(b6, 6) == "after!");
  ::close(good);
}

TEST_CASE("vless: a stalled header hits the deadline", "[integration][vless]") {
  auto eng = std::move(*Engine::create());
  DirectSession direct(*eng, "direct", net::DialOptions{});
  FinalRouter router(&direct);
  VlessInboundConfig c;
  c.tag = "in";
  c.users.push_back({"alice", *vless::parse_user_id(kAlice), vless::Flow::none});
  c.header_timeout_ms = 200;
  std::string why;
  auto in = VlessInbound::create(*eng, c, &router, &why);
  INFO(why);
  REQUIRE(in);
  REQUIRE(eng->start());
  const uint16_t port = on_loop(*eng, [&] { return (*in)->port(); });
  auto r = request_bytes(kAlice, vless::Flow::none, vless::Command::tcp, 9);
  int fd = tcp_connect(port);
  REQUIRE(send_all(fd, r.data(), 20));  // version, id, A, command, half a port
  CHECK(wait_eof(fd));
  ::close(fd);
  auto st = on_loop(*eng, [&] { return (*in)->stats(); });
  CHECK(st.timeouts == 1);
  CHECK(st.last_error == Errc::timed_out);
  REQUIRE(eng->stop());
  in->reset();
}

TEST_CASE("vless: a bad response header fails the client stream", "[integration][vless]") {
  // A fake "server" that reads the request and answers version 1.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(lfd, 4) == 0);
  socklen_t l = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &l);
  std::thread fake([lfd] {
    int c = ::accept(lfd, nullptr, nullptr);
    if (c < 0) return;
    char buf[256];
    (void)::recv(c, buf, sizeof buf, 0);
    const char reply[] = {1, 0, 'x'};
    (void)::send(c, reply, 3, 0);
    char tmp;
    (void)::recv(c, &tmp, 1, 0);  // until the client closes
    ::close(c);
  });
  {
    Side client(
        R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
        "outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
        std::to_string(ntohs(a.sin_port)) + R"(,"uuid":")" + kAlice + R"("}]})");
    int fd = tcp_connect(client.port("in"));
    REQUIRE(socks5_connect(fd, "127.0.0.1", 9) == 0);
    REQUIRE(send_all(fd, "hi", 2));
    CHECK(wait_eof(fd));  // no byte of the bad reply arrives
    ::close(fd);
  }
  fake.join();
  ::close(lfd);
}

TEST_CASE("vless: an untrusted server certificate fails the open", "[integration][vless]") {
  VlessRig rig;
  Pki other = make_pki("vless.test");
  const std::string other_ca = write_temp("vless_test", "other_ca.pem", other.ca.certificate);
  Side client(
      R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
      "outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
      std::to_string(rig.server->port("in")) + R"(,"uuid":")" + kAlice +
      R"(","tls":{"enabled":true,"server_name":"vless.test","certificate_path":")" + other_ca +
      R"("}}]})");
  int fd = tcp_connect(client.port("in"));
  CHECK(socks5_connect(fd, "127.0.0.1", rig.echo->port()) != 0);
  ::close(fd);
  std::remove(other_ca.c_str());
}

namespace {

// tls_echo_through runs a BoringSSL client (TLS 1.3, or at most TLS 1.2)
// on |fd| against a TLS echo server and moves |total| pattern bytes in
// 64 KiB ping-pongs; true if every byte came back in order.
bool tls_echo_through(int fd, size_t total, uint64_t seed, bool tls12) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "vless.test");
  if (SSL_connect(ssl.get()) != 1) return false;
  if (SSL_version(ssl.get()) != (tls12 ? TLS1_2_VERSION : TLS1_3_VERSION)) return false;
  // A small request first, as an HTTPS client would send.
  const char req[] = "GET / HTTP/1.1\r\nHost: vless.test\r\n\r\n";
  char resp[sizeof req - 1];
  if (SSL_write(ssl.get(), req, sizeof req - 1) != sizeof req - 1) return false;
  for (size_t got_n = 0; got_n < sizeof resp;) {
    const int r = SSL_read(ssl.get(), resp + got_n, static_cast<int>(sizeof resp - got_n));
    if (r <= 0) return false;
    got_n += static_cast<size_t>(r);
  }
  if (std::memcmp(req, resp, sizeof resp) != 0) return false;
  Pattern out(seed), expect(seed);
  std::vector<uint8_t> buf(64 * 1024), got(64 * 1024), want(64 * 1024);
  for (size_t done = 0; done < total;) {
    const size_t n = std::min(buf.size(), total - done);
    out.fill(buf.data(), n);
    if (SSL_write(ssl.get(), buf.data(), static_cast<int>(n)) != static_cast<int>(n)) return false;
    size_t back = 0;
    while (back < n) {
      const int r = SSL_read(ssl.get(), got.data() + back, static_cast<int>(n - back));
      if (r <= 0) return false;
      back += static_cast<size_t>(r);
    }
    expect.fill(want.data(), n);
    if (std::memcmp(got.data(), want.data(), n) != 0) return false;
    done += n;
  }
  SSL_shutdown(ssl.get());
  return true;
}

}  // namespace

TEST_CASE("vless vision: inner TLS 1.3 switches to direct copy both ways, hash-checked",
          "[integration][vless][vision]") {
  VlessRig rig(true, kBob, "", "xtls-rprx-vision");
  const uint16_t inner_port = rig.start_inner_tls(server_options(rig.pki.leaf));
  for (int i = 0; i < 2; ++i) {
    int fd = rig.socks_to(inner_port);
    CHECK(tls_echo_through(fd, 8u << 20, 40 + i, false));
    ::close(fd);
  }
  const VisionCounters v = rig.vision();
  CHECK(v.streams == 2);
  CHECK(v.direct_read == 2);   // the client's uplink switched (it sent Direct)
  CHECK(v.direct_write == 2);  // the server's downlink switched
  auto st = rig.server_stats();
  CHECK(st.relayed == 2);
  CHECK(st.rejected == 0);
}

constexpr const char* kUtls = R"(,"utls":{"enabled":true,"fingerprint":"chrome"})";

TEST_CASE("vless utls: 32 MiB through the engine client -> BoringSSL server, hash-checked",
          "[integration][vless][utls]") {
  VlessRig rig(true, kAlice, "", "", kUtls);
  for (size_t n : {size_t{1}, size_t{32} << 20}) {
    int fd = rig.socks_to(rig.echo->port());
    CHECK(echo_transfer(fd, n, 7 + n));
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  auto st = rig.server_stats();
  CHECK(st.relayed == 2);
  CHECK(st.fallbacks == 0);
  CHECK(st.last_error == Errc::ok);
}

TEST_CASE(
    "vless vision utls: inner TLS 1.3 switches to direct copy both ways over the engine "
    "client (its detach)",
    "[integration][vless][vision][utls]") {
  VlessRig rig(true, kBob, "", "xtls-rprx-vision", kUtls);
  const uint16_t inner_port = rig.start_inner_tls(server_options(rig.pki.leaf));
  for (int i = 0; i < 2; ++i) {
    int fd = rig.socks_to(inner_port);
    CHECK(tls_echo_through(fd, 8u << 20, 80 + i, false));
    ::close(fd);
  }
  const VisionCounters v = rig.vision();
  CHECK(v.streams == 2);
  CHECK(v.direct_read == 2);   // the engine client's uplink switched (it sent Direct)
  CHECK(v.direct_write == 2);  // the server's downlink switched; the engine client followed
  auto st = rig.server_stats();
  CHECK(st.relayed == 2);
  CHECK(st.rejected == 0);
}

TEST_CASE("vless vision utls: plain traffic stays on the engine's records, with half-close",
          "[integration][vless][vision][utls]") {
  VlessRig rig(true, kBob, "", "xtls-rprx-vision", kUtls);
  int fd = rig.socks_to(rig.echo->port());
  CHECK(echo_transfer(fd, 16u << 20, 90));
  CHECK(wait_eof(fd));
  ::close(fd);
  fd = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(fd, "x", 1));
  ::shutdown(fd, SHUT_WR);
  char c;
  REQUIRE(recv_exact(fd, &c, 1));
  CHECK(c == 'x');
  CHECK(wait_eof(fd));
  ::close(fd);
  const VisionCounters v = rig.vision();
  CHECK(v.streams == 2);
  CHECK(v.direct_read == 0);
  CHECK(v.direct_write == 0);
}

TEST_CASE("vless vision: inner TLS 1.2 never switches", "[integration][vless][vision]") {
  VlessRig rig(true, kBob, "", "xtls-rprx-vision");
  TlsServerOptions so = server_options(rig.pki.leaf);
  so.max_version = "1.2";
  int fd = rig.socks_to(rig.start_inner_tls(so));
  CHECK(tls_echo_through(fd, 2u << 20, 50, true));
  ::close(fd);
  const VisionCounters v = rig.vision();
  CHECK(v.streams == 1);
  CHECK(v.direct_read == 0);
  CHECK(v.direct_write == 0);
}

TEST_CASE("vless vision: plain (non-TLS) traffic, half-close, and XUDP under Vision",
          "[integration][vless][vision]") {
  VlessRig rig(true, kBob, "", "xtls-rprx-vision");
  int fd = rig.socks_to(rig.echo->port());
  CHECK(echo_transfer(fd, 16u << 20, 60));
  CHECK(wait_eof(fd));
  ::close(fd);
  fd = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(fd, "x", 1));
  ::shutdown(fd, SHUT_WR);
  char c;
  REQUIRE(recv_exact(fd, &c, 1));
  CHECK(c == 'x');
  CHECK(wait_eof(fd));
  ::close(fd);
  UdpEcho echo;
  SocksUdpAssociation s(rig.client->port("in"));
  for (int i = 0; i < 12; ++i) {
    const std::string p = "vision udp " + std::to_string(i) + std::string(i * 500, 'v');
    CHECK(s.round_trip(echo.port, p));
  }
  const VisionCounters v = rig.vision();
  CHECK(v.streams == 3);  // two TCP streams and the XUDP connection
  CHECK(v.direct_read == 0);
  CHECK(v.direct_write == 0);
  auto st = rig.server_stats();
  CHECK(st.xudp == 1);
  CHECK(st.relayed == 2);
}

TEST_CASE("vless vision: a Vision client against a flow-less user is refused",
          "[integration][vless][vision]") {
  VlessRig rig(true, kAlice, "", "xtls-rprx-vision");
  int fd = tcp_connect(rig.client->port("in"));
  // The open succeeds (nothing waits for the response); the server closes.
  if (socks5_connect(fd, "127.0.0.1", rig.echo->port()) == 0) {
    (void)send_all(fd, "hello", 5);
    CHECK(wait_eof(fd));
  }
  ::close(fd);
  auto st = rig.server_stats();
  CHECK(st.last_error == Errc::protocol_violation);
  CHECK(std::string(st.last_reason) == "flow not allowed for this user");
  CHECK(rig.echo->received == 0);
}

namespace {

// RawTlsClient is a blocking BoringSSL client (TLS 1.3, trusting |ca_pem|)
// to 127.0.0.1:|port|, for sending hand-made VLESS bytes over TLS.
struct RawTlsClient {
  int fd = -1;
  bssl::UniquePtr<SSL_CTX> ctx;
  bssl::UniquePtr<SSL> ssl;
  RawTlsClient(uint16_t port, const std::string& ca_pem) {
    fd = tcp_connect(port);
    ctx.reset(SSL_CTX_new(TLS_method()));
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
    bssl::UniquePtr<X509> ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    REQUIRE(ca);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.get());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    ssl.reset(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), fd);
    SSL_set_tlsext_host_name(ssl.get(), "vless.test");
    REQUIRE(SSL_connect(ssl.get()) == 1);
  }
  ~RawTlsClient() { ::close(fd); }
  bool write(const std::vector<uint8_t>& b) {
    return SSL_write(ssl.get(), b.data(), static_cast<int>(b.size())) == static_cast<int>(b.size());
  }
  // closed: the server ended the connection (EOF or error) without
  // sending a byte of stream data.
  bool closed() {
    uint8_t buf[256];
    for (;;) {
      const int r = SSL_read(ssl.get(), buf, sizeof buf);
      if (r <= 0) return true;
      // Only a response header may arrive (00 00); anything else is data.
      if (r > 2) return false;
    }
  }
};

}  // namespace

TEST_CASE("vless vision: malformed padding blocks close only that connection",
          "[integration][vless][vision]") {
  VlessRig rig(true, kBob, "", "xtls-rprx-vision");
  // A healthy Vision stream that must survive.
  int good = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(good, "before", 6));
  char b6[6];
  REQUIRE(recv_exact(good, b6, 6));

  const auto header =
      request_bytes(kBob, vless::Flow::vision, vless::Command::tcp, rig.echo->port());
  const auto id = *vless::parse_user_id(kBob);
  {
    // First block with command 7 (not 0/1/2).
    auto b = header;
    b.insert(b.end(), id.begin(), id.end());
    const uint8_t block[] = {0x07, 0x00, 0x02, 0x00, 0x01, 'h', 'i', 0x00};
    b.insert(b.end(), block, block + sizeof block);
    RawTlsClient c(rig.server->port("in"), rig.pki.ca.certificate);
    REQUIRE(c.write(b));
    CHECK(c.closed());
  }
  {
    // A continue block, then (in the same record) a block with command 0xff.
    auto b = header;
    b.insert(b.end(), id.begin(), id.end());
    const uint8_t block[] = {0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
                             0xff, 0x00, 0x01, 0x00, 0x00, 'z'};
    b.insert(b.end(), block, block + sizeof block);
    RawTlsClient c(rig.server->port("in"), rig.pki.ca.certificate);
    REQUIRE(c.write(b));
    CHECK(c.closed());
  }
  const VisionCounters v = rig.vision();
  CHECK(v.malformed == 2);
  CHECK(rig.echo->received == 6);  // only the healthy stream's bytes
  REQUIRE(send_all(good, "after!", 6));
  REQUIRE(recv_exact(good, b6, 6));
  CHECK(std::string(b6, 6) == "after!");
  ::close(good);
}

TEST_CASE("vless: network \"tcp\" refuses UDP, network \"udp\" refuses TCP",
          "[integration][vless][udp]") {
  VlessRig rig(false);
  for (const char* net : {"tcp", "udp"}) {
    INFO(net);
    Side client(
        R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
        "outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
        std::to_string(rig.server->port("in")) + R"(,"uuid":")" + kAlice + R"(","network":")" +
        net + R"("}]})");
    int ctl = tcp_connect(client.port("in"));
    if (std::string(net) == "tcp") {
      const uint8_t greet[] = {5, 1, 0};
      REQUIRE(send_all(ctl, greet, 3));
      uint8_t c[2];
      REQUIRE(recv_exact(ctl, c, 2));
      const uint8_t req[] = {5, 3, 0, 1, 0, 0, 0, 0, 0, 0};
      REQUIRE(send_all(ctl, req, sizeof req));
      uint8_t rep[10];
      REQUIRE(recv_exact(ctl, rep, 10));
      CHECK(rep[1] != 0);  // UDP ASSOCIATE refused
    } else {
      CHECK(socks5_connect(ctl, "127.0.0.1", rig.echo->port()) != 0);
    }
    ::close(ctl);
  }
  CHECK(rig.server_stats().accepted == 0);
}

TEST_CASE("Session::close of a vless session with a TLS handshake pending",
          "[integration][vless][close]") {
  Pki pki = make_pki("vless.test");
  auto eng = std::move(*Engine::create());
  auto silent = std::make_unique<TestServer>(*eng, TestServer::Mode::sink);
  VlessSessionOptions o;
  o.server = "127.0.0.1";
  o.server_port = silent->port();
  o.user = *vless::parse_user_id(kAlice);
  std::string why;
  auto s =
      VlessSession::create(*eng, "v", o, client_options(pki.ca.certificate, "vless.test"), &why);
  INFO(why);
  REQUIRE(s);
  REQUIRE(eng->start());
  check_session_close(*eng, std::unique_ptr<Session>(s->release()));
  REQUIRE(eng->stop());
  silent.reset();
  CHECK(eng->stats().objects == 0);
  CHECK(eng->stats().pool.chunks_outstanding == 0);
}
