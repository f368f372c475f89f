// inbound/hysteria2_factory.hpp: how an Instance builds Hysteria v2 objects
// from a Config (lib/inbound/hysteria2_inbound.cpp, lib/session/hysteria2_session.cpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
#pragma once

#include <memory>
#include <string>

#include "inbound/router.hpp"
#include "inbound/server_driver.hpp"
#include "sluice/config.hpp"
#include "sluice/session.hpp"

namespace sluice {

// make_hysteria2_session builds the outbound |o| (type hysteria2).
Result<std::unique_ptr<Session>> make_hysteria2_session(Engine& e, const OutboundOptions& o,
                                                        std::string* why);
// make_hysteria2_inbound builds the inbound |in| (type hysteria2).
Result<std::unique_ptr<ServerDriver>> make_hysteria2_inbound(Engine& e, const InboundOptions& in,
                                                             Router* router, std::string* why);

}  // namespace sluice
