// Interop with ngtcp2's own example programs as Debian ships them
// (ngtcp2-server: gtlsserver, ngtcp2-client: gtlsclient; GnuTLS underneath,
// so an independent TLS and packet-protection implementation).
//
// What this covers today: the QUIC + TLS 1.3 handshake both ways with the
// cipher suite forced on the peer (AES-128-GCM, ChaCha20-Poly1305), and 1-RTT
// traffic after a key update we initiate. The HTTP/3 16 MiB downloads wait
// for sluice's HTTP/3 layer (docs/protocols/quic.md, "Not done").
//
// The peers are required: a missing binary FAILS these tests (run
// scripts/bootstrap), it never skips them.
#include <catch2/catch.hpp>
#include <openssl/ssl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "../integration/quic_support.hpp"

extern char** environ;

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

std::string find_binary(const char* name) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/"}) {
    std::string p = std::string(dir) + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

uint16_t free_udp_port() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Child is a spawned peer process, killed and reaped at scope end.
struct Child {
  pid_t pid = -1;
  explicit Child(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& s : argv) args.push_back(s.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  // wait_exit waits up to |limit| for the process to end; its status or -1.
  int wait_exit(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return st;
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int st;
      waitpid(pid, &st, 0);
    }
  }
};

template <typename P>
bool wait_until(P pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

struct TempFiles {
  std::string dir, key, cert;
  explicit TempFiles(const SelfSigned& c) {
    char tmpl[] = "/tmp/sluice-interop-XXXXXX";
    dir = mkdtemp(tmpl);
    key = dir + "/key.pem";
    cert = dir + "/cert.pem";
    std::ofstream(key) << c.key_pem;
    std::ofstream(cert) << c.cert_pem;
  }
  ~TempFiles() {
    std::remove(key.c_str());
    std::remove(cert.c_str());
    rmdir(dir.c_str());
  }
};

// H3Peer keeps the streams an HTTP/3 peer opens (control, QPACK) open and
// drains them, so the peer has no reason to close the connection.
struct Drain final : TransportHandler {
  std::unique_ptr<quic::QuicStream> s;
  explicit Drain(std::unique_ptr<quic::QuicStream> st) : s(std::move(st)) {
    s->set_handler(this);
    s->read_start();
  }
  void on_data(Slice&&) override {}
  void on_eof() override {}
  void on_error(Errc) override {}
};

struct ClientSide final : quic::ConnectionHandler {
  std::atomic<bool> up{false}, closed{false};
  std::atomic<uint16_t> suite{0};
  std::vector<std::unique_ptr<Drain>> drains;
  void on_handshake_done(quic::Connection& c) override {
    suite = static_cast<uint16_t>(SSL_CIPHER_get_id(SSL_get_current_cipher(c.ssl())));
    up = true;
  }
  void on_stream(quic::Connection&, std::unique_ptr<quic::QuicStream> s) override {
    drains.push_back(std::make_unique<Drain>(std::move(s)));
  }
  void on_closed(quic::Connection&, Errc, uint64_t, const char*) override { closed = true; }
};

const char* kGnutlsAes128 =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM";
const char* kGnutlsChaCha =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305";

}  // namespace

