// fuzz/ech_fuzz.cpp: the ECH blob parsers on arbitrary bytes. An
// ECHConfigList comes from configs and share links, and from a server's
// retry_configs during a handshake, so it is peer input.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/tls_ech.hpp"

using namespace sluice;
using namespace sluice::tls;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  std::string why;
  auto list = parse_ech_config_list(in, &why);
  if (list) {
    // The entries tile the list exactly: a 2-byte length, then each raw
    // ECHConfig back to back.
    size_t off = 2;
    for (const auto& c : *list) {
      require(off + c.raw.size() <= size);
      require(std::memcmp(data + off, c.raw.data(), c.raw.size()) == 0);
      off += c.raw.size();
    }
    require(off == size);
  } else {
    require(list.error() != Errc::ok);
  }
  // The filtered list is a well-formed list of usable entries only.
  why.clear();
  auto kept = filter_ech_config_list(in, &why);
  if (kept) {
    auto again = parse_ech_config_list(*kept, &why);
    require(again.has_value() && !again->empty());
    for (const auto& c : *again) require(usable_by_client(c));
  } else {
    require(!why.empty());
  }
  // The same bytes as text: PEM "ECH CONFIGS" / base64, and "ECH KEYS".
  std::string_view text(reinterpret_cast<const char*>(data), size);
  why.clear();
  auto from_text = ech_config_list_from_text(text, &why);
  if (!from_text) require(!why.empty());
  why.clear();
  auto keys = parse_ech_keys(text, &why);
  if (keys) {
    for (const auto& k : *keys) require(k.private_key.size() == 32 && !k.config.empty());
  } else {
    require(!why.empty());
  }
  return 0;
}
