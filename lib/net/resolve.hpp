// resolve.hpp: the name-resolution steps every dial shares.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A dial first tries the host as an IP literal (no lookup), else asks
// getaddrinfo through libuv (off the loop thread) for the families this
// machine has addresses for, and tries the answers in RFC 8305 §4 order.
// net::Dial (TCP, Happy Eyeballs over all of them) and quic::QuicDial (UDP,
// the first) are built from these pieces; each keeps its own request and
// lifetime. Threads: the loop thread.
#pragma once

#include <netdb.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::net {

// parse_ip_literal: |host| is an IPv4 or an IPv6 literal (the latter also
// in brackets, as in URLs): its address with |port| goes to |out|.
bool parse_ip_literal(std::string_view host, uint16_t port, sockaddr_storage* out) noexcept;

// start_getaddrinfo starts the lookup of |host| for |socktype|
// (SOCK_STREAM, SOCK_DGRAM) with the hints dials use (AF_UNSPEC,
// AI_ADDRCONFIG); |cb| hears the result. The libuv status.
int start_getaddrinfo(uv_loop_t* loop, uv_getaddrinfo_t* req, uv_getaddrinfo_cb cb,
                      const std::string& host, int socktype) noexcept;

// ordered_addresses: the IPv4 and IPv6 addresses of |res|, with |port|, in
// RFC 8305 §4 order: IPv6 first, then the families alternating.
std::vector<sockaddr_storage> ordered_addresses(const addrinfo* res, uint16_t port);

}  // namespace sluice::net
