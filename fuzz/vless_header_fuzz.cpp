// fuzz/vless_header_fuzz.cpp: the VLESS request/response headers, addons and
// addresses on arbitrary bytes; parsed headers must re-encode to themselves
// when the addons are in the canonical form.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

#include "proto/vless/addons.hpp"
#include "proto/vless/address.hpp"
#include "proto/vless/header.hpp"
#include "proto/vless/user_id.hpp"

using namespace sluice;
using namespace sluice::vless;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

template <typename R>
void check_shape(const R& r, size_t in_size) {
  if (r.done()) require(r.consumed > 0 && r.consumed <= in_size);
  if (r.need_more()) require(r.consumed == 0);
  if (r.failed()) require(r.error != Errc::ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);

  auto r = parse_request(in);
  check_shape(r, size);
  if (r.done()) {
    // Every prefix of an accepted header is need_more.
    for (size_t n = 0; n < r.consumed; n += 7) require(parse_request(in.first(n)).need_more());
    size_t alen = in[17];
    bool canonical = (r.value.addons.flow() == Flow::none && alen == 0) ||
                     (r.value.addons.flow() == Flow::vision && alen == 0x12);
    if (canonical) {
      uint8_t buf[kMaxRequestSize];
      auto n = encode_request(r.value, buf);
      require(n && *n == r.consumed && std::memcmp(buf, data, *n) == 0);
    }
    (void)r.value.target.to_string();
  }

  auto resp = parse_response(in);
  check_shape(resp, size);
  if (resp.done()) require(resp.consumed == 2u + resp.value.addons_len);

  auto a = parse_addons(in.first(size < kMaxAddonsSize ? size : kMaxAddonsSize));
  if (a) require(a->flow_name().size() <= kMaxAddonsSize);

  auto t = decode_addr_port(in);
  check_shape(t, size);
  if (t.done()) {
    uint8_t buf[kMaxAddrPortSize];
    auto n = encode_addr_port(t.value, buf);
    require(n && *n == t.consumed && std::memcmp(buf, data, *n) == 0);
  }

  auto id = parse_user_id(std::string_view(reinterpret_cast<const char*>(data), size));
  if (id) require(format_user_id(*id).size() == 36);
  return 0;
}
