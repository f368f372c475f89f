// SSH outbound interop with OpenSSH's sshd (Debian's openssh-server), started
// by the test on a free 127.0.0.1 port with a temporary config: host keys
// (ed25519, ecdsa, rsa) and client keys made with ssh-keygen in a temp dir,
// AuthorizedKeysFile pointing there, run as the current user (root in CI:
// PermitRootLogin yes, StrictModes no, UsePAM no).
//
//  - 1 B .. 64 MiB hash-checked echo transfers (both directions at once)
//    through a mixed inbound + ssh outbound built from JSON;
//  - 200 concurrent channels on the one connection;
//  - half-close both ways (a greeter target that half-closes first);
//  - PermitOpen refusing a target: the server's reason reaches the caller;
//  - wrong host key, wrong password, wrong key: specific errors; a pinned
//    ECDSA key works against a server that also has an Ed25519 key;
//  - RSA PEM and passphrase-protected ECDSA keys, several keys in order;
//  - sshd killed mid-transfer: the stream fails, the next one reconnects;
//  - a stopped server: keepalive detects the dead peer;
//  - MaxStartups reached: a clear handshake error; MaxSessions does not
//    limit direct-tcpip channels (OpenSSH counts session channels only);
//  - malformed keys and pins: errors naming the field, no sockets.
//
// Without /usr/sbin/sshd the whole program exits with 77 (meson: skipped),
// saying why; scripts/bootstrap installs openssh-server.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "../integration/session_close_check.hpp"
#include "../integration/support.hpp"
#include "../support/peer_process.hpp"
#include "inbound/instance.hpp"
#include "net/host_hooks.hpp"
#include "proto/base64.hpp"
#include "session/ssh_session.hpp"
#include "sluice/config.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

