// fuzz/config_fuzz.cpp: the JSON config parser and the duration parser on
// arbitrary text. Nothing may throw, crash or leak; success must yield a
// self-consistent Config.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sluice/config.hpp"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ConfigDiagnostics diag;
  auto cfg = parse_config(text, &diag);
  if (cfg) {
    if (!diag.error.empty()) std::abort();
    if (cfg->outbounds.empty() || cfg->final_outbound() == nullptr) std::abort();
    for (const auto& in : cfg->inbounds) {
      if (static_cast<size_t>(in.type) != in.options.index()) std::abort();
    }
    for (const auto& out : cfg->outbounds) {
      if (static_cast<size_t>(out.type) != out.options.index()) std::abort();
    }
  } else if (cfg.error() != Errc::no_memory && diag.error.empty()) {
    std::abort();
  }
  auto d = parse_duration(text);
  (void)d;
  return 0;
}
