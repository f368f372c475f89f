// proto/vless/vision_padding.hpp: Vision's padding block format and padding
// length rule (vless.md sections 7.2 and 7.3).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   [USER ID (16): the first block of a direction only]
//   COMMAND (1) | CONTENT LEN C (2, BE) | PADDING LEN P (2, BE) | CONTENT | PADDING
//   COMMAND 0x00 PaddingContinue (another block header follows)
//           0x01 PaddingEnd      (padding is over; raw bytes follow)
//           0x02 PaddingDirect   (as End, and the sender switched this
//                                 direction to the raw TCP socket)
// Example (first block, content "hello", 3 bytes of padding):
//   bf000d23075240b4affe68f7707a9661 00 0005 0003 68656c6c6f 000000
//
// Padding length (Xray XtlsPadding with testseed [900, 500, 900, 256]):
//   long and C < 900:  P = rand[0, 500) + 900 - C
//   otherwise:         P = rand[0, 256)
//   then P <= 8192 - 21 - C.
// Receivers accept any P. sluice writes zero padding bytes (Xray sends
// whatever its pooled buffer held; the receiver skips them either way).
//
// Unpadder is the streaming block parser (Xray XtlsUnpadding): it keeps its
// position inside a block across buffers, so blocks may be split anywhere.
// Only its initial state is buffer-sensitive, exactly as in Xray and
// sing-box: a buffer starts a padded stream only if it is >= 21 bytes and
// begins with the user id; otherwise it is raw (vless.md section 7.6).
//
// Threading: one direction's objects, touched by its loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/vless/user_id.hpp"
#include "sluice/error.hpp"

namespace sluice::vless {

enum class VisionCommand : uint8_t {
  padding_continue = 0x00,
  padding_end = 0x01,
  padding_direct = 0x02
};

inline constexpr size_t kVisionBlockHeader = 5;
// kVisionBufSize: Xray's buf.Size; blocks are sized so one fits in it.
inline constexpr size_t kVisionBufSize = 8192;
// kVisionMaxOverhead: user id + block header ("max 21 bytes", Xray).
inline constexpr size_t kVisionMaxOverhead = kUserIdSize + kVisionBlockHeader;

// PaddingSeed is Xray's testseed; the defaults are Xray's.
struct PaddingSeed {
  uint32_t long_threshold = 900;  // content shorter than this gets long padding
  uint32_t long_random = 500;     // random part of long padding, [0, long_random)
  uint32_t long_base = 900;       // long padding fills up to long_base + random
  uint32_t short_random = 256;    // short padding is [0, short_random)
};

// PaddingRandom returns a uniform value in [0, bound) (bound > 0). Injected
// so tests are deterministic; secure_padding_random() is the default.
struct PaddingRandom {
  uint32_t (*fn)(void* user, uint32_t bound) = nullptr;
  void* user = nullptr;
  uint32_t operator()(uint32_t bound) const noexcept { return fn(user, bound); }
};
// secure_padding_random draws from BoringSSL's CSPRNG (like Xray's crypto/rand).
PaddingRandom secure_padding_random() noexcept;

// padding_length applies the rule above to a block of |content_len| bytes.
uint32_t padding_length(size_t content_len, bool long_padding, const PaddingRandom& rnd,
                        const PaddingSeed& seed = {}) noexcept;

// block_size is the encoded size of one block.
constexpr size_t block_size(size_t content_len, size_t padding_len, bool with_user_id) noexcept {
  return (with_user_id ? kUserIdSize : 0) + kVisionBlockHeader + content_len + padding_len;
}

// encode_block writes one block into |out|: the user id first if |user_id| is
// non-null, then header, content, |padding_len| zero bytes. |content| may
// alias |out| only if it already sits at the content position.
// invalid_argument if content or padding exceed 65535; buffer_too_small if
// |out| is short. Returns the bytes written.
Result<size_t> encode_block(VisionCommand cmd, std::span<const uint8_t> content, size_t padding_len,
                            const UserId* user_id, std::span<uint8_t> out);

// Unpadder removes block framing from one direction's received stream.
class Unpadder {
 public:
  explicit Unpadder(const UserId& id) noexcept : id_(id) {}

  // unpad processes one received buffer |in| and writes the content bytes
  // (and, after an End/Direct block, the rest of the buffer as raw bytes) to
  // |out|, which must hold in.size() bytes and may be in.data() itself (the
  // bytes only move towards the front). Returns the bytes written.
  // protocol_violation for a command other than 0, 1, 2 (sing-box errors on
  // it; Xray only logs, then treats the stream as raw).
  Result<size_t> unpad(std::span<const uint8_t> in, uint8_t* out);

  // initial: between padded streams (no block started or the last one was
  // End/Direct), where the next buffer is checked for the user id.
  bool initial() const noexcept { return rem_cmd_ < 0 && rem_content_ < 0 && rem_padding_ < 0; }
  // current_command: the command of the block being (or last) read.
  int current_command() const noexcept { return cur_cmd_; }
  // in_block: inside a block's header, content or padding.
  bool in_block() const noexcept { return rem_cmd_ > 0 || rem_content_ > 0 || rem_padding_ > 0; }
  // mid_block: part of a block has been read and the rest has not (unlike
  // in_block, false between a finished Continue block and the next header).
  bool mid_block() const noexcept {
    return (rem_cmd_ > 0 && rem_cmd_ < static_cast<int32_t>(kVisionBlockHeader)) ||
           rem_content_ > 0 || rem_padding_ > 0;
  }
  int32_t remaining_content() const noexcept { return rem_content_; }
  int32_t remaining_padding() const noexcept { return rem_padding_; }

 private:
  UserId id_;
  // Xray's RemainingCommand/Content/Padding: -1/-1/-1 is the initial state;
  // rem_cmd_ counts the header bytes still to read (5..1).
  int32_t rem_cmd_ = -1;
  int32_t rem_content_ = -1;
  int32_t rem_padding_ = -1;
  int cur_cmd_ = 0;  // Xray CurrentCommand
};

}  // namespace sluice::vless
