// config/duration.cpp: Go duration syntax (time.ParseDuration), plus
// sing-box's "d" unit (sing: common/json/badoption/duration.go).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <string_view>

#include "sluice/config.hpp"

namespace sluice {
namespace {

struct Unit {
  std::string_view name;
  uint64_t ns;
};

constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},  // U+00B5 MICRO SIGN
    {"\xCE\xBCs", 1000},  // U+03BC GREEK SMALL LETTER MU
    {"ms", 1000 * 1000},
    {"s", 1000ull * 1000 * 1000},
    {"m", 60ull * 1000 * 1000 * 1000},
    {"h", 3600ull * 1000 * 1000 * 1000},
    {"d", 24ull * 3600 * 1000 * 1000 * 1000},
};

constexpr uint64_t kMaxNs = uint64_t{1} << 63;  // |INT64_MIN|

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

Result<Duration> parse_duration(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    neg = s.front() == '-';
    s.remove_prefix(1);
  }
  // Go accepts a bare "0" as the one unitless value.
  if (s == "0") return Duration(0);
  if (s.empty()) return Errc::config_invalid;
  uint64_t total = 0;
  while (!s.empty()) {
    // [digits][.digits] unit
    uint64_t v = 0;
    bool have_int = false;
    while (!s.empty() && is_digit(s.front())) {
      // v <= 2^63 / 10 keeps v * 10 + 9 from wrapping; the sum is then checked.
      if (v > kMaxNs / 10) return Errc::config_invalid;
      v = v * 10 + static_cast<uint64_t>(s.front() - '0');
      if (v > kMaxNs) return Errc::config_invalid;
      s.remove_prefix(1);
      have_int = true;
    }
    double frac = 0;
    double scale = 1;
    bool have_frac = false;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      while (!s.empty() && is_digit(s.front())) {
        // Digits past double precision change nothing; keep consuming them.
        if (scale < 1e18) {
          frac = frac * 10 + (s.front() - '0');
          scale *= 10;
        }
        s.remove_prefix(1);
        have_frac = true;
      }
    }
    if (!have_int && !have_frac) return Errc::config_invalid;
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !is_digit(s[u])) ++u;
    std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    const Unit* unit = nullptr;
    for (const Unit& k : kUnits) {
      if (k.name == unit_name) unit = &k;
    }
    if (unit == nullptr) return Errc::config_invalid;  // missing or unknown unit
    uint64_t part;
    if (__builtin_mul_overflow(v, unit->ns, &part)) return Errc::config_invalid;
    if (have_frac) {
      double f = frac * (static_cast<double>(unit->ns) / scale);
      if (f >= static_cast<double>(kMaxNs)) return Errc::config_invalid;
      part += static_cast<uint64_t>(f);
    }
    if (__builtin_add_overflow(total, part, &total) || total > kMaxNs) {
      return Errc::config_invalid;
    }
  }
  if (total == kMaxNs) {
    if (!neg) return Errc::config_invalid;
    return Duration(INT64_MIN);
  }
  int64_t r = static_cast<int64_t>(total);
  return Duration(neg ? -r : r);
}

}  // namespace sluice
