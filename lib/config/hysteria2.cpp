// config/hysteria2.cpp: the hysteria2 outbound and inbound (docs/config.md;
// sing-box's option/hysteria2.go names).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <charconv>

#include "config/fields.hpp"
#include "config/parse.hpp"

namespace sluice::config {

namespace {

Status parse_obfs(ObjectReader& r, Hysteria2ObfsOptions* o) {
  const Json* j;
  SLUICE_TRY(r.object("obfs", &j));
  if (j == nullptr) return {};
  ObjectReader ob(r.ctx(), *j, r.path("obfs"), kHysteria2ObfsFields);
  SLUICE_TRY(ob.string("type", &o->type));
  SLUICE_TRY(ob.string("password", &o->password));
  ob.finish();
  if (o->type.empty() && o->password.empty()) return {};
  if (o->type != "salamander")
    return r.ctx().fail(Errc::config_invalid, ob.path("type"),
                        "unsupported obfs type \"" + o->type + "\" (expected salamander)");
  if (o->password.size() < 4)
    return r.ctx().fail(Errc::config_invalid, ob.path("password"),
                        "the salamander password needs at least 4 bytes");
  return {};
}

bool parse_port_text(std::string_view s, uint16_t* out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

// check_proxy_url: a masquerade proxy's URL is http:// or https:// with a
// host; the inbound parses the rest (inbound/hysteria2_masquerade.hpp).
Status check_proxy_url(ConfigCtx& ctx, const std::string& path, std::string_view url) {
  const size_t scheme = url.rfind("https://", 0) == 0 ? 8 : url.rfind("http://", 0) == 0 ? 7 : 0;
  if (scheme == 0)
    return ctx.fail(Errc::config_invalid, path, "expected an http:// or https:// URL");
  const std::string_view rest = url.substr(scheme);
  const size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  if (authority.empty() || authority[0] == ':')
    return ctx.fail(Errc::config_invalid, path, "the URL has no host");
  if (authority.find('@') != std::string_view::npos)
    return ctx.fail(Errc::config_invalid, path, "user information in the URL is not supported");
  return {};
}

Status parse_masquerade(ObjectReader& r, Hysteria2MasqueradeOptions* m) {
  const std::string key = "masquerade";
  const Json* v = r.find(key);
  if (v == nullptr) return {};
  using Type = Hysteria2MasqueradeOptions::Type;
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    if (s.rfind("file://", 0) == 0) {
      m->type = Type::file;
      m->directory = s.substr(7);
      if (m->directory.empty())
        return r.ctx().fail(Errc::config_invalid, r.path(key), "file:// needs a directory");
      return {};
    }
    if (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) {
      m->type = Type::proxy;
      m->url = s;
      return check_proxy_url(r.ctx(), r.path(key), s);
    }
    return r.ctx().fail(Errc::config_invalid, r.path(key),
                        "expected file:///directory, an http(s) URL or an object");
  }
  const Json* j;
  SLUICE_TRY(r.object(key, &j));
  ObjectReader mr(r.ctx(), *j, r.path(key), kHysteria2MasqueradeFields);
  std::string type;
  SLUICE_TRY(mr.string("type", &type, true));
  if (type == "file") {
    m->type = Type::file;
    SLUICE_TRY(mr.string("directory", &m->directory, true));
  } else if (type == "string") {
    m->type = Type::string;
    uint32_t code = 200;
    SLUICE_TRY(mr.uint32("status_code", &code));
    if (code < 100 || code > 599 || code == 101 || code == 233)
      return r.ctx().fail(Errc::config_invalid, mr.path("status_code"),
                          "expected an HTTP status 100..599 (not 101 or 233)");
    m->status_code = static_cast<int>(code);
    SLUICE_TRY(mr.string("content", &m->content));
    const Json* h;
    SLUICE_TRY(mr.object("headers", &h));
    if (h != nullptr) {
      for (auto it = h->begin(); it != h->end(); ++it) {
        if (!it.value().is_string())
          return r.ctx().fail(Errc::config_wrong_type, join_path(mr.path("headers"), it.key()),
                              "expected string");
        std::string name = it.key();
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name.empty() || name[0] == ':' || name.find_first_of(" \t\r\n") != std::string::npos)
          return r.ctx().fail(Errc::config_invalid, join_path(mr.path("headers"), it.key()),
                              "not a valid header name");
        m->headers.emplace_back(std::move(name), it.value().get<std::string>());
      }
    }
  } else if (type == "proxy") {
    m->type = Type::proxy;
    SLUICE_TRY(mr.string("url", &m->url, true));
    SLUICE_TRY(check_proxy_url(r.ctx(), mr.path("url"), m->url));
    SLUICE_TRY(mr.boolean("rewrite_host", &m->rewrite_host));
    SLUICE_TRY(mr.boolean("insecure", &m->insecure));
  } else {
    return r.ctx().fail(
        Errc::config_invalid, mr.path("type"),
        "unsupported masquerade type \"" + type + "\" (expected file, string or proxy)");
  }
  if (m->type != Type::proxy) {
    mr.ignore("url", "used only by type proxy");
    mr.ignore("rewrite_host", "used only by type proxy");
    mr.ignore("insecure", "used only by type proxy");
  }
  mr.finish();
  return {};
}

// check_port_range accepts "443", "20000:30000" (sing-box) and "20000-30000"
// (the official clients' form).
bool check_port_range(std::string_view s) {
  const size_t sep = s.find_first_of(":-");
  uint16_t a = 0, b = 0;
  if (sep == std::string_view::npos) return parse_port_text(s, &a);
  return parse_port_text(s.substr(0, sep), &a) && parse_port_text(s.substr(sep + 1), &b) && a <= b;
}

}  // namespace

