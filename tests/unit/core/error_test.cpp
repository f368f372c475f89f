#include <catch2/catch.hpp>
#include <cstring>
#include <set>
#include <string>

#include "sluice/error.hpp"

using namespace sluice;

TEST_CASE("every Errc has a name, a message and round-trips as an int", "[core][error]") {
  size_t n = 0;
  const Errc* all = errc_all_for_test(&n);
  REQUIRE(n >= 40);
  std::set<int32_t> seen;
  std::set<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    const Errc e = all[i];
    const auto v = static_cast<int32_t>(e);
    CHECK(v < 0);
    CHECK(seen.insert(v).second);
    CHECK(names.insert(errc_name(e)).second);
    CHECK(std::strcmp(errc_message(e), "unknown error") != 0);
    CHECK(std::strcmp(errc_name(e), "unknown") != 0);
    CHECK(errc_from_int(v) == e);
    CHECK(errc_is_fatal(e) == (v <= kFatalThreshold));
  }
}

TEST_CASE("unknown codes map to internal and have a message", "[core][error]") {
  CHECK(errc_from_int(-12345) == Errc::internal);
  CHECK(std::string(errc_message(static_cast<Errc>(-12345))) == "unknown error");
  CHECK(std::string(errc_message(Errc::ok)) == "success");
  CHECK(errc_from_int(0) == Errc::ok);
  CHECK(errc_is_fatal(Errc::no_memory));
  CHECK(errc_is_fatal(Errc::internal));
  CHECK_FALSE(errc_is_fatal(Errc::malformed));
}

namespace {
Result<int> half(int v) {
  if (v % 2) return Errc::invalid_argument;
  return v / 2;
}
Status check_even(int v) {
  SLUICE_TRY(half(v).has_value() ? Status{} : Status{Errc::invalid_argument});
  return {};
}
}  // namespace

TEST_CASE("Result carries a value or an error", "[core][error]") {
  auto a = half(8);
  REQUIRE(a.has_value());
  CHECK(*a == 4);
  CHECK(a.error() == Errc::ok);
  auto b = half(7);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error() == Errc::invalid_argument);
  CHECK(b.value_or(-1) == -1);
  Result<std::string> s = std::string("abc");
  Result<std::string> s2 = s;
  Result<std::string> s3 = std::move(s);
  CHECK(*s2 == "abc");
  CHECK(*s3 == "abc");
  s2 = Errc::eof;
  CHECK(s2.error() == Errc::eof);
  Result<int> okless = Errc::ok;  // an error Result may never claim success
  CHECK_FALSE(okless.has_value());
  CHECK(okless.error() == Errc::internal);
  CHECK(check_even(4).has_value());
  CHECK(check_even(3).error() == Errc::invalid_argument);
}
