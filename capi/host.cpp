// host.cpp: what the C ABI offers hosts beyond objects: the protocol list,
// the socket hook and network changes.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The socket hook and the network-change registry live per Engine in
// lib/net/host_hooks (the code creating sockets reaches them there); these
// shims only install the host's callback and pass the host's report on.
#include <cstring>

#include "capi/engine.hpp"
#include "net/host_hooks.hpp"

namespace sluice::capi {
namespace {

// The config "type" names this library accepts, outbound or inbound
// (lib/config/outbound.cpp, inbound.cpp); tests/capi checks each one
// against the parser. Sorted. The QUIC protocols are part of libsluice.so
// (ngtcp2 and nghttp3 are linked in, hidden: docs/embedding.md).
constexpr const char* kProtocols[] = {"block", "direct", "http",   "hysteria", "hysteria2", "mixed",
                                      "socks", "ssh",    "trojan", "tuic",     "vless"};
constexpr const char* kProtocolList =
    "block,direct,http,hysteria,hysteria2,mixed,socks,ssh,trojan,tuic,vless";

static_assert(sluice::net::kNetworkLinkChanged == SLUICE_NETWORK_LINK_CHANGED);
static_assert(sluice::net::kNetworkWoke == SLUICE_NETWORK_WOKE);
static_assert(static_cast<int>(sluice::net::SocketKind::tcp) == SLUICE_SOCKET_TCP);
static_assert(static_cast<int>(sluice::net::SocketKind::udp) == SLUICE_SOCKET_UDP);
static_assert(static_cast<int>(sluice::net::SocketKind::quic) == SLUICE_SOCKET_QUIC);

}  // namespace
}  // namespace sluice::capi

using sluice::capi::CEngine;
using sluice::capi::from_opaque;
using sluice::capi::guard;
using sluice::capi::on_loop;

extern "C" {

SLUICE_EXTERN int sluice_has_protocol(const char* name) {
  if (!name) return 0;
  for (const char* p : sluice::capi::kProtocols)
    if (std::strcmp(p, name) == 0) return 1;
  return 0;
}

SLUICE_EXTERN const char* sluice_protocols(void) { return sluice::capi::kProtocolList; }

SLUICE_EXTERN int sluice_engine_set_socket_hook(sluice_engine* engine, sluice_socket_cb cb,
                                                void* user_data) {
  if (!engine) return SLUICE_ERR_INVALID_ARGUMENT;
  CEngine* ce = from_opaque<CEngine>(engine);
  if (!on_loop(ce->engine()) || ce->stopping()) return SLUICE_ERR_INVALID_STATE;
  return guard([&]() -> int {
    if (auto hooks = cb ? sluice::net::HostHooks::of(ce->engine())
                        : sluice::net::HostHooks::find(ce->engine()))
      hooks->set_socket_hook(cb, user_data);
    return SLUICE_OK;
  });
}

SLUICE_EXTERN int sluice_engine_network_changed(sluice_engine* engine, uint32_t flags) {
  if (!engine) return SLUICE_ERR_INVALID_ARGUMENT;
  CEngine* ce = from_opaque<CEngine>(engine);
  if (!on_loop(ce->engine()) || ce->stopping()) return SLUICE_ERR_INVALID_STATE;
  return guard([&]() -> int {
    const unsigned known = flags & sluice::net::kNetworkAll;
    (void)sluice::net::notify_network_changed(ce->engine(),
                                              known != 0 ? known : sluice::net::kNetworkAll);
    return SLUICE_OK;
  });
}

}  // extern "C"
