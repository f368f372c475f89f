// brutal.hpp: Brutal, Hysteria's fixed-rate congestion control, as a
// RateController on the congestion-control hook (cc_hook.hpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Brutal sends at a configured rate B (bytes per second) whatever the loss,
// and raises the rate to make up for the loss it sees (apernet/hysteria
// core/internal/congestion/brutal/brutal.go):
//
//   ackRate = acked / (acked + lost) over the last 5 one-second slots,
//             at least 0.8; 1 while fewer than 50 packets were counted, or
//             always when loss compensation is disabled
//   cwnd    = max(packet size, B × max(smoothed RTT, 25 ms) × 2 / ackRate)
//             (10240 bytes before the first RTT sample; the 25 ms floor is
//             sluice's, see kMinWindowRtt)
//   pacing  = B / ackRate, a token bucket of max(B / ackRate × 4 ms,
//             10 packets) (official pacer.go), steering ngtcp2's pacer
//
// There is no slow start, no reaction to loss other than ackRate, and RTO
// does not shrink the window. ngtcp2 0.12.1 offers the hook no per-packet
// loss entry, so losses are derived from its accounting: every byte sent is
// either acknowledged, still in flight, or declared lost, hence lost =
// sent − acknowledged − bytes in flight (cumulative), evaluated at every
// ACK frame. Packet counts for the 50-packet threshold divide lost bytes by
// the current packet size.
//
// Threads: one connection's object (the loop thread).
#pragma once

#include <cstddef>
#include <cstdint>

#include "quic/cc_hook.hpp"

namespace sluice::quic {

// BrutalVariant picks the constants of the two Hysteria versions: v2 (the
// above) or v1 (Hysteria 1.x core/congestion/brutal.go): 4 one-second
// slots instead of 5 and cwnd = B x RTT x 1.5 / ackRate instead of x 2.
// v1's published code skips the 50-packet rule and the 0.8 floor by a bug
// (its ackRate is the raw ratio); sluice applies v2's rule to both, which
// is not visible on the wire.
enum class BrutalVariant : uint8_t { v2, v1 };

struct BrutalOptions {
  uint64_t rate = 0;  // B, bytes per second (> 0)
  bool disable_loss_compensation = false;
  BrutalVariant variant = BrutalVariant::v2;
};

class Brutal final : public RateController {
 public:
  static constexpr size_t kSlots = 5;          // seconds of history (v2)
  static constexpr size_t kSlotsV1 = 4;        // seconds of history (v1)
  static constexpr uint64_t kMinSamples = 50;  // packets before ackRate is trusted
  static constexpr double kMinAckRate = 0.8;   // compensate at most 25 %
  static constexpr uint64_t kInitialWindow = 10240;
  // kMinWindowRtt: the window is sized for at least this RTT (ns); see
  // apply() in brutal.cpp.
  static constexpr uint64_t kMinWindowRtt = 25000000;
  // kMaxBurst: the most a burst may hold (the connection builds one burst
  // into a 64 KiB buffer).
  static constexpr size_t kMaxBurst = 64 * 1024;

  explicit Brutal(const BrutalOptions& o) noexcept : opts_(o) {}

  void on_start(ngtcp2_conn_stat& cs, uint64_t now) override;
  void on_packet_sent(ngtcp2_conn_stat& cs, size_t bytes, uint64_t now) override;
  void on_packet_acked(ngtcp2_conn_stat& cs, size_t bytes, uint64_t sent_at, uint64_t now) override;
  void on_ack(ngtcp2_conn_stat& cs, uint64_t now) override;
  void on_congestion(ngtcp2_conn_stat& cs, uint64_t sent_at, uint64_t now) override;
  void on_persistent_congestion(ngtcp2_conn_stat& cs, uint64_t now) override;

  // set_rate changes B (bytes per second, > 0); it takes effect at the
  // next packet or ACK.
  void set_rate(uint64_t rate) noexcept {
    if (rate > 0) opts_.rate = rate;
  }
  double ack_rate() const noexcept { return ack_rate_; }
  uint64_t rate() const noexcept { return opts_.rate; }
  uint64_t lost_bytes() const noexcept { return lost_total_; }
  uint64_t sent_bytes() const noexcept { return sent_total_; }
  uint64_t acked_bytes() const noexcept { return acked_total_; }

 private:
  struct Slot {
    uint64_t sec = UINT64_MAX;
    uint64_t acked_pkts = 0;
    uint64_t acked_bytes = 0;
    uint64_t lost_bytes = 0;
  };
  Slot& slot(uint64_t now) noexcept;
  size_t slot_count() const noexcept {
    return opts_.variant == BrutalVariant::v1 ? kSlotsV1 : kSlots;
  }
  void update_loss(const ngtcp2_conn_stat& cs, uint64_t now) noexcept;
  void update_ack_rate(const ngtcp2_conn_stat& cs, uint64_t now) noexcept;
  void apply(ngtcp2_conn_stat& cs) const noexcept;
  void pace(ngtcp2_conn_stat& cs, size_t bytes, uint64_t now) noexcept;

  BrutalOptions opts_;
  Slot slots_[kSlots];        // the first slot_count() are used
  uint64_t sent_total_ = 0;   // bytes of in-flight packets ever sent
  uint64_t acked_total_ = 0;  // ... acknowledged
  uint64_t lost_total_ = 0;   // ... derived lost (sent - acked - in flight)
  double ack_rate_ = 1.0;
  // The token-bucket pacer (pace()): when the bytes sent so far are due, in
  // ns of the connection's clock, and the current burst.
  double sched_ = 0;
  uint64_t burst_ts_ = UINT64_MAX;
  size_t burst_bytes_ = 0;
  // kUnpaced: a pacing rate (bytes/ns) that makes ngtcp2's next send time
  // the current one.
  static constexpr double kUnpaced = 1e6;
};

}  // namespace sluice::quic
