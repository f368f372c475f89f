// net/resolve: IP literals and the order dials try addresses in.
#include <arpa/inet.h>
#include <netdb.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "net/resolve.hpp"

using namespace sluice::net;

namespace {

std::string text(const sockaddr_storage& a) {
  char b[INET6_ADDRSTRLEN] = {};
  uint16_t port;
  if (a.ss_family == AF_INET6) {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &s->sin6_addr, b, sizeof b);
    port = ntohs(s->sin6_port);
    return std::string("[") + b + "]:" + std::to_string(port);
  }
  const auto* s = reinterpret_cast<const sockaddr_in*>(&a);
  inet_ntop(AF_INET, &s->sin_addr, b, sizeof b);
  port = ntohs(s->sin_port);
  return std::string(b) + ":" + std::to_string(port);
}

}  // namespace

TEST_CASE("parse_ip_literal: IPv4, IPv6 with and without brackets; names are not literals",
          "[net][resolve]") {
  sockaddr_storage a;
  REQUIRE(parse_ip_literal("192.0.2.7", 443, &a));
  CHECK(text(a) == "192.0.2.7:443");
  REQUIRE(parse_ip_literal("2001:db8::1", 8443, &a));
  CHECK(text(a) == "[2001:db8::1]:8443");
  REQUIRE(parse_ip_literal("[::1]", 1, &a));
  CHECK(text(a) == "[::1]:1");
  for (const char* bad :
       {"", "[]", "example.com", "localhost", "192.0.2.256", "[192.0.2.1", "1.2.3.4 ", "::1]",
        "[2001:db8::1]:443", "0123456789012345678901234567890123456789012345678901234567890123"})
    CHECK_FALSE(parse_ip_literal(bad, 1, &a));
}

TEST_CASE("ordered_addresses: IPv6 first, families alternating, the port set, others skipped",
          "[net][resolve]") {
  // getaddrinfo on numeric hosts builds real addrinfo lists offline.
  auto lookup = [](const char* host) {
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* r = nullptr;
    REQUIRE(getaddrinfo(host, nullptr, &hints, &r) == 0);
    return r;
  };
  addrinfo* a4a = lookup("192.0.2.1");
  addrinfo* a4b = lookup("192.0.2.2");
  addrinfo* a6a = lookup("2001:db8::1");
  // v4, v4, v6 as a resolver might list them.
  a4a->ai_next = a4b;
  a4b->ai_next = a6a;
  auto v = ordered_addresses(a4a, 443);
  REQUIRE(v.size() == 3);
  CHECK(text(v[0]) == "[2001:db8::1]:443");
  CHECK(text(v[1]) == "192.0.2.1:443");
  CHECK(text(v[2]) == "192.0.2.2:443");
  a4a->ai_next = nullptr;
  a4b->ai_next = nullptr;
  freeaddrinfo(a4a);
  freeaddrinfo(a4b);
  freeaddrinfo(a6a);
  CHECK(ordered_addresses(nullptr, 1).empty());
}