std::string sshd_binary() {
  std::string b = find_binary("sshd");
  if (b.empty()) {
    std::printf("SKIP: sshd not found (apt-get install openssh-server): ssh interop skipped\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
  return b;
}

std::string current_user() {
  const char* u = std::getenv("USER");
  if (getuid() == 0) return "root";
  return u ? u : "root";
}

void keygen(const std::string& args) {
  if (find_binary("ssh-keygen").empty()) {
    std::printf(
        "SKIP: ssh-keygen not found (apt-get install openssh-client): ssh interop skipped\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
  const std::string cmd = "ssh-keygen -q " + args + " </dev/null >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

std::string first_line(const std::string& path) {
  std::string s = slurp(path);
  const size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// Keys made once for the whole program (RSA generation is slow).
struct Keys {
  TempDir dir{"sluice_ssh_keys_"};
  std::string host_ed, host_ecdsa, host_rsa;  // private key files
  std::string user_ed, user_rsa_pem, user_ecdsa_enc, stranger;
  Keys() {
    host_ed = dir.file("host_ed25519");
    host_ecdsa = dir.file("host_ecdsa");
    host_rsa = dir.file("host_rsa");
    user_ed = dir.file("user_ed25519");
    user_rsa_pem = dir.file("user_rsa_pem");
    user_ecdsa_enc = dir.file("user_ecdsa_enc");
    stranger = dir.file("stranger_ed25519");
    for (const std::string& f :
         {host_ed, host_ecdsa, host_rsa, user_ed, user_rsa_pem, user_ecdsa_enc, stranger})
      dir.files.push_back(f + ".pub");
    keygen("-t ed25519 -N '' -f " + host_ed);
    keygen("-t ecdsa -b 256 -N '' -f " + host_ecdsa);
    keygen("-t rsa -b 2048 -N '' -f " + host_rsa);
    keygen("-t ed25519 -N '' -f " + user_ed);
    keygen("-t rsa -b 2048 -m PEM -N '' -f " + user_rsa_pem);
    keygen("-t ecdsa -b 384 -N 'sesame' -f " + user_ecdsa_enc);
    keygen("-t ed25519 -N '' -f " + stranger);
  }
  std::string pub(const std::string& key) const { return first_line(key + ".pub"); }
};

Keys& keys() {
  static Keys k;
  return k;
}

// Sshd is a private sshd on a free port.
struct Sshd {
  TempDir dir{"sluice_sshd_"};
  std::unique_ptr<Peer> peer;
  uint16_t port = 0;
  std::string extra;

  explicit Sshd(std::string extra_config = {}) : extra(std::move(extra_config)) {
    const std::string bin = sshd_binary();
    if (getuid() == 0) ::mkdir("/run/sshd", 0755);  // sshd's privilege separation dir
    Keys& k = keys();
    dir.write("authorized_keys", k.pub(k.user_ed) + "\n" + k.pub(k.user_rsa_pem) + "\n" +
                                     k.pub(k.user_ecdsa_enc) + "\n");
    std::vector<uint16_t> ports;
    peer = start_peer(
        "sshd", dir, 1, [&](const std::vector<uint16_t>& p) { return argv_for(bin, p[0]); },
        &ports);
    port = ports[0];
  }
  std::vector<std::string> argv_for(const std::string& bin, uint16_t p) {
    Keys& k = keys();
    const std::string cfg =
        dir.write("sshd_config_" + std::to_string(p),
                  "Port " + std::to_string(p) +
                      "\n"
                      "ListenAddress 127.0.0.1\n"
                      "HostKey " +
                      k.host_ed + "\nHostKey " + k.host_ecdsa + "\nHostKey " + k.host_rsa +
                      "\n"
                      "PidFile " +
                      dir.file("sshd.pid") +
                      "\n"
                      "UsePAM no\nPermitRootLogin yes\nStrictModes no\n"
                      "AuthorizedKeysFile " +
                      dir.file("authorized_keys") +
                      "\n"
                      "PasswordAuthentication yes\nKbdInteractiveAuthentication no\n"
                      "AllowTcpForwarding yes\nLogLevel VERBOSE\n" +
                      extra + "\n");
    return {bin, "-D", "-e", "-f", cfg};
  }
  // restart starts sshd again on the same port (after kill_all). The killed
  // processes may hold the port for a moment on a loaded machine (the new
  // sshd then exits: "Address already in use"): try again a few times.
  void restart() {
    const std::string bin = sshd_binary();
    bool listening = false;
    for (int attempt = 0; attempt < 5 && !listening; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
      peer = std::make_unique<Peer>("sshd", argv_for(bin, port), dir.file("sshd_restart.log"));
      listening = peer->wait_listening({port});
      if (!listening && peer->alive()) break;  // running but not listening: a real failure
    }
    INFO(peer->describe());
    REQUIRE(listening);
  }
  // kill_all SIGKILLs the listener and the per-connection processes it
  // forked (found by parent pid), all started by this test.
  void kill_all(int sig = SIGKILL) {
    for (pid_t p : descendants(peer->pid)) ::kill(p, sig);
    if (sig == SIGKILL) ::kill(peer->pid, sig);
  }
  // stop_children stops (or continues) the per-connection processes only.
  void signal_children(int sig) {
    for (pid_t p : descendants(peer->pid)) ::kill(p, sig);
  }
  static std::vector<pid_t> descendants(pid_t root) {
    std::vector<pid_t> out{root}, result;
    for (size_t i = 0; i < out.size(); ++i) {
      DIR* d = ::opendir("/proc");
      if (!d) break;
      while (dirent* e = ::readdir(d)) {
        const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
        if (pid <= 0) continue;
        std::string stat = slurp("/proc/" + std::string(e->d_name) + "/stat");
        const size_t rp = stat.rfind(')');
        if (rp == std::string::npos) continue;
        int ppid = 0;
        char state = 0;
        if (std::sscanf(stat.c_str() + rp + 1, " %c %d", &state, &ppid) != 2) continue;
        if (ppid == out[i]) {
          out.push_back(pid);
          result.push_back(pid);
        }
      }
      ::closedir(d);
    }
    return result;
  }
  std::string describe() { return peer ? peer->describe() : "no sshd"; }
};

// ssh_json: an outbound "ssh" object's fields for |port|.
std::string ssh_fields(uint16_t port, const std::string& auth) {
  Keys& k = keys();
  return "\"type\": \"ssh\", \"tag\": \"ssh\", \"server\": \"127.0.0.1\", \"server_port\": " +
         std::to_string(port) + ", \"user\": \"" + current_user() + "\", \"host_key\": [\"" +
         k.pub(k.host_ed) + "\"], " + auth;
}

std::string side_json(uint16_t port, const std::string& auth) {
  return R"({"log": {"level": "warn"}, "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 0}],
    "outbounds": [{)" +
         ssh_fields(port, auth) + "}]}";
}

std::string key_auth() { return "\"private_key_path\": \"" + keys().user_ed + "\""; }

// Targets on their own Engine.
struct Targets {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TestServer> echo, greeter, sink;
  Targets() {
    engine = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*engine, TestServer::Mode::echo);
    greeter = std::make_unique<TestServer>(*engine, TestServer::Mode::greeter, "hello from target");
    sink = std::make_unique<TestServer>(*engine, TestServer::Mode::sink);
    REQUIRE(engine->start());
  }
  ~Targets() {
    REQUIRE(engine->stop());
    echo.reset();
    greeter.reset();
    sink.reset();
    engine.reset();
  }
};

int socks_to(uint16_t socks_port, uint16_t target_port, int* rep = nullptr) {
  int fd = tcp_connect(socks_port);
  const int r = socks5_connect(fd, "127.0.0.1", target_port);
  if (rep) *rep = r;
  if (r != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Direct use of an SshSession on an Engine, to see open results in words.
struct Direct {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<SshSession> session;
  std::string create_error;
  explicit Direct(SshSessionOptions o) {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
    auto s = on_loop(*engine, [&]() -> Result<std::unique_ptr<SshSession>> {
      return SshSession::create(*engine, "ssh", std::move(o), &create_error);
    });
    INFO(create_error);
    REQUIRE(s);
    session = std::move(*s);
  }
  ~Direct() {
    REQUIRE(engine->stop());
    const EngineStats st = engine->stats();
    session.reset();
    CHECK(st.objects == 0);
    CHECK(st.pool.chunks_outstanding == 0);
    engine.reset();
  }
  struct Result_ {
    Errc error = Errc::ok;
    std::string why;
  };
  // open opens a stream to 127.0.0.1:|port| and closes it again.
  Result_ open(uint16_t port, std::chrono::milliseconds limit = 20s) {
    struct H : OpenHandler {
      std::promise<Result_> p;
      void on_open(Result<std::unique_ptr<Stream>> s, const char* reason) override {
        Result_ r;
        if (s) {
          close_and_delete(s->release());
        } else {
          r.error = s.error();
          r.why = reason;
        }
        p.set_value(r);
      }
    };
    auto h = std::make_shared<H>();
    auto fut = h->p.get_future();
    on_loop(*engine, [&] { session->open_stream("127.0.0.1", port, h.get()); });
    if (fut.wait_for(limit) != std::future_status::ready) {
      on_loop(*engine, [&] { session->cancel_open(h.get()); });
      return {Errc::timed_out, "test: no answer"};
    }
    return fut.get();
  }
  SshSessionStats stats() {
    return on_loop(*engine, [&] { return session->stats(); });
  }
};

// echo_check is echo_transfer with the reason of a failure: how many bytes
// came back, and whether they were wrong or the stream ended early.
std::string echo_check(int fd, size_t total, uint64_t seed) {
  std::thread writer([fd, total, seed] {
    Pattern p(seed);
    std::vector<uint8_t> buf(64 * 1024);
    for (size_t sent = 0; sent < total;) {
      const size_t n = std::min(buf.size(), total - sent);
      p.fill(buf.data(), n);
      if (!send_all(fd, buf.data(), n)) return;
      sent += n;
    }
    ::shutdown(fd, SHUT_WR);
  });
  Pattern expect(seed);
  std::vector<uint8_t> got(64 * 1024), want(64 * 1024);
  size_t received = 0;
  std::string why;
  while (received < total && why.empty()) {
    const ssize_t n = ::recv(fd, got.data(), std::min(got.size(), total - received), 0);
    if (n <= 0) {
      why = "stream ended (" + std::string(n == 0 ? "EOF" : std::strerror(errno)) + ") after " +
            std::to_string(received) + " of " + std::to_string(total) + " bytes";
      break;
    }
    expect.fill(want.data(), static_cast<size_t>(n));
    if (std::memcmp(got.data(), want.data(), static_cast<size_t>(n)) != 0)
      why = "wrong bytes at offset " + std::to_string(received);
    received += static_cast<size_t>(n);
  }
  if (!why.empty()) ::shutdown(fd, SHUT_RDWR);
  writer.join();
  return why;
}

SshSessionOptions direct_options(uint16_t port) {
  Keys& k = keys();
  SshSessionOptions o;
  o.server = "127.0.0.1";
  o.server_port = port;
  o.user = current_user();
  o.keys.host_key = {k.pub(k.host_ed)};
  o.keys.private_key_path = k.user_ed;
  return o;
}

}  // namespace

TEST_CASE("ssh: hash-checked transfers 1 B to 64 MiB through OpenSSH", "[interop][ssh]") {
  Sshd sshd;
  Targets t;
  Side side(side_json(sshd.port, key_auth()));
  const uint16_t socks = side.port("in");
  uint64_t seed = 1;
  for (size_t n : {size_t{1}, size_t{1000}, size_t{65536 + 3}, size_t{1} << 20, size_t{64} << 20}) {
    int fd = socks_to(socks, t.echo->port());
    INFO("size " << n << "; " << sshd.describe());
    REQUIRE(fd >= 0);
    CHECK(echo_transfer(fd, n, seed++));
    ::close(fd);
  }
}

TEST_CASE("ssh: 200 concurrent channels on one connection", "[interop][ssh]") {
  Sshd sshd("MaxSessions 1");  // limits session channels, not direct-tcpip ones
  Targets t;
  if (std::getenv("SLUICE_TEST_DEBUG")) set_log_level(LogLevel::debug);
  Side side(side_json(sshd.port, key_auth()));
  const uint16_t socks = side.port("in");
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    int fd = socks_to(socks, t.echo->port());
    INFO("channel " << i << "; " << sshd.describe());
    REQUIRE(fd >= 0);
    fds.push_back(fd);
  }
  auto* s = static_cast<SshSession*>(side.instance->session("ssh"));
  const SshSessionStats st = on_loop(*side.engine, [&] { return s->stats(); });
  CHECK(st.channels == 200);
  CHECK(st.connects == 1);
  for (size_t i = 0; i < fds.size(); ++i) {
    std::string msg = "channel " + std::to_string(i);
    REQUIRE(send_all(fds[i], msg.data(), msg.size()));
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    std::string want = "channel " + std::to_string(i), got(want.size(), '\0');
    REQUIRE(recv_exact(fds[i], got.data(), got.size()));
    CHECK(got == want);
  }
  // All 200 at once, both directions, 256 KiB each.
  std::vector<std::thread> threads;
  std::vector<std::string> why(fds.size());
  for (size_t i = 0; i < fds.size(); ++i) {
    threads.emplace_back([&, i] { why[i] = echo_check(fds[i], 256 * 1024, 100 + i); });
  }
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < fds.size(); ++i) {
    INFO("channel " << i);
    CHECK(why[i] == "");
  }
  for (int fd : fds) ::close(fd);
}

TEST_CASE("ssh: half-close both ways", "[interop][ssh]") {
  Sshd sshd;
  Targets t;
  Side side(side_json(sshd.port, key_auth()));
  int fd = socks_to(side.port("in"), t.greeter->port());
  REQUIRE(fd >= 0);
  // The target sends its greeting and half-closes: we read it and EOF, and
  // may still send.
  std::string got;
  while (got.size() < 17) {
    std::string s = recv_some(fd);
    if (s.empty()) break;
    got += s;
  }
  CHECK(got == "hello from target");
  CHECK(wait_eof(fd));
  const std::string data(100000, 'x');
  REQUIRE(send_all(fd, data.data(), data.size()));
  ::shutdown(fd, SHUT_WR);
  CHECK(wait_until([&] { return t.greeter->received.load() == data.size(); }, 10s));
  CHECK(wait_until([&] { return t.greeter->eofs.load() == 1; }, 10s));
  ::close(fd);
}

TEST_CASE("ssh: PermitOpen refusal reaches the caller with the server's reason", "[interop][ssh]") {
  Targets t;
  Sshd sshd("PermitOpen 127.0.0.1:" + std::to_string(t.echo->port()));
  Direct d(direct_options(sshd.port));
  auto ok = d.open(t.echo->port());
  INFO(ok.why << "; " << sshd.describe());
  CHECK(ok.error == Errc::ok);
  auto refused = d.open(t.sink->port());
  INFO(refused.why);
  CHECK(refused.error == Errc::connection_refused);
  CHECK_THAT(refused.why, Catch::Contains("administratively prohibited (1)"));
  CHECK_THAT(refused.why, Catch::Contains("127.0.0.1:" + std::to_string(t.sink->port())));
  // A target nobody listens on: reason 2, connect failed.
  auto closed_port = d.open(1);
  INFO(closed_port.why);
  CHECK(closed_port.error == Errc::connection_refused);
  // The connection survives per-channel failures.
  CHECK(d.open(t.echo->port()).error == Errc::ok);
  CHECK(d.stats().connects == 1);
}

TEST_CASE("ssh: host key pins", "[interop][ssh]") {
  Sshd sshd;
  Targets t;
  Keys& k = keys();
  SECTION("a pinned ECDSA key works although the server also has Ed25519") {
    auto o = direct_options(sshd.port);
    o.keys.host_key = {k.pub(k.host_ecdsa)};
    Direct d(o);
    auto r = d.open(t.echo->port());
    INFO(r.why);
    CHECK(r.error == Errc::ok);
  }
  SECTION("an RSA pin offers rsa-sha2 signatures") {
    auto o = direct_options(sshd.port);
    o.keys.host_key = {k.pub(k.host_rsa) + " comment"};
    Direct d(o);
    auto r = d.open(t.echo->port());
    INFO(r.why);
    CHECK(r.error == Errc::ok);
  }
  SECTION("a wrong pin names the key the server sent") {
    auto o = direct_options(sshd.port);
    o.keys.host_key = {k.pub(k.stranger)};
    Direct d(o);
    auto r = d.open(t.echo->port());
    INFO(r.why);
    CHECK(r.error == Errc::pin_mismatch);
    CHECK_THAT(r.why, Catch::Contains("host key mismatch: server sent ssh-ed25519 " +
                                      k.pub(k.host_ed).substr(12, 68)));
    CHECK_THAT(r.why, Catch::Contains("SHA256:"));
    // Consecutive failures back off: the next open fails at once, same reason.
    auto again = d.open(t.echo->port());
    CHECK(again.error == Errc::pin_mismatch);
    CHECK_THAT(again.why, Catch::Contains("next attempt in"));
  }
  SECTION("known_hosts") {
    TempDir dir("sluice_ssh_kh_");
    const std::string line = k.pub(k.host_ed);
    const std::string kh =
        dir.write("known_hosts", "[127.0.0.1]:" + std::to_string(sshd.port) + " " + line + "\n");
    auto o = direct_options(sshd.port);
    o.keys.host_key.clear();
    o.keys.known_hosts = kh;
    Direct d(o);
    auto r = d.open(t.echo->port());
    INFO(r.why);
    CHECK(r.error == Errc::ok);
    const std::string other =
        dir.write("other", "[127.0.0.1]:" + std::to_string(sshd.port) + " " + k.pub(k.stranger));
    auto o2 = direct_options(sshd.port);
    o2.keys.host_key.clear();
    o2.keys.known_hosts = other;
    o2.keys.host_key_algorithms = {"ssh-ed25519"};
    Direct d2(o2);
    auto r2 = d2.open(t.echo->port());
    INFO(r2.why);
    CHECK(r2.error == Errc::pin_mismatch);
    CHECK_THAT(r2.why, Catch::Contains("known_hosts"));
    // A server the file does not list at all, and a file that is not there.
    const std::string unlisted = dir.write("unlisted", "[192.0.2.1]:22 " + line + "\n");
    auto o3 = direct_options(sshd.port);
    o3.keys.host_key.clear();
    o3.keys.known_hosts = unlisted;
    Direct d3(o3);
    auto r3 = d3.open(t.echo->port());
    INFO(r3.why);
    CHECK(r3.error == Errc::cert_verify_failed);
    CHECK_THAT(r3.why, Catch::Contains("does not list"));
    auto o4 = direct_options(sshd.port);
    o4.keys.host_key.clear();
    o4.keys.known_hosts = dir.path + "/missing";
    Engine& e = *t.engine;
    std::string why4;
    auto s4 = on_loop(e, [&] { return SshSession::create(e, "ssh", o4, &why4); });
    REQUIRE(!s4);
    CHECK(s4.error() == Errc::config_io);
    CHECK_THAT(why4, Catch::Contains("known_hosts: cannot read"));
  }
}

TEST_CASE("ssh: authentication", "[interop][ssh]") {
  Sshd sshd;
  Targets t;
  Keys& k = keys();
  SECTION("wrong password") {
    auto o = direct_options(sshd.port);
    o.keys.private_key_path.clear();
    o.password = "definitely-not-the-password";
    Direct d(o);
    auto r = d.open(t.echo->port());
    INFO(r.why);
    CHECK(r.error == Errc::auth_failed);
    CHECK_THAT(r.why, Catch::Contains("the server rejected the password"));
  }
  SECTION("wrong key") {
    auto o = direct_options(sshd.port);
    o.keys.private_key_path = k.stranger;
    Direct d(o);
    auto r = d.open(t.echo->port());
    INFO(r.why);
    CHECK(r.error == Errc::auth_failed);
    CHECK_THAT(r.why, Catch::Contains("the server rejected key 1 (ssh-ed25519 SHA256:"));
    CHECK_THAT(r.why, Catch::Contains("the server allows: publickey,password"));
  }
  SECTION("several keys tried in order: a wrong inline key, then the file's") {
    auto o = direct_options(sshd.port);
    o.keys.private_key = slurp(k.stranger);
    o.keys.private_key_path = k.user_ed;
    Direct d(o);
    auto r = d.open(t.echo->port());
    INFO(r.why);
    CHECK(r.error == Errc::ok);
  }
  SECTION("RSA key in PEM format") {
    auto o = direct_options(sshd.port);
    o.keys.private_key_path = k.user_rsa_pem;
    Direct d(o);
    auto r = d.open(t.echo->port());
    INFO(r.why);
    CHECK(r.error == Errc::ok);
  }
  SECTION("passphrase-protected ECDSA key in OpenSSH format") {
    auto o = direct_options(sshd.port);
    o.keys.private_key_path.clear();
    o.keys.private_key = slurp(k.user_ecdsa_enc);
    o.keys.private_key_passphrase = "sesame";
    Direct d(o);
    auto r = d.open(t.echo->port());
    INFO(r.why);
    CHECK(r.error == Errc::ok);
  }
}

TEST_CASE("ssh: sshd killed mid-transfer, then the next stream reconnects", "[interop][ssh]") {
  Sshd sshd;
  Targets t;
  Side side(side_json(sshd.port, key_auth()));
  const uint16_t socks = side.port("in");
  int fd = socks_to(socks, t.echo->port());
  REQUIRE(fd >= 0);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::vector<uint8_t> buf(64 * 1024, 7);
    while (!stop && send_all(fd, buf.data(), buf.size())) {
    }
  });
  std::vector<uint8_t> got(64 * 1024);
  REQUIRE(recv_exact(fd, got.data(), got.size()));
  sshd.kill_all();
  // The stream ends (reset or EOF) soon after the connection died.
  bool ended = false;
  const auto end = std::chrono::steady_clock::now() + 15s;
  while (!ended && std::chrono::steady_clock::now() < end) {
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, 200) > 0) {
      const ssize_t n = ::recv(fd, got.data(), got.size(), 0);
      ended = n <= 0;
    }
  }
  CHECK(ended);
  stop = true;
  ::shutdown(fd, SHUT_RDWR);
  writer.join();
  ::close(fd);
  auto* s = static_cast<SshSession*>(side.instance->session("ssh"));
  CHECK(wait_until(
      [&] { return on_loop(*side.engine, [&] { return s->stats(); }).connections_lost == 1; },
      10s));
  sshd.restart();
  int fd2 = socks_to(socks, t.echo->port());
  INFO(sshd.describe());
  REQUIRE(fd2 >= 0);
  CHECK(echo_transfer(fd2, 1 << 20, 42));
  ::close(fd2);
  CHECK(on_loop(*side.engine, [&] { return s->stats(); }).connects == 2);
}