TEST_CASE("sluice QUIC client handshakes with ngtcp2's gtlsserver", "[interop][quic]") {
  const std::string server_bin = find_binary("gtlsserver");
  REQUIRE_FALSE(server_bin.empty());  // apt-get install ngtcp2-server
  SelfSigned cert = make_self_signed();
  TempFiles files(cert);
  auto [ciphers, want] = GENERATE(table<const char*, uint16_t>({
      {kGnutlsAes128, uint16_t{0x1301}},
      {kGnutlsChaCha, uint16_t{0x1303}},
  }));
  const uint16_t port = free_udp_port();
  Child server({server_bin, "-q", std::string("--ciphers=") + ciphers, "127.0.0.1",
                std::to_string(port), files.key, files.cert});
  REQUIRE(server.pid > 0);
  std::this_thread::sleep_for(300ms);  // let it bind

  auto engine = std::move(*Engine::create());
  REQUIRE(engine->start());
  ClientSide h;
  std::unique_ptr<quic::Endpoint> ep;
  quic::Connection* conn = nullptr;
  on_loop(*engine, [&] {
    auto c = quic::Endpoint::create(*engine, {}, client_tls({"h3"}), nullptr);
    REQUIRE(c);
    ep = std::move(*c);
    auto r = ep->connect("127.0.0.1", port, &h);
    REQUIRE(r);
    conn = *r;
  });
  REQUIRE(wait_until([&] { return h.up.load(); }, 10000ms));
  CHECK(h.suite.load() == want);
  CHECK(on_loop(*engine, [&] { return conn->alpn(); }) == "h3");
  // A key update, then 1-RTT traffic under the new keys: the server keeps
  // the connection (it would close it on a decryption failure storm or a
  // bad key phase, RFC 9001 §6).
  std::this_thread::sleep_for(200ms);
  CHECK(on_loop(*engine, [&] { return conn->initiate_key_update(); }));
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(h.closed.load());
  // The server opened its HTTP/3 control and QPACK streams over 1-RTT.
  CHECK(on_loop(*engine, [&] { return h.drains.size(); }) >= 1);

  std::atomic<bool> done{false};
  on_loop(*engine, [&] {
    for (auto& d : h.drains) {
      d->s->set_handler(nullptr);
      d->s->close(nullptr, nullptr);
    }
    ep->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &done);
  });
  REQUIRE(wait_until([&] { return done.load(); }, 5000ms));
  on_loop(*engine, [&] { h.drains.clear(); });
  REQUIRE(engine->stop());
}

TEST_CASE("ngtcp2's gtlsclient handshakes with the sluice QUIC server", "[interop][quic]") {
  const std::string client_bin = find_binary("gtlsclient");
  REQUIRE_FALSE(client_bin.empty());  // apt-get install ngtcp2-client
  auto [ciphers, want] = GENERATE(table<const char*, uint16_t>({
      {kGnutlsAes128, uint16_t{0x1301}},
      {kGnutlsChaCha, uint16_t{0x1303}},
  }));
  SelfSigned cert = make_self_signed();
  auto engine = std::move(*Engine::create());
  REQUIRE(engine->start());

  struct Server final : quic::AcceptHandler, quic::ConnectionHandler {
    std::atomic<int> handshakes{0};
    std::atomic<uint16_t> suite{0};
    std::vector<std::unique_ptr<Drain>> drains;
    void on_connection(quic::Connection& c) override { c.set_handler(this); }
    void on_handshake_done(quic::Connection& c) override {
      suite = static_cast<uint16_t>(SSL_CIPHER_get_id(SSL_get_current_cipher(c.ssl())));
      handshakes++;
    }
    void on_stream(quic::Connection&, std::unique_ptr<quic::QuicStream> s) override {
      drains.push_back(std::make_unique<Drain>(std::move(s)));
    }
  } server;
  std::unique_ptr<quic::Endpoint> ep;
  on_loop(*engine, [&] {
    auto s = quic::Endpoint::create(*engine, {}, server_tls(cert, {"h3"}), &server);
    REQUIRE(s);
    ep = std::move(*s);
  });
  const uint16_t port = on_loop(*engine, [&] { return ep->port(); });
  {
    Child client({client_bin, "-q", std::string("--ciphers=") + ciphers, "--timeout=2s",
                  "127.0.0.1", std::to_string(port), "https://localhost/"});
    REQUIRE(client.pid > 0);
    CHECK(wait_until([&] { return server.handshakes.load() == 1; }, 10000ms));
    CHECK(server.suite.load() == want);
    // Its HTTP/3 request arrived over 1-RTT on a bidirectional stream.
    CHECK(wait_until([&] { return on_loop(*engine, [&] { return server.drains.size(); }) >= 1; },
                     3000ms));
  }
  std::atomic<bool> done{false};
  on_loop(*engine, [&] {
    for (auto& d : server.drains) {
      d->s->set_handler(nullptr);
      d->s->close(nullptr, nullptr);
    }
    ep->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &done);
  });
  REQUIRE(wait_until([&] { return done.load(); }, 5000ms));
  on_loop(*engine, [&] { server.drains.clear(); });
  REQUIRE(engine->stop());
}
