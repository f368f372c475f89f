// fuzz/tls13_record_fuzz.cpp: the TLS 1.3 record layer on arbitrary bytes:
// framing, opening under fixed keys (RFC 8448 §3's server handshake traffic
// secret, so the trace's records are valid inputs), and seal/open round trips.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "proto/tls13/record.hpp"
#include "sluice/buffer.hpp"

using namespace sluice;
using namespace sluice::tls13;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

constexpr uint8_t kSecret[32] = {0xb6, 0x7b, 0x7d, 0x69, 0x0c, 0xc1, 0x6c, 0x4e, 0x75, 0xe5, 0x42,
                                 0x13, 0xcb, 0x2d, 0x37, 0xb4, 0xe9, 0xc9, 0x12, 0xbc, 0xde, 0xd9,
                                 0x10, 0x5d, 0x42, 0xbe, 0xfd, 0x59, 0xd3, 0x91, 0xad, 0x38};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static BufferPool pool;
  const CipherSuite& suite = *find_cipher_suite(kTlsAes128GcmSha256);
  RecordProtection read, write, check;
  require(read.init(suite, kSecret).has_value());
  require(write.init(suite, kSecret).has_value());
  require(check.init(suite, kSecret).has_value());

  std::span<const uint8_t> in(data, size);
  std::vector<uint8_t> copy(in.begin(), in.end());
  size_t off = 0;
  for (const bool protected_epoch : {false, true}) {
    off = 0;
    while (off < copy.size()) {
      auto r = next_record(std::span(copy).subspan(off), protected_epoch);
      if (r.need_more()) break;
      if (r.failed()) {
        require(r.error.alert() != Alert::close_notify);
        break;
      }
      require(r.consumed >= kRecordHeaderLen && r.consumed <= copy.size() - off);
      if (protected_epoch && r.record.type == ContentType::application_data) {
        std::vector<uint8_t> rec(copy.begin() + static_cast<long>(off),
                                 copy.begin() + static_cast<long>(off + r.consumed));
        ContentType type{};
        std::span<uint8_t> content;
        Outcome o = read.open_span(rec, type, content);
        if (o) require(content.size() <= kMaxPlaintext);
        // The Slice form must agree with the span form.
        auto s = pool.copy_from(copy.data() + off, r.consumed);
        require(s.has_value());
        ContentType type2{};
        Outcome o2 = check.open(*s, type2);
        require(o.ok() == o2.ok());
        if (o) require(type == type2 && s->size() == content.size());
      }
      off += r.consumed;
    }
  }

  // Round trip: the input as content (capped at 2^14), padding from its
  // first byte, sealed in place then opened.
  const size_t n = std::min(size, kMaxPlaintext);
  const size_t pad = size ? std::min<size_t>(data[0], kMaxPlaintext - n) : 0;
  auto s = pool.get(n + pad + kSealOverhead);
  require(s.has_value());
  if (n) std::memcpy(s->append(n), data, n);
  if (s->tailroom() >= kSealOverhead + pad) {
    require(write.seal(*s, ContentType::application_data, pad).has_value());
    RecordProtection r2;
    require(r2.init(suite, kSecret).has_value());
    ContentType t{};
    require(r2.open(*s, t).ok());
    require(t == ContentType::application_data && s->size() == n);
    require(n == 0 || std::memcmp(s->data(), data, n) == 0);
  }
  return 0;
}
