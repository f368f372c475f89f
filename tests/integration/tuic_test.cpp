// TUIC v5 end to end on 127.0.0.1: an application -> SOCKS5 inbound ->
// tuic outbound (TuicSession) -> QUIC -> tuic inbound (TuicInbound) ->
// direct -> TCP and UDP echo servers; and raw QUIC clients speaking TUIC
// by hand for what a well-behaved client never does.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <openssl/ssl.h>

#include "inbound/instance.hpp"
#include "inbound/proxy_inbound.hpp"
#include "inbound/tuic_config.hpp"
#include "inbound/tuic_inbound.hpp"
#include "proto/tuic/tuic.hpp"
#include "quic_support.hpp"
#include "session/direct_session.hpp"
#include "session/tuic_session.hpp"
#include "support.hpp"
#include "support/tuic_token.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

const tuic::Uuid kUuid = {0xfe, 0x35, 0xd0, 0x5b, 0x88, 0x03, 0x45, 0xc4,
                          0xba, 0xe6, 0x72, 0x3a, 0xd2, 0xcd, 0x5d, 0x3d};
const tuic::Uuid kOtherUuid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

struct RigOptions {
  tuic::Uuid uuid = kUuid;
  std::string password = "tuic";
  std::vector<std::string> client_alpn = {"h3"};
  std::vector<std::string> server_alpn = {"h3"};
  tuic::RelayMode mode = tuic::RelayMode::native;
  uint64_t auth_timeout_ms = 3000;
  uint64_t udp_timeout_ms = 60000;
  bool zero_rtt = false;  // client sends 0-RTT, server accepts it
};

// OpenWait is a handler for TuicSession::open_stream that keeps the stream
// and records how it ends.
struct OpenWait final : OpenHandler, TransportHandler {
  std::atomic<bool> answered{false};
  std::atomic<bool> ended{false};
  Errc open_error = Errc::ok;
  Errc stream_error = Errc::ok;
  std::string reason;
  std::string got;
  std::unique_ptr<Stream> s;
  void on_open(Result<std::unique_ptr<Stream>> r, const char* why) override {
    if (r) {
      s = std::move(*r);
      s->set_handler(this);
      s->read_start();
    } else {
      open_error = r.error();
      reason = why ? why : "";
      ended = true;
    }
    answered = true;
  }
  void on_data(Slice&& d) override { got.append(d.view()); }
  void on_eof() override { ended = true; }
  void on_error(Errc e) override {
    stream_error = e;
    reason = s ? s->failure_reason() : "";
    ended = true;
  }
};

struct TuicRig {
  RigOptions ro;
  SelfSigned cert = make_self_signed();
  std::unique_ptr<Engine> se, ce;  // server side, client side
  std::unique_ptr<TestServer> echo;
  UdpEcho udp_echo;
  std::unique_ptr<DirectSession> direct;
  std::unique_ptr<FinalRouter> srouter;
  std::unique_ptr<TuicInbound> server;
  std::unique_ptr<TuicSession> client;
  std::unique_ptr<FinalRouter> crouter;
  std::unique_ptr<ProxyInbound> socks;
  uint16_t server_port = 0;

