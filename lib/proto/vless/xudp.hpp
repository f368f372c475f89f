// proto/vless/xudp.hpp: XUDP, full-cone UDP over Mux.Cool session 0
// (vless.md section 6.2). The frame codec is mux_frame.hpp; this file is the
// per-direction policy: which frame to send, and what a received frame means.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Client -> server:
//   first datagram:  New(1), Data, UDP, PORT | ATYP | ADDR [| GlobalID]
//   later ones:      Keep(2), Data, UDP, PORT | ATYP | ADDR
// sing-box (sing-vmess xudp.go) always names the destination on Keep; Xray
// (common/xudp/xudp.go) only for packets with an explicit address, and
// appends its 8-byte GlobalID to the New frame (all zero unless cone mode
// keys it). sluice does what sing-box does, with the GlobalID optional.
// Server -> client:
//   every datagram:  Keep(2), Data, UDP, PORT | ATYP | ADDR (the source)
//
// Receiving, as the reference readers do:
//   client (Xray xudp.PacketReader, sing-vmess XUDPConn.ReadPacket):
//     Keep -> a datagram, from its address or else the request destination;
//     KeepAlive -> nothing; End -> end of stream; New -> end of stream
//     (Xray: EOF on any status but 2 and 4; sing-vmess: an error);
//     option Error -> the remote closed (sing-vmess).
//   server: the first frame must be New with network UDP (a Vision user's
//     Mux may only carry UDP, vless.md section 6.2); Keep uses its address or
//     the New frame's; KeepAlive -> nothing; End -> end of stream.
// Any session id other than 0 is protocol_violation: that is full Mux.Cool,
// which sluice does not serve.
//
// Writing: Xray's XUDP writer silently drops datagrams that are empty or
// longer than 8192 - 666 bytes; encode_* reject only what cannot be framed
// (> 65535) and leave size policy to the relay.
//
// Threading: one flow's objects, touched by its loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/target_address.hpp"
#include "proto/vless/mux_frame.hpp"
#include "sluice/error.hpp"

namespace sluice::vless {

// kXudpMaxHeader: the longest frame header XUDP writes (New, domain, GlobalID).
inline constexpr size_t kXudpMaxHeader = 2 + 4 + 1 + (2 + 1 + 1 + 255) + kGlobalIdSize + 2;
// kXrayXudpMaxPayload: the largest datagram Xray's XUDP writer sends.
inline constexpr size_t kXrayXudpMaxPayload = 8192 - 666;

// XudpEvent is what one received frame means.
struct XudpEvent {
  enum Kind : uint8_t {
    none,      // nothing to deliver (KeepAlive, a frame without data)
    datagram,  // |addr| and |data| (points into the frame's input)
    end,       // the peer ended the flow; |remote_error| if option Error was set
  };
  Kind kind = none;
  TargetAddress addr;
  std::span<const uint8_t> data;
  bool remote_error = false;
};

// XudpClient frames the client's datagrams and reads the server's.
class XudpClient {
 public:
  // |destination| is the flow's first target (what the request named for a
  // plain UDP flow); |global_id| is sent on the New frame when non-null.
  explicit XudpClient(const TargetAddress& destination,
                      const GlobalId* global_id = nullptr) noexcept;

  // header_size is the header length in front of a datagram to |to|.
  size_t header_size(const TargetAddress& to) const noexcept;
  // encode_header writes the header for a |data_len| datagram to |to|:
  // New on the first call, Keep afterwards. Returns the bytes written.
  Result<size_t> encode_header(const TargetAddress& to, size_t data_len, std::span<uint8_t> out);

  // on_frame interprets a frame from the server (see above).
  Result<XudpEvent> on_frame(const MuxFrame& f) const;

 private:
  MuxFrameHeader header_for(const TargetAddress& to) const noexcept;
  TargetAddress destination_;
  GlobalId global_id_{};
  bool has_global_id_ = false;
  bool new_sent_ = false;  // the New frame went out
};

// XudpServer reads the client's frames and frames replies.
class XudpServer {
 public:
  // on_frame interprets a frame from the client (see above). After the New
  // frame, destination() is the flow's first target and global_id() its
  // GlobalID (all zero when absent, which Xray treats as "none").
  Result<XudpEvent> on_frame(const MuxFrame& f);

  bool started() const noexcept { return started_; }
  const TargetAddress& destination() const noexcept { return destination_; }
  const GlobalId& global_id() const noexcept { return global_id_; }

  // header_size / encode_header frame a reply datagram from |from|
  // (Keep, Data, UDP, address).
  static size_t header_size(const TargetAddress& from) noexcept;
  static Result<size_t> encode_header(const TargetAddress& from, size_t data_len,
                                      std::span<uint8_t> out);

 private:
  bool started_ = false;
  TargetAddress destination_;
  GlobalId global_id_{};
};

}  // namespace sluice::vless