TEST_CASE("ssh: keepalive detects a server that stopped answering", "[interop][ssh]") {
  Sshd sshd;
  Targets t;
  auto o = direct_options(sshd.port);
  o.keepalive_interval_ms = 500;
  o.keepalive_max_missed = 3;
  Direct d(o);
  REQUIRE(d.open(t.echo->port()).error == Errc::ok);
  REQUIRE(d.stats().connected);
  std::this_thread::sleep_for(1500ms);  // quiet, answered keepalives
  CHECK(d.stats().connected);
  CHECK(d.stats().keepalives_sent >= 1);
  sshd.signal_children(SIGSTOP);
  const bool lost = wait_until([&] { return d.stats().connections_lost == 1; }, 10s);
  sshd.signal_children(SIGCONT);
  CHECK(lost);
}

TEST_CASE("ssh: MaxStartups reached gives a clear handshake error", "[interop][ssh]") {
  Sshd sshd("MaxStartups 1");
  Targets t;
  // One unauthenticated connection holds the only startup slot (retried
  // until sshd greets it: wait_listening's probes hold the slot briefly).
  int hog = -1;
  for (int attempt = 0; attempt < 50 && hog < 0; ++attempt) {
    hog = tcp_connect(sshd.port);
    if (recv_some(hog, 2000).rfind("SSH-", 0) != 0) {
      ::close(hog);
      hog = -1;
      std::this_thread::sleep_for(100ms);
    }
  }
  REQUIRE(hog >= 0);
  Direct d(direct_options(sshd.port));
  auto r = d.open(t.echo->port());
  INFO(r.why << "; " << sshd.describe());
  CHECK(r.error != Errc::ok);
  CHECK_THAT(r.why, Catch::Contains("MaxStartups"));
  ::close(hog);
}