  explicit TuicRig(RigOptions o = {}) : ro(std::move(o)) {
    se = std::move(*Engine::create());
    ce = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*se, TestServer::Mode::echo);
    direct = std::make_unique<DirectSession>(*se, "direct", net::DialOptions{});
    srouter = std::make_unique<FinalRouter>(direct.get());
    REQUIRE(se->start());
    REQUIRE(ce->start());
    start_server(0);
    on_loop(*ce, [&] {
      TuicSessionOptions t;
      t.server = "127.0.0.1";
      t.server_port = server_port;
      t.uuid = ro.uuid;
      t.password = ro.password;
      t.tls = client_opts(ro.client_alpn);
      t.udp_relay_mode = ro.mode;
      t.reconnect_min_ms = 50;
      t.reconnect_max_ms = 200;
      t.zero_rtt = ro.zero_rtt;
      std::string why;
      auto s = TuicSession::create(*ce, "tuic-out", t, &why);
      INFO(why);
      REQUIRE(s);
      client = std::move(*s);
      crouter = std::make_unique<FinalRouter>(client.get());
      ProxyInboundOptions po;
      po.kind = ProxyKind::socks;
      po.tag = "socks";
      auto p = ProxyInbound::create(*ce, po, crouter.get(), &why);
      REQUIRE(p);
      socks = std::move(*p);
    });
  }

  void start_server(uint16_t port) {
    on_loop(*se, [&] {
      TuicInboundConfig c;
      c.tag = "tuic-in";
      c.port = port;
      c.users = {{"alice", kOtherUuid, "not this one"}, {"bob", kUuid, "tuic"}};
      c.tls = server_opts(cert, ro.server_alpn);
      c.auth_timeout_ms = ro.auth_timeout_ms;
      c.udp_timeout_ms = ro.udp_timeout_ms;
      c.tls.enable_early_data = ro.zero_rtt;
      std::string why;
      auto in = TuicInbound::create(*se, c, srouter.get(), &why);
      INFO(why);
      REQUIRE(in);
      server = std::move(*in);
      server_port = server->port();
    });
  }

  void stop_server() {
    std::atomic<bool> done{false};
    on_loop(*se, [&] {
      server->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &done);
    });
    REQUIRE(wait_until([&] { return done.load(); }, 10000ms));
    on_loop(*se, [&] { server.reset(); });
  }

  uint16_t socks_port() {
    return on_loop(*ce, [&] { return socks->port(); });
  }
  TuicSourceStats server_stats() {
    return on_loop(*se, [&] { return server->stats(); });
  }
  TuicSessionStats client_stats() {
    return on_loop(*ce, [&] { return client->stats(); });
  }

  int socks_to(uint16_t port) {
    int fd = tcp_connect(socks_port());
    REQUIRE(socks5_connect(fd, "127.0.0.1", port) == 0);
    return fd;
  }

  // open opens a stream through the session (not SOCKS) to the echo server.
  void open(OpenWait& w, uint16_t port) {
    on_loop(*ce, [&] { client->open_stream("127.0.0.1", port, &w); });
    REQUIRE(wait_until([&] { return w.answered.load(); }, 15000ms));
  }
  void drop(OpenWait& w) {
    on_loop(*ce, [&] {
      if (w.s) {
        w.s->set_handler(nullptr);
        close_and_delete(w.s.release());
      }
    });
  }

  ~TuicRig() {
    std::atomic<int> closed{0};
    auto cb = [](void* u) { (*static_cast<std::atomic<int>*>(u))++; };
    on_loop(*ce, [&] {
      socks->close(cb, &closed);
      client->close(cb, &closed);
    });
    if (server) on_loop(*se, [&] { server->close(cb, &closed); });
    CHECK(wait_until([&] { return closed.load() == (server ? 3 : 2); }, 10000ms));
    REQUIRE(ce->stop());
    REQUIRE(se->stop());
    socks.reset();
    client.reset();
    server.reset();
    echo.reset();
    direct.reset();
    CHECK(ce->stats().pool.chunks_outstanding == 0);
    CHECK(se->stats().pool.chunks_outstanding == 0);
  }
};

}  // namespace

TEST_CASE("tuic: TCP from 1 byte to 64 MiB, hash-checked both ways with half-close",
          "[integration][tuic]") {
  TuicRig rig;
  uint64_t seed = 1;
  for (size_t n : {size_t{1}, size_t{1000}, size_t{64} << 10, size_t{4} << 20, size_t{64} << 20}) {
    INFO(n);
    int fd = rig.socks_to(rig.echo->port());
    CHECK(echo_transfer(fd, n, seed++, true));
    ::close(fd);
  }
  auto ss = rig.server_stats();
  CHECK(ss.authenticated == 1);  // one connection carries every stream
  CHECK(ss.connections == 1);
  CHECK(ss.streams == 5);
  auto cs = rig.client_stats();
  CHECK(cs.dials == 1);
  CHECK(cs.streams == 5);
}

TEST_CASE("tuic: 100 concurrent streams on one connection", "[integration][tuic]") {
  TuicRig rig;
  const uint16_t sp = rig.socks_port();
  const uint16_t ep = rig.echo->port();
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 100; ++i) {
    ts.emplace_back([&, i] {
      int fd = tcp_connect(sp);
      if (socks5_connect(fd, "127.0.0.1", ep) == 0 &&
          echo_transfer(fd, 100000 + static_cast<size_t>(i) * 997, 100 + i, true))
        ok++;
      ::close(fd);
    });
  }
  for (auto& t : ts) t.join();
  CHECK(ok == 100);
  auto ss = rig.server_stats();
  CHECK(ss.connections == 1);
  CHECK(ss.streams == 100);
}

