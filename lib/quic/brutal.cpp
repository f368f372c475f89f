// brutal.cpp: Hysteria's Brutal congestion control on the RateController hook.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "quic/brutal.hpp"

#include <algorithm>

namespace sluice::quic {

namespace {
constexpr uint64_t kNsPerSec = 1000000000;
}

Brutal::Slot& Brutal::slot(uint64_t now) noexcept {
  const uint64_t sec = now / kNsPerSec;
  Slot& s = slots_[sec % slot_count()];
  if (s.sec != sec) s = Slot{sec, 0, 0, 0};
  return s;
}

void Brutal::update_loss(const ngtcp2_conn_stat& cs, uint64_t now) noexcept {
  // Every byte sent is acknowledged, in flight, or was declared lost.
  const uint64_t accounted = acked_total_ + cs.bytes_in_flight;
  const uint64_t lost = sent_total_ > accounted ? sent_total_ - accounted : 0;
  if (lost > lost_total_) {
    slot(now).lost_bytes += lost - lost_total_;
    lost_total_ = lost;
  }
}

void Brutal::update_ack_rate(const ngtcp2_conn_stat& cs, uint64_t now) noexcept {
  if (opts_.disable_loss_compensation) {
    ack_rate_ = 1.0;
    return;
  }
  const uint64_t sec = now / kNsPerSec;
  uint64_t acked_pkts = 0, acked = 0, lost = 0;
  for (const Slot& s : slots_) {
    if (s.sec == UINT64_MAX || s.sec + slot_count() < sec) continue;
    acked_pkts += s.acked_pkts;
    acked += s.acked_bytes;
    lost += s.lost_bytes;
  }
  const size_t mds = std::max<size_t>(cs.max_tx_udp_payload_size, 1);
  const uint64_t lost_pkts = (lost + mds - 1) / mds;
  if (acked_pkts + lost_pkts < kMinSamples || acked + lost == 0) {
    ack_rate_ = 1.0;
    return;
  }
  ack_rate_ = std::max(static_cast<double>(acked) / static_cast<double>(acked + lost), kMinAckRate);
}

void Brutal::apply(ngtcp2_conn_stat& cs) const noexcept {
  const double rate = static_cast<double>(opts_.rate) / ack_rate_;  // bytes per second
  if (cs.first_rtt_sample_ts == UINT64_MAX) {
    cs.cwnd = kInitialWindow;
  } else {
    // The window covers at least kMinWindowRtt: loss is declared only after
    // the packet threshold or a probe timeout (which includes the peer's
    // max_ack_delay, 25 ms by default), so on a path whose RTT is far below
    // that a 2×RTT window is full of packets not yet known lost and the
    // sender stalls below its rate. Pacing still holds the rate at
    // B / ackRate; the floor only keeps the pacer fed.
    const double srtt = static_cast<double>(std::max<uint64_t>(cs.smoothed_rtt, kMinWindowRtt)) /
                        static_cast<double>(kNsPerSec);
    const double w = static_cast<double>(opts_.rate) * srtt * 2.0 / ack_rate_;
    cs.cwnd = std::max<uint64_t>(cs.max_tx_udp_payload_size, static_cast<uint64_t>(w));
    // v1 sizes the window at 1.5 x (rate x RTT / ackRate) instead of 2 x.
    if (opts_.variant == BrutalVariant::v1)
      cs.cwnd = std::max<uint64_t>(cs.max_tx_udp_payload_size, static_cast<uint64_t>(w * 0.75));
  }
  // The burst the pacer lets out at once: Brutal's token bucket holds
  // max(R × 4 ms, 10 packets), within the connection's 64 KiB burst buffer.
  const size_t mds = std::max<size_t>(cs.max_tx_udp_payload_size, 1200);
  cs.send_quantum =
      std::min<size_t>(kMaxBurst, std::max<size_t>(static_cast<size_t>(rate * 0.004), 10 * mds));
}

void Brutal::pace(ngtcp2_conn_stat& cs, size_t bytes, uint64_t now) noexcept {
  // ngtcp2 schedules the next burst at (write time + burst bytes /
  // pacing_rate). Its write time is when the loop woke up, which is late
  // by up to the timer's resolution each time, so pacing at R would send
  // below R. Brutal's pacer is a token bucket instead: credit accrues at R
  // from the last send, up to one maximal burst. sched_ is when the bytes
  // sent so far are due under that bucket; pacing_rate is set so that
  // ngtcp2's next send time is sched_. Every packet of one burst carries
  // the same timestamp (the connection writes a burst at one `now`).
  if (now != burst_ts_) {
    burst_ts_ = now;
    burst_bytes_ = 0;
  }
  burst_bytes_ += bytes;
  const double r = static_cast<double>(opts_.rate) / ack_rate_ / static_cast<double>(kNsPerSec);
  const double mds = static_cast<double>(std::max<size_t>(cs.max_tx_udp_payload_size, 1200));
  const double max_burst_ns = std::max(4e6, 10 * mds / r);
  const double t = static_cast<double>(now);
  if (sched_ < t - max_burst_ns) sched_ = t - max_burst_ns;
  sched_ += static_cast<double>(bytes) / r;
  if (sched_ <= t) {
    cs.pacing_rate = kUnpaced;  // credit left: the next burst may go at once
  } else {
    cs.pacing_rate = static_cast<double>(burst_bytes_) / (sched_ - t);
  }
}

void Brutal::on_start(ngtcp2_conn_stat& cs, uint64_t) {
  apply(cs);
  cs.pacing_rate = static_cast<double>(opts_.rate) / static_cast<double>(kNsPerSec);
}

void Brutal::on_packet_sent(ngtcp2_conn_stat& cs, size_t bytes, uint64_t now) {
  sent_total_ += bytes;
  apply(cs);
  pace(cs, bytes, now);
}

void Brutal::on_packet_acked(ngtcp2_conn_stat& cs, size_t bytes, uint64_t, uint64_t now) {
  acked_total_ += bytes;
  Slot& s = slot(now);
  s.acked_pkts++;
  s.acked_bytes += bytes;
  (void)cs;
}

void Brutal::on_ack(ngtcp2_conn_stat& cs, uint64_t now) {
  update_loss(cs, now);
  update_ack_rate(cs, now);
  apply(cs);
}

void Brutal::on_congestion(ngtcp2_conn_stat& cs, uint64_t, uint64_t now) {
  // Loss does not shrink the window; it only feeds ackRate.
  update_loss(cs, now);
  update_ack_rate(cs, now);
  apply(cs);
}

void Brutal::on_persistent_congestion(ngtcp2_conn_stat& cs, uint64_t now) {
  update_loss(cs, now);
  apply(cs);
}

}  // namespace sluice::quic
