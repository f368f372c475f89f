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
    const double srtt = static_cast<double>(cs.smoothed_rtt) / static_cast<double>(kNsPerSec);
    const double w = static_cast<double>(opts_.rate) * srtt * 2.0 / ack_rate_;
    cs.cwnd = std::max<uint64_t>(cs.max_tx_udp_payload_size, static_cast<uint64_t>(w));
    // v1 sizes the window at 1.5 x (rate x RTT / ackRate) instead of 2 x.
    if (opts_.variant == BrutalVariant::v1)
      cs.cwnd = std::max<uint64_t>(cs.max_tx_udp_payload_size, static_cast<uint64_t>(w * 0.75));
  }
  cs.pacing_rate = rate / static_cast<double>(kNsPerSec);  // bytes per nanosecond
}

void Brutal::on_start(ngtcp2_conn_stat& cs, uint64_t) { apply(cs); }

void Brutal::on_packet_sent(ngtcp2_conn_stat& cs, size_t bytes, uint64_t) {
  sent_total_ += bytes;
  apply(cs);
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