TEST_CASE("tuic UDP: native mode, 1 B to 60 KB, fragmented DATAGRAMs", "[integration][tuic][udp]") {
  TuicRig rig;
  std::string why;
  CHECK(udp_round_trips(rig.socks_port(), rig.udp_echo.port, 40, 60000, &why) == 40);
  INFO(why);
  auto ss = rig.server_stats();
  CHECK(ss.udp_native >= 40);
  CHECK(ss.udp_quic == 0);
  CHECK(ss.udp_out >= 40);
  auto cs = rig.client_stats();
  CHECK(cs.udp_fragmented > 0);  // 60 KB cannot fit one DATAGRAM
  CHECK(cs.udp_received >= 40);
}

TEST_CASE("tuic UDP: quic mode, 1 B to 60 KB, one uni stream per packet",
          "[integration][tuic][udp]") {
  RigOptions o;
  o.mode = tuic::RelayMode::quic;
  TuicRig rig(o);
  std::string why;
  CHECK(udp_round_trips(rig.socks_port(), rig.udp_echo.port, 40, 60000, &why) == 40);
  INFO(why);
  auto ss = rig.server_stats();
  CHECK(ss.udp_quic >= 40);
  CHECK(ss.udp_native == 0);
  CHECK(ss.udp_out >= 40);
  CHECK(rig.client_stats().udp_fragmented == 0);
}

TEST_CASE("tuic UDP: an idle association expires, Dissociate ends one",
          "[integration][tuic][udp]") {
  RigOptions o;
  o.udp_timeout_ms = 300;
  TuicRig rig(o);
  {
    SocksUdpAssociation a(rig.socks_port());
    const std::string p = "ping";
    CHECK(a.round_trip(rig.udp_echo.port, p));
    CHECK(rig.server_stats().udp_associations == 1);
    std::this_thread::sleep_for(800ms);
    // Expired on the server; the next packet opens a new association.
    CHECK(a.round_trip(rig.udp_echo.port, p));
    CHECK(rig.server_stats().udp_associations == 2);
  }
  // The SOCKS association ended: the client flow closed and dissociated.
  CHECK(wait_until([&] { return rig.server_stats().dissociations == 1; }, 5000ms));
}

TEST_CASE("tuic: a wrong UUID fails the flows with auth_failed", "[integration][tuic][auth]") {
  RigOptions o;
  o.uuid = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
  TuicRig rig(o);
  OpenWait w;
  rig.open(w, rig.echo->port());
  REQUIRE(w.s);  // TUIC has no reply: the stream is handed over at once
  REQUIRE(wait_until([&] { return w.ended.load(); }, 10000ms));
  CHECK(w.stream_error == Errc::auth_failed);
  CHECK(w.reason.find("unknown uuid") != std::string::npos);
  rig.drop(w);
  CHECK(rig.server_stats().auth_failures == 1);
  CHECK(wait_until([&] { return rig.client_stats().auth_refused == 1; }, 5000ms));
  auto last = on_loop(*rig.ce, [&] { return rig.client->last_error(); });
  CHECK(last.find("refused the authentication") != std::string::npos);
}

TEST_CASE("tuic: a wrong password fails the flows with auth_failed", "[integration][tuic][auth]") {
  RigOptions o;
  o.password = "not tuic";
  TuicRig rig(o);
  OpenWait w;
  rig.open(w, rig.echo->port());
  REQUIRE(wait_until([&] { return w.ended.load(); }, 10000ms));
  CHECK(w.stream_error == Errc::auth_failed);
  CHECK(w.reason.find("token mismatch") != std::string::npos);
  rig.drop(w);
  CHECK(rig.server_stats().auth_failures == 1);
}

TEST_CASE("tuic: an ALPN mismatch fails the open with the TLS alert", "[integration][tuic][auth]") {
  RigOptions o;
  o.client_alpn = {"h3"};
  o.server_alpn = {"tuic-other"};
  TuicRig rig(o);
  OpenWait w;
  rig.open(w, rig.echo->port());
  CHECK_FALSE(w.s);
  CHECK(w.open_error == Errc::tls_alert);
  INFO(w.reason);
  CHECK(w.reason.find("TUIC server 127.0.0.1") != std::string::npos);
  CHECK(rig.server_stats().authenticated == 0);
}

