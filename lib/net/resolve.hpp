// resolve.hpp: the name-resolution steps every dial shares.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A dial first tries the host as an IP literal (no lookup), else asks
// getaddrinfo through libuv (off the loop thread) for the families this
// machine has addresses for, and tries the answers in RFC 8305 §4 order.
// Resolution does these steps for one dial; net::Dial (TCP, Happy Eyeballs
// over all the answers) and quic::QuicDial (UDP, the first) each embed one.
// Threads: the loop thread.
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

// Resolution is one dial's lookup of host:port. Its owner embeds it and
// must not be freed while busy(): a lookup in flight always calls back,
// with UV_ECANCELED (or its result) after cancel().
class Resolution {
 public:
  // Callback: |status| 0 with at least one address (RFC 8305 §4 order), or
  // the libuv status (UV_EAI_NODATA: the name had no usable address).
  using Callback = void (*)(void* user, int status, std::vector<sockaddr_storage>&& addrs);

  Resolution() = default;
  Resolution(const Resolution&) = delete;
  Resolution& operator=(const Resolution&) = delete;

  // start: an IP literal is answered before start returns; a name is
  // looked up for |socktype| (SOCK_STREAM, SOCK_DGRAM). Returns 0, or the
  // libuv status of a lookup that could not start (then |cb| is not called).
  int start(uv_loop_t* loop, std::string_view host, uint16_t port, int socktype, Callback cb,
            void* user) noexcept;
  // cancel asks libuv to drop the lookup; |cb| still comes (see above).
  void cancel() noexcept;
  bool busy() const noexcept { return busy_; }

 private:
  static void on_getaddrinfo(uv_getaddrinfo_t* req, int status, addrinfo* res);

  uv_getaddrinfo_t req_{};
  uint16_t port_ = 0;
  Callback cb_ = nullptr;
  void* user_ = nullptr;
  bool busy_ = false;
};

}  // namespace sluice::net
