// fuzz/hysteria2_link_fuzz.cpp: the hysteria2:// / hy2:// share-link parser
// on arbitrary text. A link either parses into a hysteria2 outbound whose
// server_port is one of its server_ports (when it has any) or fails with a
// reason.
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
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string link :
       {std::string(text), "hysteria2://" + std::string(text), "hy2://" + std::string(text)}) {
    std::string why;
    auto r = parse_hysteria2_link(link, &why);
    if (!r) {
      require(r.error() != Errc::ok && !why.empty());
      continue;
    }
    require(r->type == OutboundType::hysteria2);
    const auto& h = std::get<Hysteria2OutboundOptions>(r->options);
    require(h.endpoint.server_port != 0 && h.tls.enabled);
    if (!h.server_ports.empty()) {
      const std::string& first = h.server_ports.front();
      require(first.substr(0, first.find(':')) == std::to_string(h.endpoint.server_port));
    }
  }
  return 0;
}