TEST_CASE("tuic server: Connect sent before Authenticate is held, then served",
          "[integration][tuic][auth]") {
  TuicRig rig;
  ClientHandler ch;
  std::unique_ptr<quic::Endpoint> ep;
  quic::Connection* conn = nullptr;
  on_loop(*rig.ce, [&] {
    auto e = quic::Endpoint::create(*rig.ce, quic::EndpointOptions{}, client_tls({"h3"}), nullptr);
    REQUIRE(e);
    ep = std::move(*e);
    auto c = ep->connect("127.0.0.1", rig.server_port, &ch);
    REQUIRE(c);
    conn = *c;
  });
  REQUIRE(wait_until([&] { return ch.up.load(); }, 10000ms));
  struct Reader final : TransportHandler {
    std::string got;
    void on_data(Slice&& d) override { got.append(d.view()); }
    void on_eof() override {}
    void on_error(Errc) override {}
  } reader;
  std::unique_ptr<quic::QuicStream> s;
  on_loop(*rig.ce, [&] {
    auto r = conn->open_bidi_stream();
    REQUIRE(r);
    s = std::move(*r);
    s->set_handler(&reader);
    s->read_start();
    auto t = TargetAddress::from_ipv4({127, 0, 0, 1}, rig.echo->port());
    std::string b(tuic::connect_size(t), '\0');
    tuic::encode_connect(t, reinterpret_cast<uint8_t*>(b.data()));
    b += "held until authenticated";
    REQUIRE(s->write(*rig.ce->pool().copy_from(b.data(), b.size())));
  });
  // A UDP Packet as a DATAGRAM before Authenticate too.
  on_loop(*rig.ce, [&] {
    tuic::PacketHeader h;
    h.assoc_id = 7;
    h.size = 5;
    h.has_address = true;
    h.address = TargetAddress::from_ipv4({127, 0, 0, 1}, rig.udp_echo.port);
    uint8_t d[tuic::kMaxHeaderSize + 5];
    const size_t n = tuic::encode_packet_header(h, d);
    std::memcpy(d + n, "early", 5);
    REQUIRE(conn->send_datagram(d, n + 5));
  });
  std::this_thread::sleep_for(300ms);
  CHECK(on_loop(*rig.ce, [&] { return reader.got; }).empty());
  CHECK(ch.datagrams == 0);
  CHECK(rig.server_stats().held_streams == 1);
  CHECK(rig.server_stats().held_commands == 1);
  CHECK(rig.server_stats().streams == 0);
  std::unique_ptr<quic::QuicStream> auth;
  on_loop(*rig.ce, [&] {
    tuic::Token token{};
    REQUIRE(quic::export_keying_material(
        conn->ssl(), token, {reinterpret_cast<const char*>(kUuid.data()), kUuid.size()},
        {reinterpret_cast<const uint8_t*>("tuic"), 4}));
    uint8_t a[tuic::kAuthenticateSize];
    tuic::encode_authenticate(kUuid, token, a);
    auto r = conn->open_uni_stream();
    REQUIRE(r);
    auth = std::move(*r);
    REQUIRE(auth->write(*rig.ce->pool().copy_from(a, sizeof a)));
    REQUIRE(auth->shutdown());
  });
  CHECK(wait_until(
      [&] { return on_loop(*rig.ce, [&] { return reader.got == "held until authenticated"; }); },
      10000ms));
  CHECK(rig.server_stats().authenticated == 1);
  // The held DATAGRAM went to the UDP echo; its answer came back as one.
  CHECK(wait_until([&] { return ch.datagrams.load() >= 1; }, 10000ms));
  CHECK(rig.server_stats().udp_native == 1);
  on_loop(*rig.ce, [&] {
    s->set_handler(nullptr);
    close_and_delete(s.release());
    close_and_delete(auth.release());
  });
  close_endpoint(*rig.ce, ep);
}

TEST_CASE("tuic server: no Authenticate within auth_timeout closes the connection",
          "[integration][tuic][auth]") {
  RigOptions o;
  o.auth_timeout_ms = 200;
  TuicRig rig(o);
  ClientHandler ch;
  std::unique_ptr<quic::Endpoint> ep;
  on_loop(*rig.ce, [&] {
    auto e = quic::Endpoint::create(*rig.ce, quic::EndpointOptions{}, client_tls({"h3"}), nullptr);
    REQUIRE(e);
    ep = std::move(*e);
    REQUIRE(ep->connect("127.0.0.1", rig.server_port, &ch));
  });
  REQUIRE(wait_until([&] { return ch.closed.load(); }, 5000ms));
  CHECK(ch.app_error == 0);
  CHECK(ch.reason == "tuic: authentication timed out");
  CHECK(rig.server_stats().auth_timeouts == 1);
  close_endpoint(*rig.ce, ep);
}

