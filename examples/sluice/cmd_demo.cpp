// cmd_demo.cpp: `sluice demo`: client and server of every protocol sluice has,
// on 127.0.0.1, real traffic through each, one table.
//
// Each row is a chain the measuring client enters through a local SOCKS5
// port: a client-side sluice instance (socks inbound -> the protocol's
// outbound) talking to a server-side instance (the protocol's inbound ->
// direct), ending at an echo or sink server. Both instances run on their own
// Engine thread in this process; the echo/sink servers and the client run on
// plain threads (examples/sluice/measure.hpp), so every row is measured
// against the same direct-TCP baseline in the same run.
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "crypto/tls_ech.hpp"
#include "crypto/tls_keypair.hpp"
#include "crypto/tls_verify.hpp"
#include "inbound/hysteria2_inbound.hpp"
#include "inbound/instance.hpp"
#include "measure.hpp"
#include "private_sshd.hpp"
#include "proto/reality/auth.hpp"
#include "sluice/cipher.hpp"
#include "sluice/config.hpp"
#include "sluice/engine.hpp"
#include "sluice/log.hpp"

namespace sluice::cli {

namespace {

// Side is one running sluice instance on its own Engine thread.
struct Side {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Instance> instance;

  bool start(const std::string& json, std::string* why) {
    ConfigDiagnostics diag;
    auto cfg = parse_config(json, &diag);
    if (!cfg) {
      *why = diag.error;
      return false;
    }
    auto e = Engine::create();
    if (!e) {
      *why = errc_message(e.error());
      return false;
    }
    engine = std::move(*e);
    auto inst = Instance::create(*engine, *cfg, why);
    if (!inst) return false;
    instance = std::move(*inst);
    return static_cast<bool>(engine->start());
  }
  uint16_t port(const char* tag) const { return instance->inbound_port(tag); }
  ~Side() {
    if (engine) (void)engine->stop();
    instance.reset();
    engine.reset();
  }
};

// Row describes one protocol chain: the JSON of its server side (an inbound
// tagged "in") and of its client side given the server's port.
struct Row {
  std::string name;
  std::string server_json;  // empty: no server side
  std::function<std::string(uint16_t server_port)> client_json;
  // external (optional): starts the server side as another program and
  // returns its port, or 0 and why the row is skipped.
  std::function<uint16_t(std::string* why)> external;
  std::function<void()> stop_external;
};

std::string socks_client_to(const std::string& outbound) {
  return R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],)"
         R"("outbounds":[)" +
         outbound + R"(]})";
}

// json_text escapes PEM text for a JSON string.
std::string json_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '"' || c == '\\')
      (out += '\\') += c;
    else
      out += c;
  }
  return out;
}

// add_trojan_rows: Trojan over TLS, and over TLS with ECH, with a
// certificate and ECH keys made for this run; the client pins the
// certificate (certificate_sha256).
void add_trojan_rows(std::vector<Row>& v) {
  tls::CertificateRequest req;
  req.name = "secret.test";
  auto kp = tls::generate_certificate(req);
  auto ech = tls::generate_ech_keypair("public.test");
  if (!kp || !ech) return;
  auto pins = tls::leaf_pins_pem(kp->certificate);
  if (!pins) return;
  const std::string pin = pins->first;
  auto trojan_server = [kp](const std::string& ech_key) {
    std::string tls = R"("tls":{"enabled":true,"server_name":"secret.test","certificate":")" +
                      json_text(kp->certificate) + R"(","key":")" + json_text(kp->private_key) +
                      R"(")";
    if (!ech_key.empty()) tls += R"(,"ech":{"enabled":true,"key":")" + json_text(ech_key) + R"("})";
    tls += "}";
    return R"({"log":{"level":"error"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,)"
           R"("users":[{"name":"demo","password":"demo password"}],)" +
           tls + R"(}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  };
  auto trojan_client = [pin](uint16_t p, const std::string& ech_config) {
    std::string tls =
        R"("tls":{"enabled":true,"server_name":"secret.test","certificate_sha256":[")" + pin +
        R"("])";
    if (!ech_config.empty())
      tls += R"(,"ech":{"enabled":true,"config":")" + json_text(ech_config) + R"("})";
    tls += "}";
    return socks_client_to(R"({"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
                           std::to_string(p) + R"(,"password":"demo password",)" + tls + "}");
  };
  v.push_back({"trojan+tls", trojan_server(""),
               [trojan_client](uint16_t p) { return trojan_client(p, ""); }});
  const std::string cfg = ech->configs;
  v.push_back({"trojan+tls+ech", trojan_server(ech->keys),
               [trojan_client, cfg](uint16_t p) { return trojan_client(p, cfg); }});
}

