// inbound/loop_check.cpp: see loop_check.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/loop_check.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>

#include <cstring>

namespace sluice {

namespace {

// Addr is an IP in one form: IPv4 as v4-mapped IPv6.
struct Addr {
  uint8_t b[16] = {};
};

Addr to_addr(const sockaddr_storage& ss) {
  Addr a;
  if (ss.ss_family == AF_INET) {
    a.b[10] = a.b[11] = 0xff;
    std::memcpy(a.b + 12, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
  } else if (ss.ss_family == AF_INET6) {
    std::memcpy(a.b, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, 16);
  }
  return a;
}

uint16_t port_of(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

bool same(const Addr& x, const Addr& y) { return std::memcmp(x.b, y.b, 16) == 0; }

bool is_v4(const Addr& a) {
  static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.b, kPrefix, 12) == 0;
}

bool is_unspecified(const Addr& a) {
  if (is_v4(a)) return a.b[12] == 0 && a.b[13] == 0 && a.b[14] == 0 && a.b[15] == 0;
  for (uint8_t x : a.b)
    if (x != 0) return false;
  return true;
}

bool is_loopback(const Addr& a) {
  if (is_v4(a)) return a.b[12] == 127;
  for (int i = 0; i < 15; ++i)
    if (a.b[i] != 0) return false;
  return a.b[15] == 1;
}

bool parse_ip(std::string_view s, sockaddr_storage* out) {
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.empty() || s.size() > 45) return false;
  char buf[46];
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  *out = {};
  auto* a4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, buf, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    return true;
  }
  auto* a6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, buf, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    return true;
  }
  return false;
}

}  // namespace

std::vector<sockaddr_storage> local_interface_addresses() {
  std::vector<sockaddr_storage> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    sockaddr_storage ss{};
    if (i->ifa_addr->sa_family == AF_INET)
      std::memcpy(&ss, i->ifa_addr, sizeof(sockaddr_in));
    else if (i->ifa_addr->sa_family == AF_INET6)
      std::memcpy(&ss, i->ifa_addr, sizeof(sockaddr_in6));
    else
      continue;
    out.push_back(ss);
  }
  freeifaddrs(list);
  return out;
}

bool make_listener(std::string tag, std::string_view ip, uint16_t port, OwnListener* out) {
  sockaddr_storage ss;
  if (!parse_ip(ip, &ss)) return false;
  if (ss.ss_family == AF_INET)
    reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
  out->tag = std::move(tag);
  out->addr = ss;
  return true;
}

const OwnListener* dialed_listener(std::string_view host, uint16_t port,
                                   const std::vector<OwnListener>& listeners,
                                   const std::vector<sockaddr_storage>& local) {
  std::vector<Addr> targets;
  sockaddr_storage ss;
  if (host == "localhost") {
    parse_ip("127.0.0.1", &ss);
    targets.push_back(to_addr(ss));
    parse_ip("::1", &ss);
    targets.push_back(to_addr(ss));
  } else if (parse_ip(host, &ss)) {
    targets.push_back(to_addr(ss));
  } else {
    return nullptr;
  }
  for (const OwnListener& l : listeners) {
    const uint16_t lport = port_of(l.addr);
    if (lport == 0 || lport != port) continue;
    const Addr la = to_addr(l.addr);
    for (const Addr& t : targets) {
      if (same(la, t)) return &l;
      // Connecting to 0.0.0.0 or :: reaches the local host.
      const bool t_local = is_unspecified(t) || is_loopback(t);
      if (is_unspecified(t) && (is_loopback(la) || is_unspecified(la))) return &l;
      if (!is_unspecified(la)) {
        // A specific listener: only that address reaches it (0.0.0.0 aside).
        continue;
      }
      // A wildcard listener (IPv4 0.0.0.0 takes IPv4 only; :: takes both,
      // as Linux's default bindv6only=0 makes it).
      if (is_v4(la) && !is_v4(t)) continue;
      if (t_local) return &l;
      for (const sockaddr_storage& x : local)
        if (same(to_addr(x), t)) return &l;
    }
  }
  return nullptr;
}

}  // namespace sluice
