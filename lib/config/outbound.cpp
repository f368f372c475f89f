// config/outbound.cpp: outbound objects (direct, block, socks, http) and the
// dial fields merged into each (docs/config.md, "Outbounds").
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/parse.hpp"

namespace sluice::config {
namespace {

Status parse_domain_strategy(ObjectReader& r, DomainStrategy* out) {
  std::string s;
  SLUICE_TRY(r.string("domain_strategy", &s));
  if (s.empty() || s == "as_is") {
    *out = DomainStrategy::as_is;
  } else if (s == "prefer_ipv4") {
    *out = DomainStrategy::prefer_ipv4;
  } else if (s == "prefer_ipv6") {
    *out = DomainStrategy::prefer_ipv6;
  } else if (s == "ipv4_only") {
    *out = DomainStrategy::ipv4_only;
  } else if (s == "ipv6_only") {
    *out = DomainStrategy::ipv6_only;
  } else {
    return r.ctx().fail(
        Errc::config_invalid, r.path("domain_strategy"),
        "expected as_is, prefer_ipv4, prefer_ipv6, ipv4_only or ipv6_only, got \"" + s + "\"");
  }
  return {};
}

// parse_routing_mark accepts an integer or a "0x..." / decimal string, as
// sing-box does.
Status parse_routing_mark(ObjectReader& r, uint32_t* out) {
  const Json* v = r.find("routing_mark");
  if (v == nullptr) return {};
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    std::string_view digits = s;
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      digits.remove_prefix(2);
      base = 16;
    }
    uint64_t m = 0;
    bool ok = !digits.empty() && digits.size() <= 10;
    for (char c : digits) {
      int d = (c >= '0' && c <= '9')                 ? c - '0'
              : (base == 16 && c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (base == 16 && c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                     : -1;
      if (d < 0) ok = false;
      m = m * static_cast<uint64_t>(base) + static_cast<uint64_t>(d < 0 ? 0 : d);
    }
    if (!ok || m > UINT32_MAX) {
      return r.ctx().fail(Errc::config_invalid, r.path("routing_mark"),
                          "expected integer or \"0x...\" string, got \"" + s + "\"");
    }
    *out = static_cast<uint32_t>(m);
    return {};
  }
  return r.uint32("routing_mark", out);
}

Status parse_dial(ObjectReader& r, DialOptions* out) {
  SLUICE_TRY(r.string("detour", &out->detour));
  SLUICE_TRY(r.duration("connect_timeout", &out->connect_timeout));
  SLUICE_TRY(r.boolean("tcp_fast_open", &out->tcp_fast_open));
  SLUICE_TRY(r.boolean("disable_tcp_keep_alive", &out->disable_tcp_keep_alive));
  SLUICE_TRY(r.duration("tcp_keep_alive", &out->tcp_keep_alive));
  SLUICE_TRY(r.duration("tcp_keep_alive_interval", &out->tcp_keep_alive_interval));
  SLUICE_TRY(r.string("bind_interface", &out->bind_interface));
  SLUICE_TRY(r.string("inet4_bind_address", &out->inet4_bind_address));
  SLUICE_TRY(r.string("inet6_bind_address", &out->inet6_bind_address));
  for (const char* k : {"inet4_bind_address", "inet6_bind_address"}) {
    const std::string& v = std::string_view(k) == "inet4_bind_address" ? out->inet4_bind_address
                                                                       : out->inet6_bind_address;
    if (!v.empty() && !is_ip_literal(v)) {
      return r.ctx().fail(Errc::config_invalid, r.path(k),
                          "expected an IP address, got \"" + v + "\"");
    }
  }
  SLUICE_TRY(parse_routing_mark(r, &out->routing_mark));
  SLUICE_TRY(parse_domain_strategy(r, &out->domain_strategy));
  SLUICE_TRY(r.duration("fallback_delay", &out->fallback_delay));
  SLUICE_TRY(r.boolean("udp_fragment", &out->udp_fragment));
  r.ignore("domain_resolver", "not supported yet, the system resolver is used");
  // Accept-and-ignore fields (docs/config.md: "ignored").
  for (const char* k : {"tcp_multi_path", "bind_address_no_port", "reuse_addr", "netns",
                        "network_strategy", "network_type", "fallback_network_type"}) {
    r.ignore(k);
  }
  return {};
}

}  // namespace

Status parse_network(ObjectReader& r, Network* out) {
  std::vector<std::string> list;
  SLUICE_TRY(r.listable("network", &list));
  if (list.empty()) return {};
  Network n{false, false};
  for (const std::string& s : list) {
    if (s == "tcp") {
      n.tcp = true;
    } else if (s == "udp") {
      n.udp = true;
    } else {
      return r.ctx().fail(Errc::config_invalid, r.path("network"),
                          "expected \"tcp\" or \"udp\", got \"" + s + "\"");
    }
  }
  *out = n;
  return {};
}

Status parse_server(ObjectReader& r, ServerEndpoint* out) {
  SLUICE_TRY(r.string("server", &out->server, true));
  SLUICE_TRY(r.port("server_port", &out->server_port, true, 1));
  return {};
}

namespace {

Status parse_socks(ObjectReader& r, SocksOutboundOptions* o) {
  SLUICE_TRY(parse_server(r, &o->endpoint));
  SLUICE_TRY(r.string("version", &o->version));
  if (o->version.empty()) o->version.push_back('5');
  if (o->version == "4" || o->version == "4a") {
    std::string msg = "SOCKS";
    msg.append(o->version).append(" is not supported yet (use \"5\")");
    return r.ctx().fail(Errc::config_invalid, r.path("version"), msg);
  }
  if (o->version != "5") {
    return r.ctx().fail(Errc::config_invalid, r.path("version"),
                        "expected \"4\", \"4a\" or \"5\", got \"" + o->version + "\"");
  }
  SLUICE_TRY(r.string("username", &o->username));
  SLUICE_TRY(r.string("password", &o->password));
  // RFC 1929 carries each in a length byte; a username is needed to send a password.
  if (o->username.size() > 255) {
    return r.ctx().fail(Errc::config_invalid, r.path("username"), "must be at most 255 bytes");
  }
  if (o->password.size() > 255) {
    return r.ctx().fail(Errc::config_invalid, r.path("password"), "must be at most 255 bytes");
  }
  if (o->username.empty() && !o->password.empty()) {
    return r.ctx().fail(Errc::config_invalid, r.path("username"),
                        "required when a password is set");
  }
  SLUICE_TRY(parse_network(r, &o->network));
  SLUICE_TRY(r.reject("udp_over_tcp", "UDP over TCP is not supported"));
  return {};
}

Status parse_http(ObjectReader& r, HttpOutboundOptions* o) {
  SLUICE_TRY(parse_server(r, &o->endpoint));
  SLUICE_TRY(r.string("username", &o->username));
  SLUICE_TRY(r.string("password", &o->password));
  if (o->username.find(':') != std::string::npos) {
    return r.ctx().fail(Errc::config_invalid, r.path("username"),
                        "must not contain ':' (RFC 7617)");
  }
  SLUICE_TRY(r.string("path", &o->path));
  const Json* headers;
  SLUICE_TRY(r.object("headers", &headers));
  if (headers != nullptr) {
    std::string base = r.path("headers");
    for (auto it = headers->begin(); it != headers->end(); ++it) {
      std::string p = join_path(base, it.key());
      auto bad_char = [](const std::string& s) {
        for (unsigned char c : s) {
          if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
        }
        return false;
      };
      if (it.key().empty() || bad_char(it.key()) || it.key().find(':') != std::string::npos ||
          it.key().find(' ') != std::string::npos) {
        return r.ctx().fail(Errc::config_invalid, p, "invalid header name");
      }
      std::vector<std::string> values;
      if (it->is_string()) {
        values.push_back(it->get<std::string>());
      } else if (it->is_array()) {
        for (size_t i = 0; i < it->size(); ++i) {
          const Json& e = (*it)[i];
          if (!e.is_string()) {
            return r.ctx().fail(Errc::config_wrong_type, index_path(p, i),
                                std::string("expected string, got ") + json_type_name(e));
          }
          values.push_back(e.get<std::string>());
        }
      } else {
        return r.ctx().fail(
            Errc::config_wrong_type, p,
            std::string("expected string or array of strings, got ") + json_type_name(*it));
      }
      for (std::string& v : values) {
        if (bad_char(v)) return r.ctx().fail(Errc::config_invalid, p, "control character in value");
        o->headers.emplace_back(it.key(), std::move(v));
      }
    }
  }
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_client(r.ctx(), *tls, r.path("tls"), &o->tls));
  return reality_needs_vless(r.ctx(), r.path("tls"), o->tls.reality.enabled);
}

}  // namespace