Status parse_hopping_server(ObjectReader& r, ServerEndpoint* endpoint,
                            std::vector<std::string>* server_ports, Duration* hop_interval) {
  SLUICE_TRY(r.listable("server_ports", server_ports));
  for (size_t i = 0; i < server_ports->size(); ++i) {
    if (!check_port_range((*server_ports)[i]))
      return r.ctx().fail(Errc::config_invalid, index_path(r.path("server_ports"), i),
                          "expected a port or a range \"first:last\"");
  }
  // server_port is ignored, so optional, with server_ports (sing-box).
  SLUICE_TRY(r.string("server", &endpoint->server, true));
  SLUICE_TRY(r.port("server_port", &endpoint->server_port, server_ports->empty(), 1));
  SLUICE_TRY(r.duration("hop_interval", hop_interval));
  if (!server_ports->empty() && *hop_interval < std::chrono::seconds(5))
    return r.ctx().fail(Errc::config_invalid, r.path("hop_interval"), "must be at least 5s");
  return {};
}

Status parse_hysteria2_outbound(ObjectReader& r, Hysteria2OutboundOptions* o) {
  SLUICE_TRY(parse_hopping_server(r, &o->endpoint, &o->server_ports, &o->hop_interval));
  SLUICE_TRY(r.duration("hop_interval_max", &o->hop_interval_max));
  if (o->hop_interval_max.count() != 0 && o->hop_interval_max < o->hop_interval)
    return r.ctx().fail(Errc::config_invalid, r.path("hop_interval_max"),
                        "must not be below hop_interval");
  SLUICE_TRY(r.uint32("up_mbps", &o->up_mbps));
  SLUICE_TRY(r.uint32("down_mbps", &o->down_mbps));
  SLUICE_TRY(parse_obfs(r, &o->obfs));
  SLUICE_TRY(r.string("password", &o->password));
  SLUICE_TRY(parse_network(r, &o->network));
  SLUICE_TRY(r.boolean("brutal_debug", &o->brutal_debug));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_client(r.ctx(), *tls, r.path("tls"), &o->tls));
  if (!o->tls.enabled)
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "hysteria2 runs over QUIC: \"tls\": {\"enabled\": true} is required");
  return {};
}

Status parse_hysteria2_inbound(ObjectReader& r, Hysteria2InboundOptions* o) {
  SLUICE_TRY(parse_users(r, kHysteria2UserFields, [&](ObjectReader& u) -> Status {
    Hysteria2User user;
    SLUICE_TRY(u.string("name", &user.name));
    SLUICE_TRY(u.string("password", &user.password, true));
    o->users.push_back(std::move(user));
    return {};
  }));
  SLUICE_TRY(r.uint32("up_mbps", &o->up_mbps));
  SLUICE_TRY(r.uint32("down_mbps", &o->down_mbps));
  SLUICE_TRY(r.boolean("ignore_client_bandwidth", &o->ignore_client_bandwidth));
  SLUICE_TRY(parse_obfs(r, &o->obfs));
  SLUICE_TRY(parse_masquerade(r, &o->masquerade));
  SLUICE_TRY(r.boolean("brutal_debug", &o->brutal_debug));
  SLUICE_TRY(r.listable("listen_ports", &o->listen_ports));
  for (size_t i = 0; i < o->listen_ports.size(); ++i) {
    if (!check_port_range(o->listen_ports[i]))
      return r.ctx().fail(Errc::config_invalid, index_path(r.path("listen_ports"), i),
                          "expected a port or a range \"first:last\"");
  }
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_server(r.ctx(), *tls, r.path("tls"), &o->tls));
  if (!o->tls.enabled)
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "hysteria2 runs over QUIC: \"tls\": {\"enabled\": true, certificate, key} "
                        "is required");
  return {};
}

}  // namespace sluice::config
