// fuzz/link_fuzz.cpp: the trojan://, vless://, tuic:// and hysteria:// (v1)
// share-link parsers on arbitrary text (links arrive pasted or scanned from
// QR codes). A link either parses into an outbound of its scheme or fails
// with a reason; a hysteria outbound always has a port, TLS and both rates.
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
  for (std::string link :
       {std::string(text), "trojan://" + std::string(text), "vless://" + std::string(text),
        "tuic://" + std::string(text), "hysteria://" + std::string(text)}) {
    std::string why;
    check(parse_trojan_link(link, &why), why, OutboundType::trojan);
    why.clear();
    check(parse_vless_link(link, &why), why, OutboundType::vless);
    why.clear();
    check(parse_tuic_link(link, &why), why, OutboundType::tuic);
    why.clear();
    auto h = parse_hysteria_link(link, &why);
    check(h, why, OutboundType::hysteria);
    if (h) {
      const auto& o = std::get<HysteriaOutboundOptions>(h->options);
      require(o.endpoint.server_port != 0 && !o.endpoint.server.empty() && o.tls.enabled);
      require(o.up_bps >= 125000 && o.down_bps >= 125000 && o.auth.size() <= 0xffff);
    }
  }
  return 0;
}