TEST_CASE("tuic: server gone mid-transfer fails the stream, then the session reconnects",
          "[integration][tuic]") {
  TuicRig rig;
  OpenWait w;
  rig.open(w, rig.echo->port());
  REQUIRE(w.s);
  // Keep a transfer running.
  std::atomic<bool> stop{false};
  on_loop(*rig.ce, [&] {
    std::string chunk(64 << 10, 'x');
    for (int i = 0; i < 8; ++i)
      (void)w.s->write(*rig.ce->pool().copy_from(chunk.data(), chunk.size()));
  });
  REQUIRE(wait_until([&] { return on_loop(*rig.ce, [&] { return w.got.size(); }) > 0; }, 10000ms));
  const uint16_t port = rig.server_port;
  rig.stop_server();
  REQUIRE(wait_until([&] { return w.ended.load(); }, 10000ms));
  CHECK(w.stream_error == Errc::connection_reset);
  CHECK(w.reason.find("connection to the TUIC server lost") != std::string::npos);
  rig.drop(w);
  stop = true;
  // A new server on the same port: the next open dials again.
  rig.start_server(port);
  OpenWait w2;
  rig.open(w2, rig.echo->port());
  INFO(w2.reason << " " << errc_message(w2.open_error));
  REQUIRE(w2.s);
  on_loop(*rig.ce, [&] { (void)w2.s->write(*rig.ce->pool().copy_from("again", 5)); });
  CHECK(wait_until([&] { return on_loop(*rig.ce, [&] { return w2.got; }) == "again"; }, 10000ms));
  rig.drop(w2);
  auto cs = rig.client_stats();
  CHECK(cs.connections == 2);
  CHECK(cs.connections_lost == 1);
}

namespace {
// The client's EXPORTER_SECRET from BoringSSL's key log (a plain function
// pointer: no user data, hence a global).
std::mutex g_keylog_mu;
std::string g_exporter_secret_hex;
void keylog(const SSL*, const char* line) {
  std::string l(line);
  if (l.rfind("EXPORTER_SECRET ", 0) != 0) return;
  std::lock_guard<std::mutex> lk(g_keylog_mu);
  g_exporter_secret_hex = l.substr(l.rfind(' ') + 1);
}
std::vector<uint8_t> unhex(const std::string& h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}
}  // namespace

TEST_CASE("tuic token: BoringSSL's exporter on a QUIC connection matches RFC 8446 §7.5",
          "[integration][tuic][auth]") {
  TuicRig rig;
  auto tls = client_tls({"h3"});
  SSL_CTX_set_keylog_callback(tls->native(), keylog);
  ClientHandler ch;
  std::unique_ptr<quic::Endpoint> ep;
  quic::Connection* conn = nullptr;
  on_loop(*rig.ce, [&] {
    quic::EndpointOptions eo;
    eo.resume_sessions = false;  // a full handshake: the key log has the secret
    auto e = quic::Endpoint::create(*rig.ce, eo, tls, nullptr);
    REQUIRE(e);
    ep = std::move(*e);
    auto c = ep->connect("127.0.0.1", rig.server_port, &ch);
    REQUIRE(c);
    conn = *c;
  });
  REQUIRE(wait_until([&] { return ch.up.load(); }, 10000ms));
  tuic::Token ours{};
  uint16_t suite = 0;
  on_loop(*rig.ce, [&] {
    REQUIRE(quic::export_keying_material(
        conn->ssl(), ours, {reinterpret_cast<const char*>(kUuid.data()), kUuid.size()},
        {reinterpret_cast<const uint8_t*>("tuic"), 4}));
    suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(conn->ssl()));
  });
  std::string secret_hex;
  {
    std::lock_guard<std::mutex> lk(g_keylog_mu);
    secret_hex = g_exporter_secret_hex;
  }
  REQUIRE(secret_hex.size() >= 64);
  INFO("cipher suite " << suite);
  // TLS_AES_128_GCM_SHA256 or TLS_CHACHA20_POLY1305_SHA256: SHA-256 exporter.
  REQUIRE((suite == 0x1301 || suite == 0x1303));
  const auto secret = unhex(secret_hex);
  const auto expect = tuic_token_from_exporter_secret(secret, kUuid, "tuic");
  CHECK(std::equal(ours.begin(), ours.end(), expect.begin()));
  close_endpoint(*rig.ce, ep);
  SSL_CTX_set_keylog_callback(tls->native(), nullptr);
}

