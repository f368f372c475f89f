// fuzz/vless_vision_fuzz.cpp: the Vision unpadder and reader on arbitrary
// bytes cut into arbitrary buffers, and writer -> reader round trips of
// arbitrary inner traffic: whatever the writer sends, the reader must deliver
// byte for byte, with at most one direct event per direction.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "proto/vless/vision_filter.hpp"
#include "proto/vless/vision_padding.hpp"
#include "proto/vless/vision_reader.hpp"
#include "proto/vless/vision_writer.hpp"

using namespace sluice;
using namespace sluice::vless;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

constexpr UserId kId = {0xbf, 0x00, 0x0d, 0x23, 0x07, 0x52, 0x40, 0xb4,
                        0xaf, 0xfe, 0x68, 0xf7, 0x70, 0x7a, 0x96, 0x61};

// ByteRandom draws padding "randomness" from the input, so runs replay.
struct ByteRandom {
  std::span<const uint8_t> src;
  size_t pos = 0;
  static uint32_t call(void* user, uint32_t bound) {
    auto* self = static_cast<ByteRandom*>(user);
    uint32_t v = self->src.empty() ? 0 : self->src[self->pos++ % self->src.size()];
    return v % bound;
  }
};

// reader_on_raw feeds arbitrary bytes to a reader in chunks sized by |sizes|.
void reader_on_raw(std::span<const uint8_t> in, std::span<const uint8_t> sizes) {
  TrafficState st;
  VisionReader r(st, kId);
  std::vector<uint8_t> buf;
  size_t pos = 0;
  size_t k = 0;
  int events = 0;
  while (pos < in.size()) {
    size_t chunk = sizes.empty() ? in.size() : (sizes[k++ % sizes.size()] % 64) + 1;
    if (pos == 0 && chunk < 21) chunk = 21;
    chunk = std::min(chunk, in.size() - pos);
    buf.assign(in.begin() + static_cast<long>(pos), in.begin() + static_cast<long>(pos + chunk));
    pos += chunk;
    auto step = r.on_buffer(buf, buf.data());
    if (!step) return;
    require(step->len <= chunk);
    events += step->switch_to_direct;
  }
  require(events <= 1);
}

// round_trip writes batches cut from |in| and checks the reader's output.
void round_trip(std::span<const uint8_t> in, uint8_t mode) {
  ByteRandom rb{in};
  TrafficState ws;
  TrafficState rs;
  if (mode & 1) {  // pretend the inner stream is TLS 1.3
    ws.is_tls = ws.is_tls12_or_above = ws.enable_xtls = true;
    ws.packets_to_filter = (mode & 2) ? 0 : 3;
  }
  VisionWriter w(ws, kId, PaddingRandom{&ByteRandom::call, &rb}, PaddingSeed{}, (mode & 4) == 0);
  VisionReader r(rs, kId);
  std::vector<uint8_t> expect;
  std::vector<uint8_t> got;
  std::vector<uint8_t> out;
  size_t pos = 0;
  int w_events = 0;
  int r_events = 0;
  while (pos < in.size()) {
    // A batch of up to three buffers, sizes from the input.
    std::vector<std::span<const uint8_t>> batch;
    for (int i = 0; i < 3 && pos < in.size(); ++i) {
      size_t len = (static_cast<size_t>(in[pos]) * 97) % 9000 + 1;
      ++pos;
      len = std::min(len, in.size() - pos);
      if (len == 0) break;
      batch.push_back(in.subspan(pos, len));
      pos += len;
    }
    if (batch.empty()) break;
    for (auto b : batch) expect.insert(expect.end(), b.begin(), b.end());
    out.resize(w.max_output_size(batch));
    auto step = w.write(batch, out);
    require(step.has_value());
    w_events += step->switch_to_direct;
    std::vector<uint8_t> wire;
    if (step->passthrough) {
      for (auto b : batch) wire.insert(wire.end(), b.begin(), b.end());
    } else {
      require(step->len <= out.size());
      wire.assign(out.begin(), out.begin() + static_cast<long>(step->len));
    }
    // The reader gets one buffer per write (one outer record, as Xray sends).
    if (wire.empty()) continue;
    auto rstep = r.on_buffer(wire, wire.data());
    if (!rstep) {
      // Only raw inner bytes that begin with the user id after padding ended
      // can look like a bad block (see below).
      require(!w.padding());
      return;
    }
    r_events += rstep->switch_to_direct;
    got.insert(got.end(), wire.begin(), wire.begin() + static_cast<long>(rstep->len));
  }
  require(w_events <= 1 && r_events <= 1);
  // Byte-exact delivery and matching direct events, unless raw inner bytes
  // happened to start with the user id after padding ended: the reader then
  // re-enters unpadding, exactly as Xray's and sing-box's readers do.
  if (got != expect || w_events != r_events) require(!w.padding());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  if (size == 0) return 0;
  uint8_t mode = in[0];
  std::span<const uint8_t> rest = in.subspan(1);
  std::span<const uint8_t> sizes = rest.subspan(rest.size() > 8 ? rest.size() - 8 : 0);

  // Raw bytes, and raw bytes behind the user id so the block parser runs.
  reader_on_raw(rest, sizes);
  std::vector<uint8_t> framed(kId.begin(), kId.end());
  framed.insert(framed.end(), rest.begin(), rest.end());
  reader_on_raw(framed, sizes);
  {
    Unpadder u(kId);
    std::vector<uint8_t> buf(framed);
    auto n = u.unpad(buf, buf.data());
    if (n) require(*n <= buf.size());
  }

  // Filter and completeness on arbitrary buffers.
  TrafficState st;
  std::span<const uint8_t> one[] = {rest};
  filter_tls(st, one);
  require(!st.enable_xtls || st.is_tls12_or_above);
  (void)is_complete_record(one);

  round_trip(rest, mode);
  return 0;
}