// add_vless_rows: VLESS over TLS without a flow and with
// xtls-rprx-vision, with a certificate made for this run that the client
// pins. (The demo's payload is not TLS, so Vision pads and filters but
// never switches to direct copy; tests/integration/vless_test shows the
// switch with inner TLS 1.3.)
void add_vless_rows(std::vector<Row>& v) {
  tls::CertificateRequest req;
  req.name = "secret.test";
  auto kp = tls::generate_certificate(req);
  if (!kp) return;
  auto pins = tls::leaf_pins_pem(kp->certificate);
  if (!pins) return;
  const std::string pin = pins->first;
  const std::string uuid = "0d6b6a4e-5f0c-4f55-9a3e-2b7d1c9e8f41";
  auto server = [kp, uuid](const std::string& flow) {
    return R"({"log":{"level":"error"},"inbounds":[{"type":"vless","tag":"in","listen":"127.0.0.1","listen_port":0,)"
           R"("users":[{"name":"demo","uuid":")" +
           uuid + R"(","flow":")" + flow +
           R"("}],"tls":{"enabled":true,"server_name":"secret.test","certificate":")" +
           json_text(kp->certificate) + R"(","key":")" + json_text(kp->private_key) +
           R"("}}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  };
  auto client = [pin, uuid](uint16_t p, const std::string& flow) {
    return socks_client_to(R"({"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
                           std::to_string(p) + R"(,"uuid":")" + uuid + R"(","flow":")" + flow +
                           R"(","tls":{"enabled":true,"server_name":"secret.test",)"
                           R"("certificate_sha256":[")" +
                           pin + R"("]}})");
  };
  v.push_back({"vless+tls", server(""), [client](uint16_t p) { return client(p, ""); }});
  v.push_back({"vless+tls+vision", server("xtls-rprx-vision"),
               [client](uint16_t p) { return client(p, "xtls-rprx-vision"); }});
}

// add_reality_rows: VLESS over REALITY, without a flow and with Vision. The
// server side is two instances: the handshake target (a TLS 1.3 server for
// secret.test with a certificate made for this run; a trojan inbound that
// is never reached past its handshake) and the REALITY server in front of
// it, with a key pair made for this run.
void add_reality_rows(std::vector<Row>& v) {
  tls::CertificateRequest req;
  req.name = "secret.test";
  auto kp = tls::generate_certificate(req);
  if (!kp) return;
  reality::Key priv{};
  random_bytes(priv);
  const std::string private_key = reality::encode_key(priv);
  const std::string public_key = reality::encode_key(reality::public_key_of(priv));
  secure_wipe(priv);
  const std::string uuid = "7c2e1a90-4b3d-4e6f-8a15-d3c9b2f0e6a4";
  const std::string target_json =
      R"({"log":{"level":"error"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,)"
      R"("users":[{"password":"target"}],"tls":{"enabled":true,"server_name":"secret.test","certificate":")" +
      json_text(kp->certificate) + R"(","key":")" + json_text(kp->private_key) +
      R"("}}],"outbounds":[{"type":"block","tag":"block"}]})";
  for (const std::string flow : {"", "xtls-rprx-vision"}) {
    // The target and the REALITY server (destroyed first: declared last).
    struct Sides {
      Side target, server;
    };
    auto sides = std::make_shared<std::unique_ptr<Sides>>();
    Row r;
    r.name = flow.empty() ? "vless+reality" : "vless+reality+vision";
    r.external = [=](std::string* why) -> uint16_t {
      *sides = std::make_unique<Sides>();
      Sides& s = **sides;
      if (!s.target.start(target_json, why)) return 0;
      const std::string server_json =
          R"({"log":{"level":"error"},"inbounds":[{"type":"vless","tag":"in","listen":"127.0.0.1","listen_port":0,)"
          R"("users":[{"name":"demo","uuid":")" +
          uuid + R"(","flow":")" + flow +
          R"("}],"tls":{"enabled":true,"server_name":"secret.test","reality":{"enabled":true,)"
          R"("handshake":{"server":"127.0.0.1","server_port":)" +
          std::to_string(s.target.port("in")) + R"(},"private_key":")" + private_key +
          R"(","short_id":["0123abcd"],"max_time_difference":"1m"}}}],)"
          R"("outbounds":[{"type":"direct","tag":"direct"}]})";
      if (!s.server.start(server_json, why)) return 0;
      return s.server.port("in");
    };
    r.stop_external = [sides] { sides->reset(); };
    r.client_json = [=](uint16_t p) {
      return socks_client_to(R"({"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
                             std::to_string(p) + R"(,"uuid":")" + uuid + R"(","flow":")" + flow +
                             R"(","tls":{"enabled":true,"server_name":"secret.test",)"
                             R"("reality":{"enabled":true,"public_key":")" +
                             public_key + R"(","short_id":"0123abcd"}}})");
    };
    v.push_back(std::move(r));
  }
}