Status parse_outbound(ConfigCtx& ctx, const Json& j, const std::string& path,
                      OutboundOptions* out) {
  SLUICE_TRY(check_object(ctx, j, path));
  ObjectReader r(ctx, j, path, kOutboundFields);
  std::string type;
  SLUICE_TRY(r.string("type", &type, true));
  SLUICE_TRY(r.string("tag", &out->tag));
  if (type == "direct") {
    out->type = OutboundType::direct;
    r.add_fields(kDirectOutboundFields);
    out->options = DirectOutboundOptions{};
    // Removed in sing-box 1.13: an error, not a warning,
    // because silently dialing the original destination would change traffic.
    SLUICE_TRY(r.reject("override_address", "removed in sing-box 1.13; use a route rule"));
    SLUICE_TRY(r.reject("override_port", "removed in sing-box 1.13; use a route rule"));
    SLUICE_TRY(r.reject("proxy_protocol", "removed from sing-box"));
  } else if (type == "block") {
    out->type = OutboundType::block;
    r.add_fields(kBlockOutboundFields);
    out->options = BlockOutboundOptions{};
  } else if (type == "socks") {
    out->type = OutboundType::socks;
    r.add_fields(kSocksOutboundFields);
    SocksOutboundOptions o;
    SLUICE_TRY(parse_socks(r, &o));
    out->options = std::move(o);
  } else if (type == "http") {
    out->type = OutboundType::http;
    r.add_fields(kHttpOutboundFields);
    HttpOutboundOptions o;
    SLUICE_TRY(parse_http(r, &o));
    out->options = std::move(o);
  } else if (type == "trojan") {
    out->type = OutboundType::trojan;
    r.add_fields(kTrojanOutboundFields);
    TrojanOutboundOptions o;
    SLUICE_TRY(parse_trojan_outbound(r, &o));
    out->options = std::move(o);
  } else if (type == "vless") {
    out->type = OutboundType::vless;
    r.add_fields(kVlessOutboundFields);
    VlessOutboundOptions o;
    SLUICE_TRY(parse_vless_outbound(r, &o));
    out->options = std::move(o);
  } else if (type == "ssh") {
    out->type = OutboundType::ssh;
    r.add_fields(kSshOutboundFields);
    SshOutboundOptions o;
    SLUICE_TRY(parse_ssh_outbound(r, &o));
    out->options = std::move(o);
  } else if (type == "tuic") {
    out->type = OutboundType::tuic;
    r.add_fields(kTuicOutboundFields);
    TuicOutboundOptions o;
    SLUICE_TRY(parse_tuic_outbound(r, &o));
    out->options = std::move(o);
  } else if (type == "hysteria2") {
    out->type = OutboundType::hysteria2;
    r.add_fields(kHysteria2OutboundFields);
    Hysteria2OutboundOptions o;
    SLUICE_TRY(parse_hysteria2_outbound(r, &o));
    out->options = std::move(o);
  } else if (type == "hysteria") {
    out->type = OutboundType::hysteria;
    r.add_fields(kHysteriaOutboundFields);
    HysteriaOutboundOptions o;
    SLUICE_TRY(parse_hysteria_outbound(r, &o));
    out->options = std::move(o);
  } else {
    return ctx.fail(Errc::config_invalid, r.path("type"),
                    "unsupported outbound type \"" + type +
                        "\" (expected direct, block, socks, http, trojan, vless, ssh, tuic, "
                        "hysteria2 or hysteria)");
  }
  if (out->type != OutboundType::block) {
    r.add_fields(kDialFields);
    SLUICE_TRY(parse_dial(r, &out->dial));
  }
  r.finish();
  return {};
}

}  // namespace sluice::config