TEST_CASE("ssh: malformed keys and pins are refused with the field named", "[interop][ssh]") {
  Engine* none = nullptr;
  (void)none;
  auto engine = std::move(*Engine::create());
  auto make = [&](SshSessionOptions o) {
    std::string why;
    auto s = SshSession::create(*engine, "ssh", std::move(o), &why);
    return std::make_pair(s ? Errc::ok : s.error(), why);
  };
  Keys& k = keys();
  SshSessionOptions base;
  base.server = "127.0.0.1";
  base.keys.host_key = {k.pub(k.host_ed)};
  base.password = "x";
  {
    auto o = base;
    o.keys.host_key = {"ssh-ed25519 !!!notbase64"};
    auto [e, why] = make(o);
    CHECK(e == Errc::config_invalid);
    CHECK_THAT(why, Catch::Contains("host_key[0]"));
  }
  {
    auto o = base;
    o.keys.host_key = {"ssh-foo AAAA"};
    auto [e, why] = make(o);
    CHECK(e == Errc::config_invalid);
    CHECK_THAT(why, Catch::Contains("unknown key type"));
  }
  {
    auto o = base;
    o.keys.private_key =
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
    auto [e, why] = make(o);
    CHECK(e == Errc::config_invalid);
    CHECK_THAT(why, Catch::Contains("PKCS#8"));
  }
  {
    auto o = base;
    o.keys.private_key = "not a key";
    auto [e, why] = make(o);
    CHECK(e == Errc::config_invalid);
    CHECK_THAT(why, Catch::Contains("private_key"));
  }
  {
    auto o = base;
    o.keys.private_key = slurp(k.user_ecdsa_enc);
    o.keys.private_key_passphrase = "wrong";
    auto [e, why] = make(o);
    CHECK(e == Errc::bad_key);
    CHECK_THAT(why, Catch::Contains("wrong private_key_passphrase"));
  }
  {
    // The encrypted key with its bcrypt rounds raised from ssh-keygen's 16
    // to 131,088 (found by the ssh_keys fuzz target: libssh would spend
    // some twenty minutes on it): refused at once, naming the count.
    std::string pem = slurp(k.user_ecdsa_enc);
    const std::string begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
    const std::string end = "-----END OPENSSH PRIVATE KEY-----";
    std::string body;
    for (size_t i = begin.size(); i < pem.find(end); ++i)
      if (!std::isspace(static_cast<unsigned char>(pem[i]))) body.push_back(pem[i]);
    auto raw = base64_decode(body);
    REQUIRE(raw);
    // magic (15), "aes256-ctr" (4 + 10), "bcrypt" (4 + 6), kdfoptions
    // length (4), salt (4 + 16), then the rounds.
    const size_t at = 15 + 14 + 10 + 4 + 20;
    REQUIRE(raw->size() > at + 4);
    REQUIRE(raw->substr(15 + 4, 10) == "aes256-ctr");
    REQUIRE((*raw)[at + 3] == 16);
    (*raw)[at + 1] = 2, (*raw)[at + 2] = 0, (*raw)[at + 3] = 16;  // 0x00020010
    auto o = base;
    o.keys.private_key = begin + "\n" + base64_encode(*raw) + "\n" + end + "\n";
    o.keys.private_key_passphrase = "sesame";
    const auto t0 = std::chrono::steady_clock::now();
    auto [e, why] = make(o);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    CHECK(e == Errc::bad_key);
    CHECK_THAT(why, Catch::Contains("131088 bcrypt rounds"));
  }
  {
    auto o = base;
    o.keys.private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n";
    auto [e, why] = make(o);
    CHECK(e == Errc::config_invalid);
    CHECK_THAT(why, Catch::Contains("END OPENSSH PRIVATE KEY"));
  }
  {
    auto o = base;
    o.keys.private_key_path = "/nonexistent/${SLUICE_TEST_NOPE}key";
    auto [e, why] = make(o);
    CHECK(e == Errc::config_io);
    CHECK_THAT(why, Catch::Contains("/nonexistent/key"));
  }
  {
    auto o = base;
    o.keys.host_key.clear();
    auto [e, why] = make(o);
    CHECK(e == Errc::config_invalid);
  }
  CHECK(expand_env_path("$HOME/x") ==
        std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/x");
}

TEST_CASE("ssh: sing-box outbound fields", "[interop][ssh][config]") {
  auto parse = [](const std::string& fields, std::string* err) -> Result<Config> {
    ConfigDiagnostics diag;
    auto c = parse_config(R"({"outbounds":[{"type":"ssh","tag":"s",)" + fields + "}]}", &diag);
    *err = diag.error;
    return c;
  };
  std::string err;
  auto c = parse(
      R"("server":"h.example","private_key":["-----BEGIN OPENSSH PRIVATE KEY-----","AAAA","-----END OPENSSH PRIVATE KEY-----"],)"
      R"("host_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE comment","host_key_algorithms":["ssh-ed25519"],"client_version":"SSH-2.0-OpenSSH_8.9")",
      &err);
  INFO(err);
  REQUIRE(c);
  const auto& o = std::get<SshOutboundOptions>(c->outbounds[0].options);
  CHECK(c->outbounds[0].type == OutboundType::ssh);
  CHECK(o.endpoint.server_port == 22);  // missing = 22
  CHECK(o.user == "root");              // sing-box's default
  CHECK(o.private_key ==
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----");
  CHECK(o.host_key.size() == 1);
  CHECK(o.host_key_algorithms == std::vector<std::string>{"ssh-ed25519"});
  CHECK(o.client_version == "SSH-2.0-OpenSSH_8.9");

  CHECK(!parse(R"("server":"h","password":"p","host_key":["AAAAC3Nz"])", &err));
  CHECK_THAT(err, Catch::Contains("outbounds[0].host_key[0]"));
  CHECK(!parse(R"("server":"h","host_key":["ssh-ed25519 AAAA"])", &err));
  CHECK_THAT(err, Catch::Contains("password"));
  CHECK(!parse(R"("server":"h","password":"p")", &err));
  CHECK_THAT(err, Catch::Contains("insecure"));
  CHECK(!parse(R"("server":"h","password":"p","insecure":true,"host_key_algorithms":"a,b")", &err));
  CHECK_THAT(err, Catch::Contains("host_key_algorithms"));
  CHECK(!parse(R"("password":"p","insecure":true)", &err));
  CHECK_THAT(err, Catch::Contains("server"));
  auto ok = parse(R"("server":"h","server_port":0,"user":"","password":"p","insecure":true)", &err);
  REQUIRE(ok);
  CHECK(std::get<SshOutboundOptions>(ok->outbounds[0].options).endpoint.server_port == 22);
}

namespace {

// Source is a TCP server on its own thread that sends Pattern(seed) bytes
// to its first client until |total| or an error, counting what the kernel
// took.
struct Source {
  int lfd = -1;
  uint16_t port = 0;
  std::atomic<uint64_t> sent{0};
  std::thread thread;
  Source(size_t total, uint64_t seed) {
    lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(lfd, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this, total, seed] {
      int fd = ::accept(lfd, nullptr, nullptr);
      if (fd < 0) return;
      Pattern p(seed);
      std::vector<uint8_t> buf(64 * 1024);
      while (sent < total) {
        const size_t n = std::min(buf.size(), static_cast<size_t>(total - sent));
        p.fill(buf.data(), n);
        if (!send_all(fd, buf.data(), n)) break;
        sent += n;
      }
      ::shutdown(fd, SHUT_WR);
      char c;
      while (::recv(fd, &c, 1, 0) > 0) {
      }
      ::close(fd);
    });
  }
  ~Source() {
    ::shutdown(lfd, SHUT_RDWR);
    ::close(lfd);
    thread.join();
  }
};

}  // namespace

TEST_CASE("ssh: a reader that stops holds the server back (bounded per channel)",
          "[interop][ssh]") {
  Sshd sshd;
  constexpr size_t kTotal = 64u << 20;
  Source src(kTotal, 7);
  Side side(side_json(sshd.port, key_auth()));
  int fd = socks_to(side.port("in"), src.port);
  REQUIRE(fd >= 0);
  int small = 64 * 1024;  // keep our own socket buffer small too
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  // Nobody reads: the source stalls once every buffer on the way is full.
  uint64_t last = 0;
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(100ms);
    const uint64_t now = src.sent.load();
    if (i > 10 && now == last) break;
    last = now;
  }
  const uint64_t stalled_at = src.sent.load();
  INFO("the source got " << stalled_at << " bytes out before stalling");
  // Kernel buffers on four sockets (up to ~6 MiB each with autotuning),
  // sshd's channel buffer and sluice's 2 MiB window + 256 KiB queue; far
  // from the 64 MiB a missing backpressure would let through.
  CHECK(stalled_at < 24u << 20);
  const EngineStats es = on_loop(*side.engine, [&] { return side.engine->stats(); });
  INFO("pool bytes outstanding " << es.pool.bytes_outstanding);
  CHECK(es.pool.bytes_outstanding < 4u << 20);
  // Then everything arrives, in order.
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
  CHECK(received == kTotal);
  CHECK(same);
  ::close(fd);
}

