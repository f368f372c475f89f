// hysteria2_rows.cpp: see hysteria2_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "hysteria2_rows.hpp"

// lib/quic is built only with ngtcp2, Hysteria v2 only with nghttp3 too.
#if __has_include(<ngtcp2/ngtcp2.h>) && __has_include(<nghttp3/nghttp3.h>)
#include "bench_material.hpp"
#include "inbound/hysteria2_inbound.hpp"
#include "session/hysteria2_session.hpp"
#include "sluice/config.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kPassword = "tunnel bench password";
constexpr const char* kObfs = "tunnel bench obfs";

Result<uint16_t> server_side(Engine& e, Keep& keep, std::string* reason, bool obfs) {
  auto dir = material_dir(reason);
  if (!dir) return dir.error();
  std::string json =
      std::string(
          R"({"log":{"level":"error"},"inbounds":[{"type":"hysteria2","tag":"in","listen":"127.0.0.1","listen_port":0,)"
          R"("users":[{"name":"bench","password":")") +
      kPassword + R"("}],)";
  if (obfs) json += std::string(R"("obfs":{"type":"salamander","password":")") + kObfs + R"("},)";
  json += std::string(R"("tls":{"enabled":true,"certificate_path":")") + *dir +
          R"(/cert.pem","key_path":")" + *dir +
          R"(/key.pem"}}],"outbounds":[{"type":"direct","tag":"direct"}]})";
  return instance_side(e, json, keep, reason);
}

Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason,
                             bool obfs) {
  auto pin = certificate_pin(reason);
  if (!pin) return pin.error();
  std::string json =
      std::string(
          R"({"log":{"level":"error"},"outbounds":[{"type":"hysteria2","tag":"hy2","server":"127.0.0.1","server_port":)") +
      std::to_string(upstream) + R"(,"password":")" + kPassword + R"(",)";
  if (obfs) json += std::string(R"("obfs":{"type":"salamander","password":")") + kObfs + R"("},)";
  json += std::string(R"("tls":{"enabled":true,"server_name":")") + kBenchServerName +
          R"(","certificate_sha256":[")" + *pin + R"("]}}]})";
  ConfigDiagnostics diag;
  auto cfg = parse_config(json, &diag);
  if (!cfg) {
    *reason = "config: " + diag.error;
    return cfg.error();
  }
  auto s = make_hysteria2_session(e, cfg->outbounds.front(), reason);
  if (!s) return s.error();
  return socks_front(e, std::move(*s), keep, reason);
}

Result<uint16_t> plain_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, false);
}
Result<uint16_t> obfs_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, true);
}
Result<uint16_t> plain_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, false);
}
Result<uint16_t> obfs_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, true);
}

const RowDef kRows[] = {
    {"hy2", "Hysteria2 (BBR)", plain_server, plain_client},
    {"hy2-salamander", "Hysteria2+Salamander (BBR)", obfs_server, obfs_client},
};

}  // namespace

std::span<const RowDef> hysteria2_rows() { return kRows; }

}  // namespace sluice::perf

#else

namespace sluice::perf {
std::span<const RowDef> hysteria2_rows() { return {}; }
}  // namespace sluice::perf

#endif
