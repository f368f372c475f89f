// trojan_rows.cpp: see trojan_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "trojan_rows.hpp"

#include "bench_material.hpp"
#include "session/trojan_session.hpp"
#include "sluice/config.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kPassword = "tunnel bench password";

// server_side: a trojan inbound over TLS (with ECH keys when |ech|) whose
// traffic goes direct.
Result<uint16_t> server_side(Engine& e, Keep& keep, std::string* reason, bool ech) {
  auto dir = material_dir(reason);
  if (!dir) return dir.error();
  std::string tls = std::string(R"("tls":{"enabled":true,"server_name":")") + kBenchServerName +
                    R"(","certificate_path":")" + *dir + R"(/cert.pem","key_path":")" + *dir +
                    R"(/key.pem")";
  if (ech) tls += R"(,"ech":{"enabled":true,"key_path":")" + *dir + R"(/ech-keys.pem"})";
  tls += "}";
  const std::string json =
      std::string(
          R"({"log":{"level":"error"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,)"
          R"("users":[{"name":"bench","password":")") +
      kPassword + R"("}],)" + tls + R"(}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  return instance_side(e, json, keep, reason);
}

// client_side: a SOCKS5 inbound in front of a Trojan session that pins the
// bench certificate; |resume| selects the Engine's ticket cache; |utls|
// dials with sluice's own TLS 1.3 engine (no resumption on that path).
Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason,
                             bool resume, bool ech, bool utls = false) {
  auto dir = material_dir(reason);
  if (!dir) return dir.error();
  auto pin = certificate_pin(reason);
  if (!pin) return pin.error();
  std::string tls = std::string(R"("tls":{"enabled":true,"server_name":")") + kBenchServerName +
                    R"(","certificate_sha256":[")" + *pin + R"("])";
  if (ech) tls += R"(,"ech":{"enabled":true,"config_path":")" + *dir + R"(/ech-configs.pem"})";
  if (utls) tls += R"(,"utls":{"enabled":true,"fingerprint":"chrome"})";
  tls += "}";
  const std::string json =
      std::string(
          R"({"log":{"level":"error"},"outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)") +
      std::to_string(upstream) + R"(,"password":")" + kPassword + R"(",)" + tls + "}]}";
  ConfigDiagnostics diag;
  auto cfg = parse_config(json, &diag);
  if (!cfg) {
    *reason = "config: " + diag.error;
    return cfg.error();
  }
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
Result<uint16_t> utls_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, false, false, true);
}

const RowDef kRows[] = {
    {"trojan-tls-full", "Trojan+TLS (full hs)", tls_server, full_client},
    {"trojan-tls", "Trojan+TLS (resumed)", tls_server, resumed_client},
    {"trojan-tls-ech", "Trojan+TLS+ECH (resumed)", ech_server, ech_client},
    {"trojan-tls-utls", "Trojan+TLS utls (engine client, full hs)", tls_server, utls_client},
};

}  // namespace

std::span<const RowDef> trojan_rows() { return kRows; }

}  // namespace sluice::perf
