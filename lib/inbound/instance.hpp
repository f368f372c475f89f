// instance.hpp: Instance, everything a Config describes, running on one Engine.
//
// An Instance builds one Session per outbound, a Router (route.final), and one
// inbound per inbound entry, and owns them. The C ABI's "add from JSON" and
// `sluice run` both go through it. close() closes the inbounds (the relays
// they started belong to the Engine) and then the sessions, each with
// Session::close; exactly one callback, once every session it closed has
// called back; delete the Instance only after it.
//
// Threads: the Engine's loop thread (or before the Engine starts).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "inbound/proxy_inbound.hpp"
#include "inbound/router.hpp"
#include "inbound/trojan_inbound.hpp"
#include "inbound/vless_inbound.hpp"
#include "sluice/config.hpp"
#include "sluice/engine.hpp"
#include "sluice/session.hpp"

namespace sluice {

class Instance {
 public:
  // create builds |cfg| on |e|. On failure |reason| names the inbound or
  // outbound at fault and nothing is left running.
  static Result<std::unique_ptr<Instance>> create(Engine& e, const Config& cfg,
                                                  std::string* reason);
  // check builds what create builds (sessions with their TLS contexts and
  // CA files, inbound certificates and keys, users) but opens no listener,
  // so `sluice check` fails on exactly what `run` would fail on, short of
  // binding ports. The result holds the sessions; close it as any Instance.
  static Result<std::unique_ptr<Instance>> check(Engine& e, const Config& cfg, std::string* reason);
  ~Instance();

  Session* session(std::string_view tag) const noexcept;  // nullptr if none
  Session* final_session() const noexcept { return final_; }
  size_t inbound_count() const noexcept { return inbounds_.size(); }
  ProxyInbound* inbound(size_t i) const noexcept { return inbounds_[i].get(); }
  ProxyInbound* inbound(std::string_view tag) const noexcept;
  // trojan_inbound: the Trojan server tagged |tag|, or nullptr.
  TrojanInbound* trojan_inbound(std::string_view tag) const noexcept;
  // vless_inbound: the VLESS server tagged |tag|, or nullptr.
  VlessInbound* vless_inbound(std::string_view tag) const noexcept;
  // quic_inbound: the QUIC-based server (tuic, hysteria2, hysteria) tagged
  // |tag|, or nullptr.
  ServerDriver* quic_inbound(std::string_view tag) const noexcept;
  // inbound_port: the listening port of any inbound tagged |tag| (0 if none).
  uint16_t inbound_port(std::string_view tag) const noexcept;

  void close(CloseCallback cb, void* user) noexcept;
  bool closed() const noexcept { return closed_; }

 private:
  explicit Instance(Engine& e) : engine_(e) {}
  static Result<std::unique_ptr<Instance>> build(Engine& e, const Config& cfg, std::string* reason,
                                                 bool listen);
  void inbound_closed() noexcept;
  void session_closed() noexcept;

  Engine& engine_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::unique_ptr<FinalRouter> router_;
  std::vector<std::unique_ptr<ProxyInbound>> inbounds_;
  std::vector<std::unique_ptr<TrojanInbound>> trojan_inbounds_;
  std::vector<std::unique_ptr<VlessInbound>> vless_inbounds_;
  std::vector<std::unique_ptr<ServerDriver>> quic_inbounds_;
  Session* final_ = nullptr;
  size_t open_inbounds_ = 0;
  size_t open_sessions_ = 0;  // closes started and not yet called back (+1 while starting)
  bool closing_ = false;
  bool closed_ = false;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
};

}  // namespace sluice
