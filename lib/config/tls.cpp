// config/tls.cpp: the outbound and inbound "tls" objects (docs/config.md,
// "Outbound TLS" and "Inbound TLS"), including "ech".
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Only the shape is checked here (types, enumerations, pin encodings, field
// conflicts); certificates, keys and ECH blobs are read and parsed when the
// TLS context is built (lib/crypto/tls_context), which names the field at
// fault.
#include <algorithm>
#include <cctype>

#include "config/parse.hpp"
#include "crypto/tls_pem.hpp"
#include "proto/tls13/profile.hpp"

namespace sluice::config {
namespace {

bool valid_tls_version(const std::string& v) {
  return v.empty() || v == "1.0" || v == "1.1" || v == "1.2" || v == "1.3";
}

int tls_version_rank(const std::string& v) { return v.empty() ? -1 : v[2] - '0'; }

Status parse_versions(ObjectReader& r, std::string* min, std::string* max) {
  SLUICE_TRY(r.string("min_version", min));
  SLUICE_TRY(r.string("max_version", max));
  for (const char* k : {"min_version", "max_version"}) {
    const std::string& v = std::string_view(k) == "min_version" ? *min : *max;
    if (!valid_tls_version(v)) {
      return r.ctx().fail(Errc::config_invalid, r.path(k),
                          "expected \"1.0\", \"1.1\", \"1.2\" or \"1.3\", got \"" + v + "\"");
    }
  }
  if (!min->empty() && !max->empty() && tls_version_rank(*min) > tls_version_rank(*max)) {
    return r.ctx().fail(Errc::config_invalid, r.path("min_version"), "greater than max_version");
  }
  return {};
}

// pem_lines reads a listable PEM blob: an array of lines is joined with \n
// (docs/config.md, "Conventions").
Status pem_lines(ObjectReader& r, std::string_view key, std::string* out) {
  std::vector<std::string> lines;
  SLUICE_TRY(r.listable(key, &lines));
  out->clear();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out->push_back('\n');
    *out += lines[i];
  }
  return {};
}

Status conflict(ObjectReader& r, const std::string& a, const std::string& b, const char* key_b,
                const char* key_a) {
  if (!a.empty() && !b.empty()) {
    return r.ctx().fail(Errc::config_invalid, r.path(key_b),
                        std::string("conflicts with ") + key_a);
  }
  return {};
}

// enabled_of reads a sub-object's "enabled"; a present but disabled object
// with other fields warns, so nobody believes it is in effect.
Status sub_object(ObjectReader& r, std::string_view key, const Json** out, bool* enabled) {
  SLUICE_TRY(r.object(key, out));
  *enabled = false;
  if (*out == nullptr) return {};
  auto en = (*out)->find("enabled");
  *enabled = en != (*out)->end() && en->is_boolean() && en->get<bool>();
  return {};
}

// utls_supported lists the sing-box fingerprint names sluice's TLS 1.3
// engine has a ClientHello profile for (lib/proto/tls13/profile.hpp).
std::string utls_supported() {
  std::string out;
  for (const char* n : {"chrome", "firefox", "edge", "safari", "360", "qq", "ios", "android",
                        "random", "randomized"}) {
    if (tls13::find_profile(n) == nullptr) continue;
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

Status parse_ech_client(ConfigCtx& ctx, const Json& j, const std::string& path,
                        TlsEchClientOptions* out) {
  ObjectReader r(ctx, j, path, kTlsEchClientFields);
  SLUICE_TRY(r.boolean("enabled", &out->enabled));
  SLUICE_TRY(pem_lines(r, "config", &out->config));
  SLUICE_TRY(r.string("config_path", &out->config_path));
  SLUICE_TRY(conflict(r, out->config, out->config_path, "config_path", "config"));
  SLUICE_TRY(r.string("query_server_name", &out->query_server_name));
  SLUICE_TRY(r.boolean("grease", &out->grease));
  SLUICE_TRY(r.reject("pq_signature_schemes_enabled", "removed in sing-box 1.13"));
  SLUICE_TRY(r.reject("dynamic_record_sizing_disabled", "removed in sing-box 1.13"));
  if (out->enabled && out->config.empty() && out->config_path.empty() && !out->grease) {
    return ctx.fail(Errc::config_invalid, path,
                    "ECH configs from DNS are not supported: set config or config_path "
                    "(or grease)");
  }
  r.finish();
  return {};
}

// Pins are checked for shape now, so a typo fails at load, not at connect.
Status check_pins(ObjectReader& r, const TlsClientOptions& o) {
  for (size_t i = 0; i < o.certificate_public_key_sha256.size(); ++i) {
    auto b = tls::decode_base64(o.certificate_public_key_sha256[i]);
    if (!b || b->size() != 32) {
      return r.ctx().fail(Errc::config_invalid,
                          index_path(r.path("certificate_public_key_sha256"), i),
                          "expected the base64 of a 32-byte SHA-256");
    }
  }
  for (size_t i = 0; i < o.certificate_sha256.size(); ++i) {
    std::string hex;
    for (char c : o.certificate_sha256[i])
      if (c != ':') hex.push_back(c);
    bool ok = hex.size() == 64;
    for (char c : hex) ok = ok && std::isxdigit(static_cast<unsigned char>(c));
    if (!ok) {
      return r.ctx().fail(Errc::config_invalid, index_path(r.path("certificate_sha256"), i),
                          "expected 64 hex digits (colons allowed)");
    }
  }
  return {};
}

Status parse_cert(ObjectReader& r, TlsCertificateOptions* out) {
  SLUICE_TRY(pem_lines(r, "certificate", &out->certificate));
  SLUICE_TRY(r.string("certificate_path", &out->certificate_path));
  SLUICE_TRY(
      conflict(r, out->certificate, out->certificate_path, "certificate_path", "certificate"));
  SLUICE_TRY(pem_lines(r, "key", &out->key));
  SLUICE_TRY(r.string("key_path", &out->key_path));
  SLUICE_TRY(conflict(r, out->key, out->key_path, "key_path", "key"));
  return {};
}

}  // namespace

Status parse_tls_client(ConfigCtx& ctx, const Json& j, const std::string& path,
                        TlsClientOptions* out) {
  SLUICE_TRY(check_object(ctx, j, path));
  ObjectReader r(ctx, j, path, kTlsClientFields);
  SLUICE_TRY(r.boolean("enabled", &out->enabled));
  SLUICE_TRY(r.string("server_name", &out->server_name));
  SLUICE_TRY(r.boolean("disable_sni", &out->disable_sni));
  SLUICE_TRY(r.boolean("insecure", &out->insecure));
  SLUICE_TRY(r.listable("alpn", &out->alpn));
  SLUICE_TRY(parse_versions(r, &out->min_version, &out->max_version));
  SLUICE_TRY(r.listable("cipher_suites", &out->cipher_suites));
  SLUICE_TRY(r.listable("curve_preferences", &out->curve_preferences));
  SLUICE_TRY(pem_lines(r, "certificate", &out->certificate));
  SLUICE_TRY(r.string("certificate_path", &out->certificate_path));
  SLUICE_TRY(
      conflict(r, out->certificate, out->certificate_path, "certificate_path", "certificate"));
  SLUICE_TRY(r.listable("certificate_public_key_sha256", &out->certificate_public_key_sha256));
  SLUICE_TRY(r.listable("certificate_sha256", &out->certificate_sha256));
  SLUICE_TRY(check_pins(r, *out));
  if (!out->certificate_public_key_sha256.empty() &&
      (!out->certificate.empty() || !out->certificate_path.empty())) {
    return ctx.fail(Errc::config_invalid, r.path("certificate_public_key_sha256"),
                    "conflicts with certificate");
  }

  const Json* sub;
  bool on;
  SLUICE_TRY(sub_object(r, "utls", &sub, &on));
  if (sub != nullptr) {
    ObjectReader u(ctx, *sub, r.path("utls"), kTlsUtlsFields);
    SLUICE_TRY(u.boolean("enabled", &out->utls.enabled));
    SLUICE_TRY(u.string("fingerprint", &out->utls.fingerprint));
    u.finish();
    if (!on && !sub->empty()) ctx.warn(r.path("utls"), "not enabled, ignored");
    // utls runs sluice's own TLS 1.3 engine: a fingerprint is one of its
    // ClientHello profiles ("" is chrome, as in sing-box).
    if (on && !out->utls.fingerprint.empty() &&
        tls13::find_profile(out->utls.fingerprint) == nullptr) {
      return ctx.fail(Errc::config_invalid, u.path("fingerprint"),
                      "\"" + out->utls.fingerprint +
                          "\" is not supported (supported: " + utls_supported() + ")");
    }
  }
  SLUICE_TRY(sub_object(r, "ech", &sub, &on));
  if (sub != nullptr) {
    SLUICE_TRY(parse_ech_client(ctx, *sub, r.path("ech"), &out->ech));
    if (on && out->utls.enabled) {
      return ctx.fail(Errc::config_invalid, r.path("ech"),
                      "ECH uses the BoringSSL client; disable utls or ech");
    }
    if (!on && !sub->empty()) ctx.warn(r.path("ech"), "not enabled, ignored");
    if (on &&
        (out->min_version == "1.0" || out->min_version == "1.1" || out->min_version == "1.2")) {
      return ctx.fail(Errc::config_invalid, r.path("min_version"), "ECH needs TLS 1.3");
    }
    if (on && !out->max_version.empty() && out->max_version != "1.3") {
      return ctx.fail(Errc::config_invalid, r.path("max_version"), "ECH needs TLS 1.3");
    }
  }
  SLUICE_TRY(sub_object(r, "reality", &sub, &on));
  if (sub != nullptr) {
    SLUICE_TRY(parse_reality_client(ctx, *sub, r.path("reality"), &out->reality));
    if (!on && !sub->empty()) ctx.warn(r.path("reality"), "not enabled, ignored");
    if (on && out->ech.enabled)
      return ctx.fail(Errc::config_invalid, r.path("reality"), "conflicts with ech");
  }
  for (const char* k :
       {"client_certificate", "client_certificate_path", "client_key", "client_key_path"}) {
    r.ignore(k, "client certificates are not supported yet, ignored");
  }
  for (const char* k :
       {"fragment", "fragment_fallback_delay", "record_fragment", "kernel_tx", "kernel_rx"}) {
    r.ignore(k);
  }
  r.finish();
  return {};
}

Status parse_tls_server(ConfigCtx& ctx, const Json& j, const std::string& path,
                        TlsServerOptions* out) {
  SLUICE_TRY(check_object(ctx, j, path));
  ObjectReader r(ctx, j, path, kTlsServerFields);
  SLUICE_TRY(r.boolean("enabled", &out->enabled));
  SLUICE_TRY(r.string("server_name", &out->server_name));
  SLUICE_TRY(r.listable("alpn", &out->alpn));
  SLUICE_TRY(parse_versions(r, &out->min_version, &out->max_version));
  SLUICE_TRY(parse_cert(r, &out->certificate));
  const Json* arr;
  SLUICE_TRY(r.array("sni_certificates", &arr));
  if (arr != nullptr) {
    for (size_t i = 0; i < arr->size(); ++i) {
      std::string p = index_path(r.path("sni_certificates"), i);
      SLUICE_TRY(check_object(ctx, (*arr)[i], p));
      ObjectReader c(ctx, (*arr)[i], p, kTlsSniCertificateFields);
      TlsCertificateOptions cert;
      SLUICE_TRY(c.listable("server_name", &cert.server_name));
      if (cert.server_name.empty())
        return ctx.fail(Errc::config_missing_field, c.path("server_name"), "required");
      SLUICE_TRY(parse_cert(c, &cert));
      c.finish();
      out->sni_certificates.push_back(std::move(cert));
    }
  }
  // REALITY serves the real site's handshake with a certificate of its own.
  const Json* reality;
  bool reality_on;
  SLUICE_TRY(sub_object(r, "reality", &reality, &reality_on));
  if (reality != nullptr) {
    SLUICE_TRY(parse_reality_server(ctx, *reality, r.path("reality"), &out->reality));
    if (!reality_on && !reality->empty()) ctx.warn(r.path("reality"), "not enabled, ignored");
  }
  if (reality_on) {
    if (!out->certificate.certificate.empty() || !out->certificate.certificate_path.empty() ||
        !out->sni_certificates.empty())
      return ctx.fail(Errc::config_invalid, r.path("certificate"),
                      "REALITY uses the handshake target's identity; remove the certificate");
    if (!out->server_name.empty() &&
        std::find(out->reality.server_names.begin(), out->reality.server_names.end(),
                  out->server_name) == out->reality.server_names.end())
      out->reality.server_names.push_back(out->server_name);
    if (out->reality.server_names.empty())
      return ctx.fail(Errc::config_missing_field, r.path("server_name"),
                      "REALITY needs the SNI it accepts (server_name or reality.serverNames)");
  }
  if (out->enabled && !reality_on && out->certificate.certificate.empty() &&
      out->certificate.certificate_path.empty()) {
    return ctx.fail(Errc::config_missing_field, r.path("certificate"),
                    "a TLS server needs certificate or certificate_path (acme is not supported)");
  }
  if (out->enabled && !reality_on && out->certificate.key.empty() &&
      out->certificate.key_path.empty()) {
    return ctx.fail(Errc::config_missing_field, r.path("key"),
                    "a TLS server needs key or key_path");
  }
  const Json* sub;
  bool on;
  SLUICE_TRY(sub_object(r, "ech", &sub, &on));
  if (sub != nullptr) {
    ObjectReader e(ctx, *sub, r.path("ech"), kTlsEchServerFields);
    SLUICE_TRY(e.boolean("enabled", &out->ech.enabled));
    SLUICE_TRY(pem_lines(e, "key", &out->ech.key));
    SLUICE_TRY(e.string("key_path", &out->ech.key_path));
    SLUICE_TRY(conflict(e, out->ech.key, out->ech.key_path, "key_path", "key"));
    if (on && out->ech.key.empty() && out->ech.key_path.empty())
      return ctx.fail(Errc::config_missing_field, e.path("key"), "ECH needs key or key_path");
    e.ignore("config", "only the client uses an ECH config");
    e.finish();
    if (!on && !sub->empty()) ctx.warn(r.path("ech"), "not enabled, ignored");
  }
  if (reality_on && out->ech.enabled)
    return ctx.fail(Errc::config_invalid, r.path("reality"), "conflicts with ech");
  SLUICE_TRY(r.reject("acme", "ACME is not supported; give certificate and key"));
  for (const char* k :
       {"cipher_suites", "curve_preferences", "client_authentication", "client_certificate",
        "client_certificate_path", "client_certificate_public_key_sha256"}) {
    r.ignore(k, "not supported yet, ignored");
  }
  for (const char* k : {"kernel_tx", "kernel_rx"}) r.ignore(k);
  r.finish();
  return {};
}

}  // namespace sluice::config
