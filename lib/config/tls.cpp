// config/tls.cpp: the outbound "tls" object (config.md section 1).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/parse.hpp"

namespace sluice::config {
namespace {

bool valid_tls_version(const std::string& v) {
  return v.empty() || v == "1.0" || v == "1.1" || v == "1.2" || v == "1.3";
}

int tls_version_rank(const std::string& v) { return v.empty() ? -1 : v[2] - '0'; }

// sub_feature_enabled: an ech/reality/utls object only matters when
// "enabled" is true; one that is present but off loads fine.
Status reject_enabled_subobject(ObjectReader& r, std::string_view key) {
  const Json* v;
  SLUICE_TRY(r.object(key, &v));
  if (v == nullptr) return {};
  auto en = v->find("enabled");
  if (en != v->end() && en->is_boolean() && en->get<bool>()) {
    return r.ctx().fail(Errc::config_invalid, r.path(key), "not supported yet");
  }
  if (!v->empty()) r.ctx().warn(r.path(key), "not enabled, ignored");
  return {};
}

}  // namespace

Status parse_tls_client(ConfigCtx& ctx, const Json& j, const std::string& path,
                        TlsClientOptions* out) {
  SLUICE_TRY(check_object(ctx, j, path));
  ObjectReader r(ctx, j, path);
  SLUICE_TRY(r.boolean("enabled", &out->enabled));
  SLUICE_TRY(r.string("server_name", &out->server_name));
  SLUICE_TRY(r.boolean("disable_sni", &out->disable_sni));
  SLUICE_TRY(r.boolean("insecure", &out->insecure));
  SLUICE_TRY(r.listable("alpn", &out->alpn));
  SLUICE_TRY(r.string("min_version", &out->min_version));
  SLUICE_TRY(r.string("max_version", &out->max_version));
  for (const char* k : {"min_version", "max_version"}) {
    const std::string& v = std::string_view(k) == "min_version" ? out->min_version : out->max_version;
    if (!valid_tls_version(v)) {
      return ctx.fail(Errc::config_invalid, r.path(k),
                      "expected \"1.0\", \"1.1\", \"1.2\" or \"1.3\", got \"" + v + "\"");
    }
  }
  if (!out->min_version.empty() && !out->max_version.empty() &&
      tls_version_rank(out->min_version) > tls_version_rank(out->max_version)) {
    return ctx.fail(Errc::config_invalid, r.path("min_version"), "greater than max_version");
  }
  // A PEM blob may come as an array of lines (config.md conventions).
  std::vector<std::string> lines;
  SLUICE_TRY(r.listable("certificate", &lines));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out->certificate += '\n';
    out->certificate += lines[i];
  }
  SLUICE_TRY(r.string("certificate_path", &out->certificate_path));
  if (!out->certificate.empty() && !out->certificate_path.empty()) {
    return ctx.fail(Errc::config_invalid, r.path("certificate_path"),
                    "conflicts with certificate");
  }
  SLUICE_TRY(reject_enabled_subobject(r, "ech"));
  SLUICE_TRY(reject_enabled_subobject(r, "reality"));
  SLUICE_TRY(reject_enabled_subobject(r, "utls"));
  // Parse-or-warn fields (config.md: P) this version does not apply yet.
  for (const char* k : {"cipher_suites", "curve_preferences", "certificate_public_key_sha256",
                        "client_certificate", "client_certificate_path", "client_key",
                        "client_key_path"}) {
    r.ignore(k, "not supported yet, ignored");
  }
  for (const char* k : {"fragment", "fragment_fallback_delay", "record_fragment", "kernel_tx",
                        "kernel_rx"}) {
    r.ignore(k);
  }
  r.finish();
  return {};
}

}  // namespace sluice::config