// add_ssh_row: the ssh outbound against OpenSSH's sshd, started privately
// (PrivateSshd) when it is installed; the client pins its host key.
void add_ssh_row(std::vector<Row>& v) {
  auto sshd = std::make_shared<std::unique_ptr<PrivateSshd>>();
  Row r;
  r.name = "ssh -> OpenSSH sshd";
  r.external = [sshd](std::string* why) -> uint16_t {
    *sshd = std::make_unique<PrivateSshd>();
    if (PrivateSshd::sshd_path().empty()) {
      *why = "skipped: sshd is not installed (apt-get install openssh-server)";
      return 0;
    }
    return (*sshd)->start(why) ? (*sshd)->port() : 0;
  };
  r.stop_external = [sshd] { sshd->reset(); };
  r.client_json = [sshd](uint16_t p) {
    const PrivateSshd& d = **sshd;
    return socks_client_to(R"({"type":"ssh","tag":"s","server":"127.0.0.1","server_port":)" +
                           std::to_string(p) + R"(,"user":")" + d.user() +
                           R"(","private_key_path":")" + d.user_key_path() + R"(","host_key":[")" +
                           d.host_key_line() + R"("]})");
  };
  v.push_back(std::move(r));
}

// add_tuic_rows: TUIC v5 over QUIC (ALPN h3), cubic, with a certificate
// made for this run that the client pins (certificate_sha256).
void add_tuic_rows(std::vector<Row>& v) {
  tls::CertificateRequest req;
  req.name = "tuic.test";
  auto kp = tls::generate_certificate(req);
  if (!kp) return;
  auto pins = tls::leaf_pins_pem(kp->certificate);
  if (!pins) return;
  const std::string pin = pins->first;
  const std::string uuid = "fe35d05b-8803-45c4-bae6-723ad2cd5d3d";
  const std::string server =
      R"({"log":{"level":"error"},"inbounds":[{"type":"tuic","tag":"in","listen":"127.0.0.1","listen_port":0,)"
      R"("users":[{"name":"demo","uuid":")" +
      uuid + R"(","password":"demo password"}],"tls":{"enabled":true,"certificate":")" +
      json_text(kp->certificate) + R"(","key":")" + json_text(kp->private_key) +
      R"("}}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  v.push_back(
      {"tuic (quic)", server, [pin, uuid](uint16_t p) {
         return socks_client_to(
             R"({"type":"tuic","tag":"t","server":"127.0.0.1","server_port":)" + std::to_string(p) +
             R"(,"uuid":")" + uuid +
             R"(","password":"demo password","tls":{"enabled":true,"server_name":"tuic.test","certificate_sha256":[")" +
             pin + R"("]}})");
       }});
}

