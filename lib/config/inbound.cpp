// config/inbound.cpp: inbound objects (socks, http, mixed) and their listen
// fields (docs/config.md, "Inbounds").
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <arpa/inet.h>

#include "config/fields.hpp"
#include "config/parse.hpp"

namespace sluice::config {
namespace {

Status parse_listen(ObjectReader& r, ListenOptions* out) {
  std::string listen;
  SLUICE_TRY(r.string("listen", &listen));
  if (!listen.empty()) {
    if (!is_ip_literal(listen)) {
      return r.ctx().fail(Errc::config_invalid, r.path("listen"),
                          "expected an IP address, got \"" + listen + "\"");
    }
    out->listen = listen;
  }
  SLUICE_TRY(r.port("listen_port", &out->listen_port, true, 0));
  SLUICE_TRY(r.boolean("tcp_fast_open", &out->tcp_fast_open));
  SLUICE_TRY(r.duration("udp_timeout", &out->udp_timeout));
  SLUICE_TRY(r.uint32("max_connections", &out->max_connections));
  SLUICE_TRY(r.uint32("max_connections_per_ip", &out->max_connections_per_ip));
  for (std::string_view f : kListenIgnoredFields) r.ignore(f, "not supported, ignored");
  return {};
}

// parse_users reads [{username, password}]. Usernames are 1..255 bytes
// without ':' and passwords at most 255 bytes, so every account works over
// both SOCKS5 (RFC 1929 length bytes) and HTTP Basic (RFC 7617 section 2).
Status parse_users(ObjectReader& r, std::vector<User>* out) {
  const Json* arr;
  SLUICE_TRY(r.array("users", &arr));
  if (arr == nullptr) return {};
  std::string base = r.path("users");
  for (size_t i = 0; i < arr->size(); ++i) {
    std::string p = index_path(base, i);
    SLUICE_TRY(check_object(r.ctx(), (*arr)[i], p));
    ObjectReader u(r.ctx(), (*arr)[i], p, kProxyUserFields);
    User user;
    SLUICE_TRY(u.string("username", &user.username, true));
    SLUICE_TRY(u.string("password", &user.password));
    if (user.username.size() > 255 || user.username.find(':') != std::string::npos) {
      return r.ctx().fail(Errc::config_invalid, u.path("username"),
                          "must be 1..255 bytes without ':'");
    }
    if (user.password.size() > 255) {
      return r.ctx().fail(Errc::config_invalid, u.path("password"), "must be at most 255 bytes");
    }
    u.finish();
    out->push_back(std::move(user));
  }
  return {};
}

}  // namespace

bool is_ip_literal(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  char buf[46];
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

Status parse_inbound(ConfigCtx& ctx, const Json& j, const std::string& path, InboundOptions* out) {
  SLUICE_TRY(check_object(ctx, j, path));
  ObjectReader r(ctx, j, path, kInboundFields);
  r.add_fields(kListenFields);
  std::string type;
  SLUICE_TRY(r.string("type", &type, true));
  SLUICE_TRY(r.string("tag", &out->tag));
  if (type == "socks") {
    out->type = InboundType::socks;
    r.add_fields(kSocksInboundFields);
    SocksInboundOptions o;
    SLUICE_TRY(parse_users(r, &o.users));
    SLUICE_TRY(r.boolean("udp", &o.udp));
    out->options = std::move(o);
  } else if (type == "http") {
    out->type = InboundType::http;
    r.add_fields(kHttpInboundFields);
    HttpInboundOptions o;
    SLUICE_TRY(parse_users(r, &o.users));
    r.ignore("set_system_proxy", "not supported, ignored");
    r.ignore("tls", "HTTPS proxy inbound not supported yet, ignored");
    out->options = std::move(o);
  } else if (type == "mixed") {
    out->type = InboundType::mixed;
    r.add_fields(kMixedInboundFields);
    MixedInboundOptions o;
    SLUICE_TRY(parse_users(r, &o.users));
    SLUICE_TRY(r.boolean("udp", &o.udp));
    r.ignore("set_system_proxy", "not supported, ignored");
    out->options = std::move(o);
  } else if (type == "trojan") {
    out->type = InboundType::trojan;
    r.add_fields(kTrojanInboundFields);
    TrojanInboundOptions o;
    SLUICE_TRY(parse_trojan_inbound(r, &o));
    out->options = std::move(o);
  } else if (type == "vless") {
    out->type = InboundType::vless;
    r.add_fields(kVlessInboundFields);
    VlessInboundOptions o;
    SLUICE_TRY(parse_vless_inbound(r, &o));
    out->options = std::move(o);
  } else if (type == "tuic") {
    out->type = InboundType::tuic;
    r.add_fields(kTuicInboundFields);
    TuicInboundOptions o;
    SLUICE_TRY(parse_tuic_inbound(r, &o));
    out->options = std::move(o);
  } else if (type == "hysteria2") {
    out->type = InboundType::hysteria2;
    r.add_fields(kHysteria2InboundFields);
    Hysteria2InboundOptions o;
    SLUICE_TRY(parse_hysteria2_inbound(r, &o));
    out->options = std::move(o);
  } else if (type == "hysteria") {
    out->type = InboundType::hysteria;
    r.add_fields(kHysteriaInboundFields);
    HysteriaInboundOptions o;
    SLUICE_TRY(parse_hysteria_inbound(r, &o));
    out->options = std::move(o);
  } else {
    return ctx.fail(
        Errc::config_invalid, r.path("type"),
        "unsupported inbound type \"" + type +
            "\" (expected socks, http, mixed, trojan, vless, tuic, hysteria2 or hysteria)");
  }
  SLUICE_TRY(parse_listen(r, &out->listen));
  r.finish();
  return {};
}

namespace {

Status parse_fallback(ObjectReader& r, const Json& j, const std::string& path,
                      TrojanFallback* out) {
  SLUICE_TRY(check_object(r.ctx(), j, path));
  ObjectReader f(r.ctx(), j, path, kFallbackFields);
  SLUICE_TRY(f.string("server", &out->server, true));
  SLUICE_TRY(f.port("server_port", &out->server_port, true, 1));
  f.finish();
  return {};
}

}  // namespace

Status parse_users(ObjectReader& r, const FieldTable& fields,
                   const std::function<Status(ObjectReader& u)>& each) {
  const Json* arr;
  SLUICE_TRY(r.array("users", &arr));
  if (arr == nullptr || arr->empty())
    return r.ctx().fail(Errc::config_missing_field, r.path("users"),
                        "at least one user is required");
  for (size_t i = 0; i < arr->size(); ++i) {
    std::string p = index_path(r.path("users"), i);
    SLUICE_TRY(check_object(r.ctx(), (*arr)[i], p));
    ObjectReader u(r.ctx(), (*arr)[i], p, fields);
    SLUICE_TRY(each(u));
    u.finish();
  }
  return {};
}

Status parse_fallbacks(ObjectReader& r, TrojanFallback* fallback,
                       std::vector<std::pair<std::string, TrojanFallback>>* for_alpn) {
  const Json* fb;
  SLUICE_TRY(r.object("fallback", &fb));
  if (fb != nullptr) SLUICE_TRY(parse_fallback(r, *fb, r.path("fallback"), fallback));
  SLUICE_TRY(r.object("fallback_for_alpn", &fb));
  if (fb != nullptr) {
    for (auto it = fb->begin(); it != fb->end(); ++it) {
      TrojanFallback f;
      SLUICE_TRY(parse_fallback(r, *it, join_path(r.path("fallback_for_alpn"), it.key()), &f));
      for_alpn->emplace_back(it.key(), std::move(f));
    }
  }
  return {};
}

Status reject_multiplex_transport(ObjectReader& r) {
  SLUICE_TRY(r.reject("multiplex", "multiplex is not supported yet"));
  SLUICE_TRY(r.reject("transport", "v2ray transports are not supported yet"));
  return {};
}

}  // namespace sluice::config