TEST_CASE("ssh: Session::close contract", "[interop][ssh]") {
  // The "server" accepts and never says a word: the open stays pending in
  // the handshake until close() fails it.
  Targets t;
  auto o = direct_options(t.sink->port());
  Engine& e = *t.engine;
  std::string why;
  auto s = on_loop(e, [&] { return SshSession::create(e, "ssh", o, &why); });
  INFO(why);
  REQUIRE(s);
  check_session_close(e, std::unique_ptr<Session>(s->release()));
}

TEST_CASE("ssh: a network change drops the connection, the next open reconnects",
          "[interop][ssh]") {
  Sshd sshd;
  Targets t;
  Direct d(direct_options(sshd.port));
  REQUIRE(d.open(t.echo->port()).error == Errc::ok);
  CHECK(on_loop(*d.engine, [&] {
          return net::notify_network_changed(*d.engine, net::kNetworkLinkChanged);
        }) >= 1);
  CHECK(d.stats().connections_lost == 1);
  CHECK_FALSE(d.stats().connected);
  auto r = d.open(t.echo->port());
  INFO(r.why);
  CHECK(r.error == Errc::ok);
  CHECK(d.stats().connects == 2);
}

// Upload with the server stopped: the kernel's buffers fill, then what
// libssh holds unsent (its output buffer has no bound of its own) stops at
// SshSession::kOutBudget plus one write, although 16 channels have 32 MiB
// of window between them; once the server runs again everything arrives.
TEST_CASE("ssh: libssh's unsent output stays within the budget while the socket is full",
          "[interop][ssh]") {
  Sshd sshd;
  Targets t;
  Direct d(direct_options(sshd.port));
  struct Sender : OpenHandler, TransportHandler {
    std::promise<std::string> opened;
    std::unique_ptr<Stream> s;
    void on_open(Result<std::unique_ptr<Stream>> r, const char* reason) override {
      if (!r) {
        opened.set_value(std::string("open failed: ") + reason);
        return;
      }
      s = std::move(*r);
      s->set_handler(this);
      opened.set_value("");
    }
    void on_data(Slice&&) override {}
    void on_eof() override {}
    void on_error(Errc) override {}
  };
  constexpr int kChannels = 16;
  constexpr size_t kEach = 3u << 20;  // more than the 2 MiB window sshd grants
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < kChannels; ++i) {
    senders.push_back(std::make_unique<Sender>());
    Sender* sd = senders.back().get();
    auto fut = sd->opened.get_future();
    on_loop(*d.engine, [&] { d.session->open_stream("127.0.0.1", t.greeter->port(), sd); });
    REQUIRE(fut.wait_for(20s) == std::future_status::ready);
    REQUIRE(fut.get().empty());
  }
  sshd.signal_children(SIGSTOP);
  const bool wrote = on_loop(*d.engine, [&] {
    for (auto& sd : senders) {
      for (size_t done = 0; done < kEach; done += kClassPayload[2]) {
        auto sl = d.engine->pool().get(kClassPayload[2]);
        if (!sl) return false;
        std::memset(sl->append(kClassPayload[2]), 'u', kClassPayload[2]);
        Chain c;
        if (!c.push_back(std::move(*sl)) || !sd->s->write(std::move(c))) return false;
      }
    }
    return true;
  });
  REQUIRE(wrote);
  // Let sluice push until the socket is full and the budget holds it back.
  uint64_t unsent = 0;
  wait_until(
      [&] {
        unsent = d.stats().out_unsent;
        return unsent >= SshSession::kOutBudget;
      },
      5s);
  std::this_thread::sleep_for(300ms);
  unsent = d.stats().out_unsent;
  sshd.signal_children(SIGCONT);
  INFO("libssh held " << unsent << " bytes unsent");
  CHECK(unsent >= SshSession::kOutBudget);
  CHECK(unsent <= SshSession::kOutBudget + kClassPayload[2]);
  CHECK(wait_until([&] { return t.greeter->received.load() == kChannels * kEach; }, 30s));
  on_loop(*d.engine, [&] {
    for (auto& sd : senders) {
      sd->s->set_handler(nullptr);
      close_and_delete(sd->s.release());
    }
    return 0;
  });
}