// add_hysteria2_rows: Hysteria v2 over QUIC (BBR), plain and with
// Salamander; the client pins the certificate made for this run.
void add_hysteria2_rows(std::vector<Row>& v) {
  tls::CertificateRequest req;
  req.name = "secret.test";
  auto kp = tls::generate_certificate(req);
  if (!kp) return;
  auto pins = tls::leaf_pins_pem(kp->certificate);
  if (!pins) return;
  const std::string pin = pins->first;
  auto obfs = [](bool on) {
    return on ? std::string(R"("obfs":{"type":"salamander","password":"demo obfs"},)") : "";
  };
  auto server = [kp, obfs](bool salamander) {
    return R"({"log":{"level":"error"},"inbounds":[{"type":"hysteria2","tag":"in","listen":"127.0.0.1","listen_port":0,)"
           R"("users":[{"name":"demo","password":"demo password"}],)" +
           obfs(salamander) + R"("tls":{"enabled":true,"certificate":")" +
           json_text(kp->certificate) + R"(","key":")" + json_text(kp->private_key) +
           R"("}}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  };
  auto client = [pin, obfs](uint16_t p, bool salamander) {
    return socks_client_to(
        R"({"type":"hysteria2","tag":"h","server":"127.0.0.1","server_port":)" + std::to_string(p) +
        R"(,"password":"demo password",)" + obfs(salamander) +
        R"("tls":{"enabled":true,"server_name":"secret.test","certificate_sha256":[")" + pin +
        R"("]}})");
  };
  v.push_back({"hysteria2", server(false), [client](uint16_t p) { return client(p, false); }});
  v.push_back(
      {"hysteria2+salamander", server(true), [client](uint16_t p) { return client(p, true); }});
}

// add_hysteria1_rows: Hysteria v1 over QUIC (Brutal at 1 Gbit/s both
// ways), plain and with XPlus; the client pins the certificate made for
// this run.
void add_hysteria1_rows(std::vector<Row>& v) {
  tls::CertificateRequest req;
  req.name = "secret.test";
  auto kp = tls::generate_certificate(req);
  if (!kp) return;
  auto pins = tls::leaf_pins_pem(kp->certificate);
  if (!pins) return;
  const std::string pin = pins->first;
  auto obfs = [](bool on) { return on ? std::string(R"("obfs":"demo obfs",)") : ""; };
  auto server = [kp, obfs](bool xplus) {
    return R"({"log":{"level":"error"},"inbounds":[{"type":"hysteria","tag":"in","listen":"127.0.0.1","listen_port":0,)"
           R"("users":[{"name":"demo","auth_str":"demo auth"}],"up":"1 Gbps","down":"1 Gbps",)" +
           obfs(xplus) + R"("tls":{"enabled":true,"certificate":")" + json_text(kp->certificate) +
           R"(","key":")" + json_text(kp->private_key) +
           R"("}}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  };
  auto client = [pin, obfs](uint16_t p, bool xplus) {
    return socks_client_to(
        R"({"type":"hysteria","tag":"h","server":"127.0.0.1","server_port":)" + std::to_string(p) +
        R"(,"auth_str":"demo auth","up_mbps":1000,"down_mbps":1000,)" + obfs(xplus) +
        R"("tls":{"enabled":true,"server_name":"secret.test","certificate_sha256":[")" + pin +
        R"("]}})");
  };
  v.push_back({"hysteria1", server(false), [client](uint16_t p) { return client(p, false); }});
  v.push_back({"hysteria1+xplus", server(true), [client](uint16_t p) { return client(p, true); }});
}

std::vector<Row> rows() {
  const std::string direct_server =
      R"({"log":{"level":"error"},"inbounds":[{"type":"%s","tag":"in","listen":"127.0.0.1","listen_port":0}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  auto server = [&](const char* type) {
    char buf[512];
    std::snprintf(buf, sizeof buf, direct_server.c_str(), type);
    return std::string(buf);
  };
  std::vector<Row> v;
  v.push_back({"socks in -> direct", "",
               [&](uint16_t) { return socks_client_to(R"({"type":"direct","tag":"direct"})"); }});
  v.push_back({"socks out -> socks in", server("socks"), [](uint16_t p) {
                 return socks_client_to(
                     R"({"type":"socks","tag":"up","server":"127.0.0.1","server_port":)" +
                     std::to_string(p) + "}");
               }});
  v.push_back({"http out -> http in", server("http"), [](uint16_t p) {
                 return socks_client_to(
                     R"({"type":"http","tag":"up","server":"127.0.0.1","server_port":)" +
                     std::to_string(p) + "}");
               }});
  v.push_back({"socks out -> mixed in", server("mixed"), [](uint16_t p) {
                 return socks_client_to(
                     R"({"type":"socks","tag":"up","server":"127.0.0.1","server_port":)" +
                     std::to_string(p) + "}");
               }});
  add_trojan_rows(v);
  add_vless_rows(v);
  add_reality_rows(v);
  add_ssh_row(v);
  add_tuic_rows(v);
  add_hysteria2_rows(v);
  add_hysteria1_rows(v);
  return v;
}

