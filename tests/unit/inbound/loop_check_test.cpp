// dialed_listener: which own listener an outbound's server address reaches.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <vector>

#include "inbound/loop_check.hpp"

using namespace sluice;

namespace {

std::vector<OwnListener> listeners(std::initializer_list<std::pair<const char*, uint16_t>> l) {
  std::vector<OwnListener> out;
  for (auto [ip, port] : l) {
    OwnListener x;
    REQUIRE(make_listener(ip, ip, port, &x));
    out.push_back(x);
  }
  return out;
}

sockaddr_storage ip(const char* s) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, s, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else {
    REQUIRE(inet_pton(AF_INET6, s, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1);
    ss.ss_family = AF_INET6;
  }
  return ss;
}

}  // namespace

TEST_CASE("loop check: a specific listener is reached by its own address only", "[inbound][loop]") {
  auto own = listeners({{"127.0.0.1", 1080}, {"::1", 1081}});
  const std::vector<sockaddr_storage> local = {ip("192.0.2.7")};
  const OwnListener* hit = dialed_listener("127.0.0.1", 1080, own, local);
  REQUIRE(hit != nullptr);
  CHECK(hit->tag == "127.0.0.1");
  CHECK(dialed_listener("localhost", 1080, own, local) == &own[0]);
  CHECK(dialed_listener("localhost", 1081, own, local) == &own[1]);
  CHECK(dialed_listener("[::1]", 1081, own, local) == &own[1]);
  CHECK(dialed_listener("0.0.0.0", 1080, own, local) == &own[0]);    // connect(0.0.0.0) is local
  CHECK(dialed_listener("127.0.0.1", 1081, own, local) == nullptr);  // other port
  CHECK(dialed_listener("127.0.0.2", 1080, own, local) == nullptr);  // other address
  CHECK(dialed_listener("192.0.2.7", 1080, own, local) == nullptr);
  CHECK(dialed_listener("example.com", 1080, own, local) == nullptr);  // not resolved here
}

TEST_CASE("loop check: wildcard listeners match loopback and interface addresses",
          "[inbound][loop]") {
  const std::vector<sockaddr_storage> local = {ip("192.0.2.7"), ip("2001:db8::7")};
  auto v4any = listeners({{"0.0.0.0", 443}});
  CHECK(dialed_listener("127.0.0.1", 443, v4any, local) != nullptr);
  CHECK(dialed_listener("127.1.2.3", 443, v4any, local) != nullptr);
  CHECK(dialed_listener("192.0.2.7", 443, v4any, local) != nullptr);
  CHECK(dialed_listener("192.0.2.8", 443, v4any, local) == nullptr);  // another host
  CHECK(dialed_listener("::1", 443, v4any, local) == nullptr);        // 0.0.0.0 takes IPv4 only
  auto any = listeners({{"::", 443}});
  CHECK(dialed_listener("::1", 443, any, local) != nullptr);
  CHECK(dialed_listener("2001:db8::7", 443, any, local) != nullptr);
  CHECK(dialed_listener("127.0.0.1", 443, any, local) != nullptr);  // dual stack
  CHECK(dialed_listener("192.0.2.7", 443, any, local) != nullptr);
  CHECK(dialed_listener("2001:db8::8", 443, any, local) == nullptr);
  CHECK(dialed_listener("127.0.0.1", 444, any, local) == nullptr);
}

TEST_CASE("loop check: port 0 (ephemeral, not yet known) never matches", "[inbound][loop]") {
  auto own = listeners({{"127.0.0.1", 0}});
  CHECK(dialed_listener("127.0.0.1", 0, own, {}) == nullptr);
  OwnListener bad;
  CHECK_FALSE(make_listener("x", "not-an-ip", 1, &bad));
}
