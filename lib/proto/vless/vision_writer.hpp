// proto/vless/vision_writer.hpp: the Vision writer state machine (vless.md
// section 7.5): one direction's send side.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The owner passes each batch of inner plaintext it would send (one "write",
// as a list of buffers) to write(). While padding, write() returns the padded
// bytes in |out|; afterwards it answers passthrough and the owner sends the
// batch unchanged. Per batch, as Xray's VisionWriter.WriteMultiBuffer:
//   - the input is cut into buffers of at most 8192 bytes (what Xray's reads
//     produce) and the shared filter runs over them while it still counts;
//   - complete = the batch is exactly whole 17 03 03 records;
//   - buffers of 8171 bytes or more are split at their last 17 03 03 if that
//     lies in [21, 8171], otherwise at 4096 (ReshapeMultiBuffer);
//   - for each buffer i (long padding starts as is_tls):
//     a. is_tls, starts 17 03 03, >= 6 bytes, and complete: if enable_xtls,
//        switch to direct after this batch; command Continue, except the last
//        buffer gets End, or Direct if enable_xtls; long padding; padding
//        is over, and the following buffers get short padding;
//     b. else if the inner stream is not TLS 1.2+ and the filter is on its
//        last packet (<= 1): End with the current padding length; padding is
//        over and the rest of the batch goes out unpadded;
//     c. else Continue, except the last buffer gets End/Direct once padding
//        is over.
//   - the user id goes in front of the first block this writer ever emits.
// write_empty() is the "no payload within 500 ms" case: one Continue block
// with no content and long padding (section 7.5 step 3, section 8 step 4).
//
// WriteStep::switch_to_direct is the event for the transport: send this
// step's bytes through the outer layer as usual, then send everything after
// them in this direction straight to the TCP socket, bypassing the outer
// record layer for good (no close_notify, no KeyUpdate; close with FIN,
// section 7.7). A client may refuse it (allow_direct = false): it then sends
// End instead of Direct and stays on the outer layer, which interoperates
// (section 7.7) but differs from Xray's traffic shape.
//
// Threading: one direction of one connection, touched by its loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/vless/user_id.hpp"
#include "proto/vless/vision_filter.hpp"
#include "proto/vless/vision_padding.hpp"
#include "sluice/error.hpp"

namespace sluice::vless {

// WriteStep is the outcome of one write.
struct WriteStep {
  bool passthrough = false;       // padding is over: send the input unchanged (len == 0)
  size_t len = 0;                 // padded bytes written to |out|
  bool switch_to_direct = false;  // the event above; reported once
};

class VisionWriter {
 public:
  // |state| is shared with this side's VisionReader and must outlive both.
  VisionWriter(TrafficState& state, const UserId& id, PaddingRandom rnd = secure_padding_random(),
               PaddingSeed seed = {}, bool allow_direct = true) noexcept
      : state_(state), id_(id), rnd_(rnd), seed_(seed), allow_direct_(allow_direct) {}

  // max_output_size bounds what write(|mb|) may put in |out|.
  size_t max_output_size(std::span<const std::span<const uint8_t>> mb) const noexcept;

  // write processes one batch (see above). buffer_too_small if |out| is
  // shorter than max_output_size(mb) (nothing changes then).
  Result<WriteStep> write(std::span<const std::span<const uint8_t>> mb, std::span<uint8_t> out);
  // write_empty emits the empty long-padding block while padding; afterwards
  // it writes nothing. Needs kVisionMaxOverhead + 1399 bytes with the default
  // seed (max_output_size({})).
  Result<WriteStep> write_empty(std::span<uint8_t> out);

  bool padding() const noexcept { return is_padding_; }
  // direct: the switch to direct was reported.
  bool direct() const noexcept { return direct_; }

 private:
  size_t max_padding() const noexcept;
  TrafficState& state_;
  UserId id_;
  PaddingRandom rnd_;
  PaddingSeed seed_;
  bool allow_direct_;
  bool is_padding_ = true;    // Xray IsPadding
  bool uuid_pending_ = true;  // Xray writeOnceUserUUID not yet written
  bool direct_ = false;
};

}  // namespace sluice::vless
