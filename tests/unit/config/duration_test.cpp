#include <catch2/catch.hpp>

#include "sluice/config.hpp"

using namespace sluice;
using namespace std::chrono;

TEST_CASE("parse_duration accepts Go syntax and days", "[config][duration]") {
  struct Case {
    const char* text;
    int64_t ns;
  };
  Case cases[] = {
      {"0", 0},
      {"-0", 0},
      {"300ms", 300'000'000},
      {"5s", 5'000'000'000},
      {"1m30s", 90'000'000'000},
      {"2h", 7'200'000'000'000},
      {"1d", 86'400'000'000'000},
      {"1.5h", 5'400'000'000'000},
      {".5s", 500'000'000},
      {"1.s", 1'000'000'000},
      {"1ns", 1},
      {"1us", 1'000},
      {"1\xC2\xB5s", 1'000},
      {"1\xCE\xBCs", 1'000},
      {"-2s", -2'000'000'000},
      {"+2s", 2'000'000'000},
      {"1h2m3s4ms5us6ns", 3'723'004'005'006},
      {"0.000000001s", 1},
      {"0.1234567890123456789s", 123'456'789},
      {"9223372036854775807ns", INT64_MAX},
      {"-9223372036854775808ns", INT64_MIN},
  };
  for (auto& c : cases) {
    INFO(c.text);
    auto d = parse_duration(c.text);
    REQUIRE(d);
    CHECK(d->count() == c.ns);
  }
}

TEST_CASE("parse_duration rejects bad text", "[config][duration]") {
  for (const char* bad : {"",
                          "5",
                          "300",
                          "-",
                          "+",
                          ".",
                          "s",
                          "5x",
                          "5 s",
                          " 5s",
                          "5s ",
                          "1.2.3s",
                          "5S",
                          "5sec",
                          "1m30",
                          "9223372036854775808ns",
                          "3000000h",
                          "1e3s",
                          "-.s",
                          "--5s",
                          "5ss",
                          "107000d",
                          "99999999999999999999ns",
                          "92233720368547758080ns"}) {
    INFO(bad);
    CHECK(parse_duration(bad).error() == Errc::config_invalid);
  }
}
