// fallback.cpp: fallback choice and the replay write for the ServerDriver.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/fallback.hpp"

namespace sluice {

const TrojanFallback* select_fallback(
    const TrojanFallback& fallback,
    const std::vector<std::pair<std::string, TrojanFallback>>& for_alpn,
    const std::string* alpn) noexcept {
  if (!for_alpn.empty() && alpn != nullptr) {
    for (const auto& [a, f] : for_alpn)
      if (a == *alpn) return &f;
  }
  return fallback.server.empty() ? nullptr : &fallback;
}

bool write_pending(std::unique_ptr<Stream>& s, Chain* in) {
  if (in->empty() || s->write(std::move(*in))) return true;
  close_and_delete(s.release());
  return false;
}

}  // namespace sluice
