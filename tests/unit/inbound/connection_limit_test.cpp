// ConnectionLimit: admission by total and by source address, places given
// back by Slot deletion or by the relay that took the connection over.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <vector>

#include "inbound/connection_limit.hpp"

using namespace sluice;

namespace {

sockaddr_storage v4(const char* ip) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, ip, &a->sin_addr) == 1);
  return ss;
}

sockaddr_storage v6(const char* ip) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  REQUIRE(inet_pton(AF_INET6, ip, &a->sin6_addr) == 1);
  return ss;
}

}  // namespace

TEST_CASE("connection limit: none configured means no limiter", "[inbound][limit]") {
  CHECK(ConnectionLimit::create({}) == nullptr);
}

TEST_CASE("connection limit: max_connections counts every source", "[inbound][limit]") {
  ConnectionLimit* l = ConnectionLimit::create({3, 0});
  REQUIRE(l != nullptr);
  ConnectionLimit::Refusal why;
  std::vector<ConnectionLimit::Slot*> slots;
  for (const char* ip : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    slots.push_back(l->admit(v4(ip), &why));
    REQUIRE(slots.back() != nullptr);
    CHECK(why == ConnectionLimit::Refusal::none);
  }
  CHECK(l->open() == 3);
  CHECK(l->admit(v4("10.0.0.4"), &why) == nullptr);
  CHECK(why == ConnectionLimit::Refusal::total);
  CHECK(std::string(ConnectionLimit::refusal_name(why)) == "max_connections reached");
  // An unknown peer address counts in the total too.
  delete slots[0];
  sockaddr_storage unknown{};
  auto* s = l->admit(unknown, &why);
  REQUIRE(s != nullptr);
  CHECK(l->admit(v4("10.0.0.4"), &why) == nullptr);
  // A relay that took a slot over gives it back when it ends.
  RelayObserver* obs = s;
  obs->on_relay_done(RelayResult{});  // deletes the slot
  CHECK(l->open() == 2);
  delete slots[1];
  delete slots[2];
  CHECK(l->open() == 0);
  l->release_owner();  // the last reference: deleted (ASan checks)
}

TEST_CASE("connection limit: max_connections_per_ip per address, v4 and v6 apart",
          "[inbound][limit]") {
  ConnectionLimit* l = ConnectionLimit::create({0, 2});
  REQUIRE(l != nullptr);
  ConnectionLimit::Refusal why;
  auto* a1 = l->admit(v4("192.0.2.1"), &why);
  auto* a2 = l->admit(v4("192.0.2.1"), &why);
  REQUIRE(a1 != nullptr);
  REQUIRE(a2 != nullptr);
  CHECK(l->admit(v4("192.0.2.1"), &why) == nullptr);
  CHECK(why == ConnectionLimit::Refusal::per_ip);
  // The same address as v4-mapped IPv6 (a dual-stack listener) is the same source.
  CHECK(l->admit(v6("::ffff:192.0.2.1"), &why) == nullptr);
  auto* b = l->admit(v4("192.0.2.2"), &why);
  REQUIRE(b != nullptr);
  auto* c = l->admit(v6("2001:db8::1"), &why);
  REQUIRE(c != nullptr);
  CHECK(l->open_from(v4("192.0.2.1")) == 2);
  delete a1;
  CHECK(l->open_from(v4("192.0.2.1")) == 1);
  auto* a3 = l->admit(v4("192.0.2.1"), &why);
  REQUIRE(a3 != nullptr);
  // The owner may go first: slots still release into the live limiter.
  l->release_owner();
  delete a2;
  delete a3;
  delete b;
  delete c;  // the last reference
}
