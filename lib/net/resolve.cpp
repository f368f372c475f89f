// resolve.cpp: see resolve.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "net/resolve.hpp"

#include <netinet/in.h>

#include <cstring>

namespace sluice::net {

bool parse_ip_literal(std::string_view host, uint16_t port, sockaddr_storage* out) noexcept {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  char h[INET6_ADDRSTRLEN + 1];
  if (host.empty() || host.size() >= sizeof h) return false;
  std::memcpy(h, host.data(), host.size());
  h[host.size()] = '\0';
  *out = sockaddr_storage{};
  if (uv_ip4_addr(h, port, reinterpret_cast<sockaddr_in*>(out)) == 0) return true;
  if (uv_ip6_addr(h, port, reinterpret_cast<sockaddr_in6*>(out)) == 0) return true;
  return false;
}

int start_getaddrinfo(uv_loop_t* loop, uv_getaddrinfo_t* req, uv_getaddrinfo_cb cb,
                      const std::string& host, int socktype) noexcept {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_ADDRCONFIG;
  return uv_getaddrinfo(loop, req, cb, host.c_str(), nullptr, &hints);
}

std::vector<sockaddr_storage> ordered_addresses(const addrinfo* res, uint16_t port) {
  std::vector<sockaddr_storage> v6, v4, out;
  for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(sockaddr_in6)) {
      sockaddr_storage ss{};
      std::memcpy(&ss, ai->ai_addr, sizeof(sockaddr_in6));
      reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
      v6.push_back(ss);
    } else if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(sockaddr_in)) {
      sockaddr_storage ss{};
      std::memcpy(&ss, ai->ai_addr, sizeof(sockaddr_in));
      reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
      v4.push_back(ss);
    }
  }
  for (size_t i = 0; i < v6.size() || i < v4.size(); ++i) {
    if (i < v6.size()) out.push_back(v6[i]);
    if (i < v4.size()) out.push_back(v4[i]);
  }
  return out;
}

}  // namespace sluice::net