measure::PathResult run_path(const measure::Path& path, measure::TestServer& echo,
                             measure::TestServer& sink, double seconds) {
  measure::PathResult r;
  r.name = path.name;
  r.up = measure::measure_bulk(path, sink, measure::Direction::upload, seconds, 0.2);
  r.down = measure::measure_bulk(path, sink, measure::Direction::download, seconds, 0.2);
  r.rtt = measure::measure_rtt(path, echo.target(), 1000, 100);
  r.setup = measure::measure_setup(path, echo.target(), 100, 5);
  return r;
}

}  // namespace

int cmd_demo(int argc, char** argv) {
  bool json = false;
  double seconds = 1.0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0)
      json = true;
    else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
      seconds = std::atof(argv[++i]);
  }
  if (seconds <= 0) seconds = 1.0;
  set_log_level(LogLevel::warn);
  measure::raise_fd_limit(4096);

  std::string err;
  auto echo = measure::TestServer::start(measure::TestServer::Mode::echo, &err);
  auto sink = echo ? measure::TestServer::start(measure::TestServer::Mode::sink, &err) : nullptr;
  if (!echo || !sink) {
    std::fprintf(stderr, "sluice demo: test servers: %s\n", err.c_str());
    return 1;
  }
  if (!json) {
    std::printf(
        "sluice demo: every protocol's client and server on 127.0.0.1, %.1f s bulk per "
        "direction\n\n",
        seconds);
    std::printf("%s\n", measure::format_header().c_str());
  }
  std::vector<measure::PathResult> results;
  results.push_back(run_path(measure::Path::direct(), *echo, *sink, seconds));
  const measure::PathResult* base = &results.front();
  if (!json) std::printf("%s\n", measure::format_row(results.back(), nullptr).c_str());
  std::fflush(stdout);

  bool all_ok = results.back().ok();
  for (const Row& row : rows()) {
    // An external server stops after the client side (declared first, so
    // destroyed last).
    struct StopExternal {
      const Row& row;
      ~StopExternal() {
        if (row.stop_external) row.stop_external();
      }
    } stop_external{row};
    Side server, client;
    uint16_t server_port = 0;
    std::string why;
    if (!row.server_json.empty()) {
      if (!server.start(row.server_json, &why)) {
        std::fprintf(stderr, "sluice demo: %s: server side: %s\n", row.name.c_str(), why.c_str());
        all_ok = false;
        continue;
      }
      server_port = server.port("in");
    }
    if (row.external) {
      server_port = row.external(&why);
      if (server_port == 0) {
        std::printf("    %s: %s\n", row.name.c_str(), why.c_str());
        if (why.rfind("skipped", 0) != 0) all_ok = false;
        continue;
      }
    }
    if (!client.start(row.client_json(server_port), &why)) {
      std::fprintf(stderr, "sluice demo: %s: client side: %s\n", row.name.c_str(), why.c_str());
      all_ok = false;
      continue;
    }
    results.push_back(
        run_path(measure::Path::socks5(row.name, client.port("in")), *echo, *sink, seconds));
    base = &results.front();
    all_ok = all_ok && results.back().ok();
    if (!json) {
      std::printf("%s\n", measure::format_row(results.back(), base).c_str());
      if (!results.back().ok())
        std::printf("    problems: %s\n", results.back().problems().c_str());
      std::fflush(stdout);
    }
  }
  if (json) {
    std::printf("[\n");
    for (size_t i = 0; i < results.size(); ++i)
      std::printf("  %s%s\n", measure::to_json(results[i], i ? &results[0] : nullptr).c_str(),
                  i + 1 < results.size() ? "," : "");
    std::printf("]\n");
  } else {
    std::printf("\n%s\n", all_ok ? "all rows ok: real traffic through every protocol"
                                 : "some rows failed: see problems above");
  }
  return all_ok ? 0 : 1;
}

}  // namespace sluice::cli
