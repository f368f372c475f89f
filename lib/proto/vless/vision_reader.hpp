// proto/vless/vision_reader.hpp: the Vision reader state machine (vless.md
// section 7.6): one direction's receive side.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The owner hands every plaintext buffer it reads from the outer layer (TLS
// or REALITY) to on_buffer, in order, and delivers what comes out. Per buffer,
// as Xray's VisionReader.ReadMultiBuffer:
//   1. after the switch to direct: the buffer passes through untouched;
//   2. while within_padding or the filter still counts: unpad (Unpadder) and
//      then set within_padding from where the block parser stands:
//        inside a block, or the last command was Continue -> still padding;
//        End -> padding over;  Direct -> padding over, and switch to direct;
//   3. run the shared filter on what was delivered, while it still counts.
// ReadStep::switch_to_direct is the event for the transport: deliver this
// step's bytes, then the outer layer's decrypted-but-unread plaintext, then
// its received-but-undecrypted bytes, in that order, as plain stream bytes;
// then read the raw TCP socket for this direction and never touch the outer
// layer's read side again (sections 7.6, 7.7, 12.2). Bytes then handed to
// on_buffer pass through (step 1), so a transport may keep calling it.
//
// Deviations from Xray: a block command other than 0, 1, 2 is
// protocol_violation (as in sing-box; Xray logs "unknown command" and carries
// on); and a buffer that ends inside a block header keeps the reader within
// padding (Xray looks at the previous block's stale lengths there and could
// end padding or switch to direct in the middle of a header). Both only
// matter for input Xray itself never sends.
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

// ReadStep is the outcome of one received buffer.
struct ReadStep {
  size_t len = 0;                 // bytes of stream data written to |out|
  bool switch_to_direct = false;  // the event above; reported once
};

class VisionReader {
 public:
  // |state| is shared with this side's VisionWriter and must outlive both.
  VisionReader(TrafficState& state, const UserId& id) noexcept : state_(state), unpadder_(id) {}

  // on_buffer processes one buffer (see above). |out| must hold in.size()
  // bytes and may be in.data() (in-place). Errors are fatal for the flow.
  Result<ReadStep> on_buffer(std::span<const uint8_t> in, uint8_t* out);

  bool within_padding() const noexcept { return within_padding_; }
  bool direct() const noexcept { return direct_; }
  // in_block: the last buffer ended part-way through a padding block (its
  // header, content or padding). A stream that ends here was cut short
  // (truncated); one that ends between blocks, still padding, did not.
  bool in_block() const noexcept { return !direct_ && unpadder_.mid_block(); }

 private:
  TrafficState& state_;
  Unpadder unpadder_;
  bool within_padding_ = true;  // Xray WithinPaddingBuffers
  bool direct_ = false;         // switched to direct read
};

}  // namespace sluice::vless
