// inbound/loop_check.hpp: refusing a configuration whose outbound dials one
// of its own inbounds.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every inbound routes to the final outbound. If that outbound's proxy
// server is one of this configuration's own listeners, each connection
// opens another through itself until descriptors run out (one CONNECT was
// seen to become ~10,000 nested connections). Instance::create checks this
// once its listeners are bound (so ephemeral ports are known), Instance::check
// with the configured ports. A listener on 0.0.0.0 or :: matches a server
// address that is a loopback address, the unspecified address, or one of the
// host's interface addresses. A server given as a host name other than
// "localhost" is not resolved here (resolution belongs to the dial): such a
// loop is not caught.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// OwnListener: one inbound's bound address.
struct OwnListener {
  std::string tag;
  sockaddr_storage addr{};  // IP and port (the port 0 in a config means "unknown")
};

// local_interface_addresses: the host's interface addresses (ports 0).
std::vector<sockaddr_storage> local_interface_addresses();

// dialed_listener returns the listener in |listeners| that dialing
// |host|:|port| would reach, or nullptr. |host| is an IP literal or
// "localhost" (anything else: nullptr). |local| are the host's interface
// addresses, for wildcard listeners.
const OwnListener* dialed_listener(std::string_view host, uint16_t port,
                                   const std::vector<OwnListener>& listeners,
                                   const std::vector<sockaddr_storage>& local);

// make_listener builds an OwnListener from a listen address and port; false
// if |ip| is not an IP literal.
bool make_listener(std::string tag, std::string_view ip, uint16_t port, OwnListener* out);

}  // namespace sluice
