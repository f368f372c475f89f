// fuzz/link_fuzz.cpp: the trojan:// and vless:// share-link parsers on
// arbitrary text (links arrive pasted or scanned from QR codes). A link
// either parses into an outbound of its scheme or fails with a reason.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sluice/config.hpp"

using namespace sluice;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

void check(Result<OutboundOptions> r, const std::string& why, OutboundType want) {
  if (r) {
    require(r->type == want);
  } else {
    require(r.error() != Errc::ok && !why.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The input as given, and behind each scheme, so both parsers see it all.
  for (std::string link : {std::string(text), "trojan://" + std::string(text),
                           "vless://" + std::string(text), "tuic://" + std::string(text)}) {
    std::string why;
    check(parse_trojan_link(link, &why), why, OutboundType::trojan);
    why.clear();
    check(parse_vless_link(link, &why), why, OutboundType::vless);
    why.clear();
    check(parse_tuic_link(link, &why), why, OutboundType::tuic);
  }
  return 0;
}
