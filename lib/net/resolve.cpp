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

int Resolution::start(uv_loop_t* loop, std::string_view host, uint16_t port, int socktype,
                      Callback cb, void* user) noexcept {
  port_ = port;
  cb_ = cb;
  user_ = user;
  sockaddr_storage ss{};
  if (parse_ip_literal(host, port, &ss)) {
    cb(user, 0, std::vector<sockaddr_storage>{ss});
    return 0;
  }
  req_.data = this;
  int rc = start_getaddrinfo(loop, &req_, on_getaddrinfo, std::string(host), socktype);
  if (rc != 0) return rc;
  busy_ = true;
  return 0;
}

void Resolution::cancel() noexcept {
  if (busy_) uv_cancel(reinterpret_cast<uv_req_t*>(&req_));
}

void Resolution::on_getaddrinfo(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* self = static_cast<Resolution*>(req->data);
  self->busy_ = false;
  std::vector<sockaddr_storage> addrs;
  if (status == 0) addrs = ordered_addresses(res, self->port_);
  uv_freeaddrinfo(res);
  if (status == 0 && addrs.empty()) status = UV_EAI_NODATA;
  self->cb_(self->user_, status, std::move(addrs));  // may free the owner
}

}  // namespace sluice::net
