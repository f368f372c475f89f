// TokenStore: the client's NEW_TOKEN tokens, newest per server address,
// bounded, each handed out once.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "quic/token_store.hpp"

using namespace sluice::quic;

namespace {

sockaddr_storage v4(const char* ip, uint16_t port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  REQUIRE(inet_pton(AF_INET, ip, &a->sin_addr) == 1);
  return ss;
}

sockaddr_storage v6(const char* ip, uint16_t port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  REQUIRE(inet_pton(AF_INET6, ip, &a->sin6_addr) == 1);
  return ss;
}

const sockaddr* sa(const sockaddr_storage& s) { return reinterpret_cast<const sockaddr*>(&s); }

}  // namespace

TEST_CASE("TokenStore: one token per server address, taken once", "[quic][token_store]") {
  TokenStore st;
  const auto a = v4("192.0.2.1", 443), b = v4("192.0.2.1", 8443), c = v6("2001:db8::1", 443),
             d = v4("192.0.2.2", 443);
  CHECK(st.put(sa(a), "a1"));
  CHECK(st.put(sa(a), "a2"));  // the newer replaces the older
  CHECK(st.put(sa(b), "b"));
  CHECK(st.put(sa(c), "c"));
  CHECK(st.size() == 3);
  CHECK(st.take(sa(d)).empty());  // another IP
  CHECK(st.take(sa(a)) == "a2");
  CHECK(st.take(sa(a)).empty());  // single use
  CHECK(st.take(sa(b)) == "b");   // the port is part of the key
  CHECK(st.take(sa(c)) == "c");
  CHECK(st.size() == 0);
}

TEST_CASE("TokenStore: bounded, least recently stored first out; bad tokens refused",
          "[quic][token_store]") {
  TokenStore st(2);
  const auto a = v4("10.0.0.1", 1), b = v4("10.0.0.2", 1), c = v4("10.0.0.3", 1);
  CHECK(st.put(sa(a), "a"));
  CHECK(st.put(sa(b), "b"));
  CHECK(st.put(sa(a), "a'"));  // a is now the newest
  CHECK(st.put(sa(c), "c"));   // evicts b
  CHECK(st.size() == 2);
  CHECK(st.take(sa(b)).empty());
  CHECK(st.take(sa(a)) == "a'");
  CHECK(st.take(sa(c)) == "c");

  CHECK_FALSE(st.put(sa(a), ""));
  CHECK_FALSE(st.put(sa(a), std::string(TokenStore::kMaxTokenLen + 1, 'x')));
  CHECK(st.put(sa(a), std::string(TokenStore::kMaxTokenLen, 'x')));
  TokenStore none(0);
  CHECK_FALSE(none.put(sa(a), "a"));
  CHECK(none.size() == 0);
}
