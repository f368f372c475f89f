// inbound/hysteria2_factory.hpp: how an Instance builds Hysteria v2 objects
// from a Config without linking them into every binary.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Hysteria v2 runs on the QUIC core, which links Debian's static
// libngtcp2.a; that archive is not position-independent, so it cannot go
// into libsluice.so. The Instance therefore reaches Hysteria v2 through
// these two functions, declared weak: a program that links the hysteria2
// objects (the sluice program, tunnel_bench and any program built from the
// static libraries call link_hysteria2(), hysteria2_inbound.hpp) gets
// them; elsewhere (libsluice.so) they are null and a hysteria2 config
// section fails with "not available in this build".
#pragma once

#include <memory>
#include <string>

#include "inbound/router.hpp"
#include "inbound/server_driver.hpp"
#include "sluice/config.hpp"
#include "sluice/session.hpp"

namespace sluice {

// make_hysteria2_session builds the outbound |o| (type hysteria2).
[[gnu::weak]] Result<std::unique_ptr<Session>> make_hysteria2_session(Engine& e,
                                                                      const OutboundOptions& o,
                                                                      std::string* why);
// make_hysteria2_inbound builds the inbound |in| (type hysteria2).
[[gnu::weak]] Result<std::unique_ptr<ServerDriver>> make_hysteria2_inbound(Engine& e,
                                                                           const InboundOptions& in,
                                                                           Router* router,
                                                                           std::string* why);

// hysteria2_available: this binary links the Hysteria v2 objects.
inline bool hysteria2_available() noexcept {
  return &make_hysteria2_session != nullptr && &make_hysteria2_inbound != nullptr;
}

}  // namespace sluice