// A 64 KiB slice is two full SSH packets and a 20-byte tail; the channel
// keeps such tails back to send them inside the next slice's first packet
// (ssh_channel.cpp). Every byte must still arrive, in order: a tail with no
// write after it (sent by the channel's own kick), slices in one write, and
// slices in consecutive writes of one loop turn.
TEST_CASE("ssh: 64 KiB writes with short tails arrive whole and in order", "[interop][ssh]") {
  Sshd sshd;
  Targets t;
  Direct d(direct_options(sshd.port));
  struct Echo : OpenHandler, TransportHandler {
    std::promise<std::string> opened;
    std::unique_ptr<Stream> s;
    std::vector<uint8_t> got;
    std::string error;
    void on_open(Result<std::unique_ptr<Stream>> r, const char* reason) override {
      if (!r) {
        opened.set_value(std::string("open failed: ") + reason);
        return;
      }
      s = std::move(*r);
      s->set_handler(this);
      s->read_start();
      opened.set_value("");
    }
    void on_data(Slice&& data) override {
      got.insert(got.end(), data.data(), data.data() + data.size());
    }
    void on_eof() override { error = "unexpected EOF"; }
    void on_error(Errc e) override { error = std::string("error: ") + errc_name(e); }
  };
  Echo h, sink;  // |sink| goes to the greeter, which counts what arrives
  for (auto* e : {&h, &sink}) {
    auto fut = e->opened.get_future();
    const uint16_t port = e == &h ? t.echo->port() : t.greeter->port();
    on_loop(*d.engine, [&] { d.session->open_stream("127.0.0.1", port, e); });
    REQUIRE(fut.wait_for(20s) == std::future_status::ready);
    REQUIRE(fut.get().empty());
  }
  // From the greeter nothing more comes that would run the session's pump: the
  // held tail goes out from the channel's own kick, at once (keepalive, the
  // next thing to wake the session, is seconds away).
  on_loop(*d.engine, [&] {
    auto sl = d.engine->pool().get(kClassPayload[2]);
    REQUIRE(sl);
    std::memset(sl->append(kClassPayload[2]), 5, kClassPayload[2]);
    Chain c;
    REQUIRE(c.push_back(std::move(*sl)));
    REQUIRE(sink.s->write(std::move(c)));
    return 0;
  });
  CHECK(wait_until([&] { return t.greeter->received.load() == kClassPayload[2]; }, 2s));
  Pattern fill(11);
  size_t total = 0;
  // write_slices writes |groups| writes of |per| 64 KiB pool slices each,
  // all in one loop callback.
  auto write_slices = [&](int groups, int per) {
    return on_loop(*d.engine, [&] {
      for (int g = 0; g < groups; ++g) {
        Chain c;
        for (int i = 0; i < per; ++i) {
          auto sl = d.engine->pool().get(kClassPayload[2]);
          if (!sl) return false;
          fill.fill(sl->append(kClassPayload[2]), kClassPayload[2]);
          if (!c.push_back(std::move(*sl))) return false;
        }
        if (!h.s->write(std::move(c))) return false;
        total += static_cast<size_t>(per) * kClassPayload[2];
      }
      return true;
    });
  };
  auto arrived = [&] {
    return wait_until([&] { return on_loop(*d.engine, [&] { return h.got.size(); }) >= total; },
                      10s);
  };
  REQUIRE(write_slices(1, 1));  // one slice, nothing after it: the kick sends the tail
  CHECK(arrived());
  REQUIRE(write_slices(1, 5));  // tails carried through one write
  CHECK(arrived());
  REQUIRE(write_slices(4, 1));  // consecutive writes of one loop turn
  CHECK(arrived());
  on_loop(*d.engine, [&] {
    CHECK(h.error.empty());
    std::vector<uint8_t> want(h.got.size());
    Pattern expect(11);
    expect.fill(want.data(), want.size());
    CHECK(h.got.size() == total);
    CHECK(h.got == want);
    for (auto* e : {&h, &sink}) {
      e->s->set_handler(nullptr);
      close_and_delete(e->s.release());
    }
    return 0;
  });
}