TEST_CASE("tuic: a server and a client built from sing-box JSON", "[integration][tuic]") {
  SelfSigned cert = make_self_signed();
  const std::string cert_path = write_temp("tuic_test", "cert.pem", cert.cert_pem);
  const std::string key_path = write_temp("tuic_test", "key.pem", cert.key_pem);
  std::unique_ptr<Engine> targets = std::move(*Engine::create());
  auto echo = std::make_unique<TestServer>(*targets, TestServer::Mode::echo);
  REQUIRE(targets->start());
  UdpEcho udp_echo;
  {
    Side server(
        R"({"log":{"level":"error"},"inbounds":[{"type":"tuic","tag":"in","listen":"127.0.0.1","listen_port":0,
          "users":[{"name":"bob","uuid":"fe35d05b-8803-45c4-bae6-723ad2cd5d3d","password":"tuic"}],
          "congestion_control":"bbr","auth_timeout":"2s",
          "tls":{"enabled":true,"certificate_path":")" +
        cert_path + R"(","key_path":")" + key_path + R"("}}],
          "outbounds":[{"type":"direct","tag":"direct"}]})");
    Side client(
        R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
          "outbounds":[{"type":"tuic","tag":"t","server":"127.0.0.1","server_port":)" +
        std::to_string(server.port("in")) +
        R"(,"uuid":"fe35d05b-8803-45c4-bae6-723ad2cd5d3d","password":"tuic","udp_relay_mode":"quic",
          "congestion_control":"bbr","heartbeat":"1s","tls":{"enabled":true,"server_name":"localhost","insecure":true}}]})");
    int fd = tcp_connect(client.port("in"));
    REQUIRE(socks5_connect(fd, "127.0.0.1", echo->port()) == 0);
    CHECK(echo_transfer(fd, 1 << 20, 77, true));
    ::close(fd);
    std::string why;
    CHECK(udp_round_trips(client.port("in"), udp_echo.port, 5, 3000, &why) == 5);
    INFO(why);
    auto* in = static_cast<TuicInbound*>(server.instance->quic_inbound("in"));
    REQUIRE(in != nullptr);
    auto st = on_loop(*server.engine, [&] { return in->stats(); });
    CHECK(st.authenticated == 1);
    CHECK(st.udp_quic >= 5);
  }
  REQUIRE(targets->stop());
  echo.reset();
  std::remove(cert_path.c_str());
  std::remove(key_path.c_str());
}

TEST_CASE("tuic: the second connection resumes with 0-RTT and its Connect is served",
          "[integration][tuic][0rtt]") {
  RigOptions o;
  o.zero_rtt = true;
  TuicRig rig(o);
  auto echo_once = [&](const std::string& text) {
    OpenWait w;
    rig.open(w, rig.echo->port());
    REQUIRE(w.s);
    on_loop(*rig.ce,
            [&] { (void)w.s->write(*rig.ce->pool().copy_from(text.data(), text.size())); });
    CHECK(wait_until([&] { return on_loop(*rig.ce, [&] { return w.got; }) == text; }, 10000ms));
    rig.drop(w);
  };
  echo_once("first, full handshake");
  auto cs = rig.client_stats();
  CHECK(cs.zero_rtt_attempted == 0);
  CHECK(cs.connections == 1);
  // Wait for the ticket, then end the connection from the client side.
  std::this_thread::sleep_for(200ms);
  on_loop(*rig.ce, [&] {
    REQUIRE(rig.client->connection() != nullptr);
    rig.client->connection()->close(0, "test: next connection");
  });
  echo_once("second, 0-RTT");
  cs = rig.client_stats();
  CHECK(cs.connections == 2);
  CHECK(cs.zero_rtt_attempted == 1);
  CHECK(cs.zero_rtt_accepted == 1);
  CHECK(cs.resumed == 1);
  auto ss = rig.server_stats();
  CHECK(ss.authenticated == 2);
  CHECK(ss.held_streams >= 1);  // the 0-RTT Connect waited for Authenticate
}
