// trojan_rows.cpp: see trojan_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "trojan_rows.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "crypto/tls_ech.hpp"
#include "crypto/tls_keypair.hpp"
#include "crypto/tls_verify.hpp"
#include "inbound/instance.hpp"
#include "session/trojan_session.hpp"
#include "sluice/config.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kEnv = "SLUICE_BENCH_MATERIAL";
constexpr const char* kPassword = "tunnel bench password";
constexpr const char* kServerName = "bench.test";
std::string g_made_dir;  // the folder this process made, if any

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  return static_cast<bool>(f.flush());
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

Result<std::string> material_dir(std::string* reason) {
  const char* d = std::getenv(kEnv);
  if (d == nullptr || *d == '\0') {
    *reason =
        std::string(kEnv) + " is not set: run the row through tunnel_bench, not --serve alone";
    return Errc::invalid_argument;
  }
  return std::string(d);
}

Result<Config> parse(const std::string& json, std::string* reason) {
  ConfigDiagnostics diag;
  auto cfg = parse_config(json, &diag);
  if (!cfg) *reason = "config: " + diag.error;
  return cfg;
}

// server_side: a trojan inbound over TLS (with ECH keys when |ech|) whose
// traffic goes direct.
Result<uint16_t> server_side(Engine& e, Keep& keep, std::string* reason, bool ech) {
  auto dir = material_dir(reason);
  if (!dir) return dir.error();
  std::string tls = std::string(R"("tls":{"enabled":true,"server_name":")") + kServerName +
                    R"(","certificate_path":")" + *dir + R"(/cert.pem","key_path":")" + *dir +
                    R"(/key.pem")";
  if (ech) tls += R"(,"ech":{"enabled":true,"key_path":")" + *dir + R"(/ech-keys.pem"})";
  tls += "}";
  const std::string json =
      std::string(
          R"({"log":{"level":"error"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,)"
          R"("users":[{"name":"bench","password":")") +
      kPassword + R"("}],)" + tls + R"(}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  auto cfg = parse(json, reason);
  if (!cfg) return cfg.error();
  auto inst = Instance::create(e, *cfg, reason);
  if (!inst) return inst.error();
  Instance* i = keep.add(std::move(*inst));
  uint16_t port = i->inbound_port("in");
  if (port == 0) {
    *reason = "the trojan inbound did not listen";
    return Errc::internal;
  }
  return port;
}

// client_side: a SOCKS5 inbound in front of a Trojan session that pins the
// bench certificate; |resume| selects the Engine's ticket cache.
Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason,
                             bool resume, bool ech) {
  auto dir = material_dir(reason);
  if (!dir) return dir.error();
  std::string cert;
  if (!read_file(*dir + "/cert.pem", &cert)) {
    *reason = "cannot read " + *dir + "/cert.pem";
    return Errc::invalid_argument;
  }
  auto pins = tls::leaf_pins_pem(cert);
  if (!pins) {
    *reason = "cannot pin the bench certificate";
    return pins.error();
  }
  std::string tls = std::string(R"("tls":{"enabled":true,"server_name":")") + kServerName +
                    R"(","certificate_sha256":[")" + pins->first + R"("])";
  if (ech) tls += R"(,"ech":{"enabled":true,"config_path":")" + *dir + R"(/ech-configs.pem"})";
  tls += "}";
  const std::string json =
      std::string(
          R"({"log":{"level":"error"},"outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)") +
      std::to_string(upstream) + R"(,"password":")" + kPassword + R"(",)" + tls + "}]}";
  auto cfg = parse(json, reason);
  if (!cfg) return cfg.error();
  const auto& to = std::get<TrojanOutboundOptions>(cfg->outbounds.front().options);
  TrojanSessionOptions t;
  t.server = to.endpoint.server;
  t.server_port = to.endpoint.server_port;
  t.password = to.password;
  t.dial.use_session_cache = resume;
  auto s = TrojanSession::create(e, "trojan", t, to.tls, reason);
  if (!s) return s.error();
  return socks_front(e, std::move(*s), keep, reason);
}

Result<uint16_t> tls_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, false);
}
Result<uint16_t> ech_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, true);
}
Result<uint16_t> full_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, false, false);
}
Result<uint16_t> resumed_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, true, false);
}
Result<uint16_t> ech_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, true, true);
}

const RowDef kRows[] = {
    {"trojan-tls-full", "Trojan+TLS (full hs)", tls_server, full_client},
    {"trojan-tls", "Trojan+TLS (resumed)", tls_server, resumed_client},
    {"trojan-tls-ech", "Trojan+TLS+ECH (resumed)", ech_server, ech_client},
};

}  // namespace

bool prepare_tls_material(std::string* error) {
  char tmpl[] = "/tmp/sluice-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    *error = "mkdtemp failed";
    return false;
  }
  const std::string dir = tmpl;
  tls::CertificateRequest req;
  req.name = kServerName;
  auto kp = tls::generate_certificate(req);
  auto ech = tls::generate_ech_keypair("public.bench.test");
  if (!kp || !ech) {
    *error = "cannot generate the bench certificate or ECH keys";
    return false;
  }
  if (!write_file(dir + "/cert.pem", kp->certificate) ||
      !write_file(dir + "/key.pem", kp->private_key) ||
      !write_file(dir + "/ech-configs.pem", ech->configs) ||
      !write_file(dir + "/ech-keys.pem", ech->keys)) {
    *error = "cannot write to " + dir;
    return false;
  }
  ::setenv(kEnv, dir.c_str(), 1);
  g_made_dir = dir;
  return true;
}

void remove_tls_material() {
  if (g_made_dir.empty()) return;
  for (const char* f : {"cert.pem", "key.pem", "ech-configs.pem", "ech-keys.pem"})
    ::unlink((g_made_dir + "/" + f).c_str());
  ::rmdir(g_made_dir.c_str());
  g_made_dir.clear();
}

std::span<const RowDef> trojan_rows() { return kRows; }

}  // namespace sluice::perf
