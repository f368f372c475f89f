// Hysteria v1's Brutal variant on the QUIC core's RateController (virtual
// time): 4 one-second slots and a 1.5 x BDP window, v2's clamped ackRate.
#include <catch2/catch.hpp>

#include "quic/brutal.hpp"

using namespace sluice;
using namespace sluice::quic;

namespace {
constexpr uint64_t kSec = 1000000000;

ngtcp2_conn_stat stat_with_rtt(uint64_t srtt_ns) {
  ngtcp2_conn_stat cs{};
  cs.first_rtt_sample_ts = srtt_ns == 0 ? UINT64_MAX : 1;
  cs.smoothed_rtt = srtt_ns;
  cs.max_tx_udp_payload_size = 1200;
  return cs;
}

// Sends |n| packets of 1200 bytes at second |sec|, every |lose_every|-th
// lost (0: none), and returns after the last ACK.
void traffic(Brutal& b, ngtcp2_conn_stat& cs, uint64_t sec, int n, int lose_every) {
  for (int i = 0; i < n; ++i) {
    const uint64_t t = sec * kSec + static_cast<uint64_t>(i);
    b.on_packet_sent(cs, 1200, t);
    if (lose_every == 0 || i % lose_every != 0) b.on_packet_acked(cs, 1200, t, t);
    b.on_ack(cs, t);
  }
}
}  // namespace

TEST_CASE("Brutal v1: window is 1.5 x rate x RTT, v2 keeps 2 x", "[quic][hysteria1][brutal]") {
  Brutal v1({12500000, false, BrutalVariant::v1});
  Brutal v2({12500000, false, BrutalVariant::v2});
  auto c1 = stat_with_rtt(0), c2 = stat_with_rtt(0);
  v1.on_start(c1, 0);
  CHECK(c1.cwnd == Brutal::kInitialWindow);
  c1 = stat_with_rtt(40 * 1000000);  // 40 ms
  c2 = c1;
  v1.on_ack(c1, kSec);
  v2.on_ack(c2, kSec);
  CHECK(c1.cwnd == 12500000ull * 15 / 10 / 25);  // B x RTT x 1.5
  CHECK(c2.cwnd == 12500000ull * 2 / 25);
  CHECK(c1.pacing_rate == Approx(12500000.0 / 1e9));
}

TEST_CASE("Brutal v1: loss compensation clamped at 0.8 over 4 slots", "[quic][hysteria1][brutal]") {
  Brutal b({1000000, false, BrutalVariant::v1});
  auto cs = stat_with_rtt(10 * 1000000);
  b.on_start(cs, 0);
  traffic(b, cs, 1, 1000, 2);  // half lost: floor
  CHECK(b.ack_rate() == Approx(0.8));
  CHECK(cs.pacing_rate * 1e9 == Approx(1250000.0));
  CHECK(cs.cwnd == static_cast<uint64_t>(1000000 * 0.01 * 1.5 / 0.8));
  // Four seconds later v2 (5 slots) still counts the lossy second; v1
  // (4 slots) has reused its slot.
  Brutal b2({1000000, false, BrutalVariant::v2});
  auto cs2 = stat_with_rtt(10 * 1000000);
  traffic(b2, cs2, 1, 1000, 2);
  traffic(b, cs, 5, 100, 0);
  traffic(b2, cs2, 5, 100, 0);
  CHECK(b.ack_rate() == Approx(1.0));
  CHECK(b2.ack_rate() < 1.0);
  // Under 50 samples the ratio is not trusted.
  Brutal few({1000000, false, BrutalVariant::v1});
  auto cs3 = stat_with_rtt(10 * 1000000);
  traffic(few, cs3, 1, 40, 2);
  CHECK(few.ack_rate() == Approx(1.0));
}
