// instance.cpp: building sessions, router and inbounds from a Config.
#include "inbound/instance.hpp"

#include "crypto/tls_context.hpp"
#include "inbound/hysteria1_inbound.hpp"
#include "inbound/hysteria2_factory.hpp"
#include "inbound/loop_check.hpp"
#include "inbound/tuic_config.hpp"

#include "session/block_session.hpp"
#include "session/direct_session.hpp"
#include "session/hysteria1_session.hpp"
#include "session/ssh_session.hpp"
#include "session/trojan_session.hpp"
#include "session/upstream_proxy_session.hpp"
#include "session/vless_session.hpp"

namespace sluice {

namespace {
uint64_t to_ms(Duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

// udp_timeout_ms: a listen udp_timeout in milliseconds; 0 (or anything
// below a millisecond) means the default, five minutes, as in sing-box.
uint64_t udp_timeout_ms(Duration d) {
  const uint64_t ms = to_ms(d);
  return ms == 0 ? 5 * 60 * 1000 : ms;
}

ConnectionLimit::Options limits(const ListenOptions& l) {
  return ConnectionLimit::Options{l.max_connections, l.max_connections_per_ip};
}

net::DialOptions dial_options(const DialOptions& d) {
  net::DialOptions o;
  o.connect_timeout_ms = to_ms(d.connect_timeout);
  if (o.connect_timeout_ms == 0) o.connect_timeout_ms = 5000;
  o.attempt_delay_ms = to_ms(d.fallback_delay);
  if (o.attempt_delay_ms == 0) o.attempt_delay_ms = 300;
  o.fast_open = d.tcp_fast_open;
  o.keepalive_s =
      d.disable_tcp_keep_alive
          ? 0
          : static_cast<unsigned>(std::max<uint64_t>(1, to_ms(d.tcp_keep_alive) / 1000));
  return o;
}
}  // namespace

namespace {

// check_loop: false (with |why|) when the final outbound's proxy server is one
// of |own| listeners: every inbound routes there, so each connection would
// open another through the same path (inbound/loop_check.hpp).
bool check_loop(const Config& cfg, const std::vector<OwnListener>& own, std::string* why) {
  const OutboundOptions* o = cfg.final_outbound();
  if (o == nullptr || own.empty()) return true;
  const ServerEndpoint* ep = std::visit(
      [](const auto& v) -> const ServerEndpoint* {
        if constexpr (requires { v.endpoint; })
          return &v.endpoint;
        else
          return nullptr;
      },
      o->options);
  if (ep == nullptr) return true;
  const OwnListener* hit =
      dialed_listener(ep->server, ep->server_port, own, local_interface_addresses());
  if (hit == nullptr) return true;
  *why = "outbound " + o->tag + ": its server " + ep->server + ":" +
         std::to_string(ep->server_port) + " is this configuration's own inbound" +
         (hit->tag.empty() ? std::string() : " " + hit->tag) +
         ", which routes back to it: every connection would loop through itself";
  return false;
}

}  // namespace

Result<std::unique_ptr<Session>> make_session(Engine& e, const OutboundOptions& o,
                                              std::string* error_detail) {
  auto fail = [&](Errc err, const std::string& why) -> Errc {
    if (error_detail) *error_detail = "outbound " + o.tag + ": " + why;
    return err;
  };
  if (!o.dial.detour.empty()) return fail(Errc::not_supported, "detour is not supported yet");
  switch (o.type) {
    case OutboundType::direct:
      return std::unique_ptr<Session>(new DirectSession(e, o.tag, dial_options(o.dial)));
    case OutboundType::block:
      return std::unique_ptr<Session>(new BlockSession(e, o.tag));
    case OutboundType::socks: {
      const auto& so = std::get<SocksOutboundOptions>(o.options);
      if (so.version != "5")
        return fail(Errc::not_supported, "socks version " + so.version + " (only 5)");
      UpstreamProxyOptions u;
      u.kind = UpstreamProxyOptions::Kind::socks;
      u.server = so.endpoint.server;
      u.server_port = so.endpoint.server_port;
      u.username = so.username;
      u.password = so.password;
      u.dial = dial_options(o.dial);
      return std::unique_ptr<Session>(new UpstreamProxySession(e, o.tag, std::move(u)));
    }
    case OutboundType::http: {
      const auto& ho = std::get<HttpOutboundOptions>(o.options);
      if (ho.tls.enabled)
        return fail(Errc::not_supported, "http outbound over TLS needs the TLS transport");
      UpstreamProxyOptions u;
      u.kind = UpstreamProxyOptions::Kind::http;
      u.server = ho.endpoint.server;
      u.server_port = ho.endpoint.server_port;
      u.username = ho.username;
      u.password = ho.password;
      u.headers = ho.headers;
      u.dial = dial_options(o.dial);
      return std::unique_ptr<Session>(new UpstreamProxySession(e, o.tag, std::move(u)));
    }
    case OutboundType::trojan: {
      const auto& to = std::get<TrojanOutboundOptions>(o.options);
      TrojanSessionOptions t;
      t.server = to.endpoint.server;
      t.server_port = to.endpoint.server_port;
      t.password = to.password;
      t.dial.dial = dial_options(o.dial);
      std::string why;
      auto s = TrojanSession::create(e, o.tag, t, to.tls, &why);
      if (!s) return fail(s.error(), why);
      return std::unique_ptr<Session>(std::move(*s));
    }
    case OutboundType::vless: {
      const auto& vo = std::get<VlessOutboundOptions>(o.options);
      VlessSessionOptions v;
      v.server = vo.endpoint.server;
      v.server_port = vo.endpoint.server_port;
      auto id = vless::parse_user_id(vo.uuid);
      if (!id) return fail(id.error(), "uuid: expected a UUID or a name of 1-30 characters");
      v.user = *id;
      v.flow = vo.flow.empty() ? vless::Flow::none : vless::Flow::vision;
      v.xudp = vo.packet_encoding == "xudp";
      v.tcp = vo.network.tcp;
      v.udp = vo.network.udp;
      v.dial.dial = dial_options(o.dial);
      std::string why;
      auto s = VlessSession::create(e, o.tag, v, vo.tls, &why);
      if (!s) return fail(s.error(), why);
      return std::unique_ptr<Session>(std::move(*s));
    }
    case OutboundType::ssh: {
      const auto& so = std::get<SshOutboundOptions>(o.options);
      SshSessionOptions v;
      v.server = so.endpoint.server;
      v.server_port = so.endpoint.server_port;
      v.user = so.user;
      v.password = so.password;
      v.keys.private_key = so.private_key;
      v.keys.private_key_path = so.private_key_path;
      v.keys.private_key_passphrase = so.private_key_passphrase;
      v.keys.host_key = so.host_key;
      v.keys.host_key_algorithms = so.host_key_algorithms;
      v.keys.known_hosts = so.known_hosts;
      v.keys.insecure = so.insecure;
      v.client_version = so.client_version;
      v.dial = dial_options(o.dial);
      std::string why;
      auto s = SshSession::create(e, o.tag, std::move(v), &why);
      if (!s) return fail(s.error(), why);
      return std::unique_ptr<Session>(std::move(*s));
    }
    case OutboundType::tuic: {
      std::string why;
      auto s = make_tuic_session(e, o, &why);
      if (!s) return fail(s.error(), why);
      return std::move(*s);
    }
    case OutboundType::hysteria2: {
      std::string why;
      auto s = make_hysteria2_session(e, o, &why);
      if (!s) return fail(s.error(), why);
      return s;
    }
    case OutboundType::hysteria: {
      std::string why;
      auto s = make_hysteria1_session(e, o, &why);
      if (!s) return fail(s.error(), why);
      return s;
    }
  }
  return fail(Errc::not_supported, "unknown outbound type");
}

Result<std::unique_ptr<Instance>> Instance::create(Engine& e, const Config& cfg,
                                                   std::string* reason) {
  return build(e, cfg, reason, /*listen=*/true);
}

Result<std::unique_ptr<Instance>> Instance::check(Engine& e, const Config& cfg,
                                                  std::string* reason) {
  return build(e, cfg, reason, /*listen=*/false);
}

Result<std::unique_ptr<Instance>> Instance::build(Engine& e, const Config& cfg, std::string* reason,
                                                  bool listen) {
  std::unique_ptr<Instance> inst(new (std::nothrow) Instance(e));
  if (!inst) return Errc::no_memory;
  for (const auto& o : cfg.outbounds) {
    auto s = make_session(e, o, reason);
    if (!s) return s.error();
    inst->sessions_.push_back(std::move(*s));
  }
  if (inst->sessions_.empty()) {
    // sing-box's default: with no outbound, traffic goes out directly.
    inst->sessions_.push_back(std::make_unique<DirectSession>(e, "direct", net::DialOptions{}));
  }
  const OutboundOptions* fo = cfg.final_outbound();
  inst->final_ = fo ? inst->session(fo->tag) : inst->sessions_.front().get();
  if (!inst->final_) inst->final_ = inst->sessions_.front().get();
  inst->router_ = std::make_unique<FinalRouter>(inst->final_);

  std::vector<OwnListener> own;  // bound (or, checking, configured) listen addresses
  auto add_own = [&](const InboundOptions& in, uint16_t port) {
    OwnListener l;
    if (make_listener(in.tag, in.listen.listen, port, &l)) own.push_back(std::move(l));
  };
  for (const auto& in : cfg.inbounds) {
    if (!listen) add_own(in, in.listen.listen_port);
    if (in.type == InboundType::trojan) {
      const auto& to = std::get<TrojanInboundOptions>(in.options);
      TrojanInboundConfig tc;
      tc.tag = in.tag;
      tc.listen = in.listen.listen;
      tc.port = in.listen.listen_port;
      tc.users = to.users;
      tc.tls = to.tls;
      tc.fallback = to.fallback;
      tc.fallback_for_alpn = to.fallback_for_alpn;
      tc.udp_timeout_ms = udp_timeout_ms(in.listen.udp_timeout);
      tc.limits = limits(in.listen);
      std::string why;
      if (!listen) {
        // What create loads before it listens: the certificate and key.
        auto ctx = tls::TlsServerContext::create(tc.tls, &why);
        if (!ctx) {
          if (reason) *reason = ServerDriver::make_log_prefix("inbound", in.tag) + ": tls: " + why;
          Instance* raw = inst.release();
          raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
          return ctx.error();
        }
        continue;
      }
      auto ti = TrojanInbound::create(e, tc, inst->router_.get(), &why);
      if (!ti) {
        if (reason) *reason = ServerDriver::make_log_prefix("inbound", in.tag) + ": " + why;
        Instance* raw = inst.release();
        raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
        return ti.error();
      }
      add_own(in, (*ti)->port());
      inst->trojan_inbounds_.push_back(std::move(*ti));
      continue;
    }
    if (in.type == InboundType::vless) {
      const auto& vo = std::get<VlessInboundOptions>(in.options);
      VlessInboundConfig vc;
      vc.tag = in.tag;
      vc.listen = in.listen.listen;
      vc.port = in.listen.listen_port;
      vc.udp_idle_timeout_ms = udp_timeout_ms(in.listen.udp_timeout);
      vc.limits = limits(in.listen);
      std::string why;
      for (const VlessUser& u : vo.users) {
        auto id = vless::parse_user_id(u.uuid);
        if (!id) {
          why = "user " + u.name + ": bad uuid";
          break;
        }
        vc.users.push_back({u.name, *id, u.flow.empty() ? vless::Flow::none : vless::Flow::vision});
      }
      vc.tls = vo.tls;
      vc.fallback = vo.fallback;
      vc.fallback_for_alpn = vo.fallback_for_alpn;
      if (!listen) {
        Status st = why.empty() ? Status() : Status(Errc::config_invalid);
        if (st && vc.tls.enabled) {
          auto ctx = tls::TlsServerContext::create(vc.tls, &why);
          if (!ctx) {
            why = "tls: " + why;
            st = ctx.error();
          }
        }
        if (!st) {
          if (reason) *reason = ServerDriver::make_log_prefix("inbound", in.tag) + ": " + why;
          Instance* raw = inst.release();
          raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
          return st.error();
        }
        continue;
      }
      auto vi = why.empty() ? VlessInbound::create(e, vc, inst->router_.get(), &why)
                            : Result<std::unique_ptr<VlessInbound>>(Errc::config_invalid);
      if (!vi) {
        if (reason) *reason = ServerDriver::make_log_prefix("inbound", in.tag) + ": " + why;
        Instance* raw = inst.release();
        raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
        return vi.error();
      }
      add_own(in, (*vi)->port());
      inst->vless_inbounds_.push_back(std::move(*vi));
      continue;
    }
    if (in.type == InboundType::tuic) {
      std::string why;
      auto qi = make_tuic_inbound(e, in, inst->router_.get(), &why);
      if (!qi) {
        if (reason) *reason = ServerDriver::make_log_prefix("inbound", in.tag) + ": " + why;
        Instance* raw = inst.release();
        raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
        return qi.error();
      }
      inst->quic_inbounds_.push_back(std::move(*qi));
      continue;
    }
    if (in.type == InboundType::hysteria2 || in.type == InboundType::hysteria) {
      std::string why;
      auto hi = in.type == InboundType::hysteria
                    ? make_hysteria1_inbound(e, in, inst->router_.get(), &why)
                    : make_hysteria2_inbound(e, in, inst->router_.get(), &why);
      if (!hi) {
        if (reason) *reason = ServerDriver::make_log_prefix("inbound", in.tag) + ": " + why;
        Instance* raw = inst.release();
        raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
        return hi.error();
      }
      inst->quic_inbounds_.push_back(std::move(*hi));
      continue;
    }
    ProxyInboundOptions po;
    po.tag = in.tag;
    po.listen = in.listen.listen;
    po.port = in.listen.listen_port;
    po.udp_timeout_ms = udp_timeout_ms(in.listen.udp_timeout);
    po.limits = limits(in.listen);
    auto copy_users = [&](const std::vector<User>& users) {
      for (const auto& u : users) po.users.push_back({u.username, u.password});
    };
    switch (in.type) {
      case InboundType::socks: {
        const auto& so = std::get<SocksInboundOptions>(in.options);
        po.kind = ProxyKind::socks;
        copy_users(so.users);
        po.udp = so.udp;
        break;
      }
      case InboundType::http:
        po.kind = ProxyKind::http;
        copy_users(std::get<HttpInboundOptions>(in.options).users);
        po.udp = false;
        break;
      case InboundType::mixed: {
        const auto& mo = std::get<MixedInboundOptions>(in.options);
        po.kind = ProxyKind::mixed;
        copy_users(mo.users);
        po.udp = mo.udp;
        break;
      }
      case InboundType::trojan:
      case InboundType::vless:
      case InboundType::tuic:
      case InboundType::hysteria2:
      case InboundType::hysteria:
        break;  // handled above
    }
    if (!listen) continue;  // a proxy inbound loads nothing before it binds
    std::string why;
    auto pi = ProxyInbound::create(e, po, inst->router_.get(), &why);
    if (!pi) {
      if (reason) *reason = ServerDriver::make_log_prefix("inbound", in.tag) + ": " + why;
      // Close what was already listening; the Engine's loop finishes it.
      Instance* raw = inst.release();
      raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
      return pi.error();
    }
    add_own(in, (*pi)->port());
    inst->inbounds_.push_back(std::move(*pi));
  }
  if (std::string why; !check_loop(cfg, own, &why)) {
    if (reason) *reason = why;
    Instance* raw = inst.release();
    raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
    return Errc::config_invalid;
  }
  return inst;
}

Instance::~Instance() = default;

Session* Instance::session(std::string_view tag) const noexcept {
  for (const auto& s : sessions_)
    if (s->tag() == tag) return s.get();
  return nullptr;
}

ProxyInbound* Instance::inbound(std::string_view tag) const noexcept {
  for (const auto& i : inbounds_)
    if (i->tag() == tag) return i.get();
  return nullptr;
}

TrojanInbound* Instance::trojan_inbound(std::string_view tag) const noexcept {
  for (const auto& i : trojan_inbounds_)
    if (i->tag() == tag) return i.get();
  return nullptr;
}

VlessInbound* Instance::vless_inbound(std::string_view tag) const noexcept {
  for (const auto& i : vless_inbounds_)
    if (i->tag() == tag) return i.get();
  return nullptr;
}

ServerDriver* Instance::quic_inbound(std::string_view tag) const noexcept {
  for (const auto& i : quic_inbounds_)
    if (i->tag() == tag) return i.get();
  return nullptr;
}

uint16_t Instance::inbound_port(std::string_view tag) const noexcept {
  if (ProxyInbound* p = inbound(tag)) return p->port();
  if (TrojanInbound* t = trojan_inbound(tag)) return t->port();
  if (VlessInbound* v = vless_inbound(tag)) return v->port();
  if (ServerDriver* q = quic_inbound(tag)) return q->port();
  return 0;
}

void Instance::close(CloseCallback cb, void* user) noexcept {
  if (closing_) return;
  closing_ = true;
  close_cb_ = cb;
  close_user_ = user;
  open_inbounds_ =
      inbounds_.size() + trojan_inbounds_.size() + vless_inbounds_.size() + quic_inbounds_.size();
  if (open_inbounds_ == 0) {
    inbound_closed();
    return;
  }
  for (auto& i : inbounds_)
    i->close([](void* u) { static_cast<Instance*>(u)->inbound_closed(); }, this);
  for (auto& i : trojan_inbounds_)
    i->close([](void* u) { static_cast<Instance*>(u)->inbound_closed(); }, this);
  for (auto& i : vless_inbounds_)
    i->close([](void* u) { static_cast<Instance*>(u)->inbound_closed(); }, this);
  for (auto& i : quic_inbounds_)
    i->close([](void* u) { static_cast<Instance*>(u)->inbound_closed(); }, this);
}

void Instance::inbound_closed() noexcept {
  if (open_inbounds_ > 0) --open_inbounds_;
  if (open_inbounds_ > 0) return;
  // Then the outbounds, each with Session::close: the Instance is closed when
  // every one has called back. A Session the Engine's stop closed already
  // (close_begun) calls nobody back; the Engine waits for it instead.
  open_sessions_ = 1;  // until every close has been started
  for (auto& s : sessions_) {
    if (s->close_begun()) continue;
    ++open_sessions_;
    s->close([](void* u) { static_cast<Instance*>(u)->session_closed(); }, this);
  }
  session_closed();
}

void Instance::session_closed() noexcept {
  if (--open_sessions_ > 0) return;
  closed_ = true;
  CloseCallback cb = close_cb_;
  close_cb_ = nullptr;
  if (cb) cb(close_user_);
}

}  // namespace sluice
