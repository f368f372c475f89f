// Hysteria v2's pieces on the QUIC core: Salamander (spec 14.1 vector) and
// Brutal's window, pacing and loss compensation (virtual time).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "quic/brutal.hpp"
#include "quic/salamander.hpp"

using namespace sluice;
using namespace sluice::quic;

namespace {
std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}
}  // namespace

TEST_CASE("Salamander: spec 14.1 vector", "[quic][hysteria2][salamander]") {
  auto s = Salamander::create("average_password");
  REQUIRE(s);
  const uint8_t salt[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  uint8_t key[32];
  (*s)->key(salt, key);
  CHECK(hex(key, 32) == "7145ab9cb8618c6057681425a251337ddff92fdc6320f58920527b95fff4df33");
  const std::string payload = "Hello, Salamander! 0123456789abcdefghijklmnopqrstuvwxyz";
  REQUIRE(payload.size() == 55);
  std::vector<uint8_t> wire(63);
  (*s)->encode_with_salt(salt, reinterpret_cast<const uint8_t*>(payload.data()), payload.size(),
                         wire.data());
  CHECK(hex(wire.data(), wire.size()) ==
        "0001020304050607"
        "3920c7f0d74dac3336047548c33f5718add80fec5212c6bd15644cadc695bd50"
        "1520cdfbd008e60b3b057a4ad220410eab8c59ab1b598f");
  // Decoding restores it in place.
  REQUIRE((*s)->decode(wire.data(), wire.size()) == 55);
  CHECK(std::string(wire.begin() + 8, wire.end()) == payload);
}

TEST_CASE("Salamander: random salts round-trip; short packets and PSKs refused",
          "[quic][hysteria2][salamander]") {
  auto s = Salamander::create("pass");
  REQUIRE(s);
  CHECK(Salamander::create("abc").error() == Errc::invalid_argument);
  std::vector<uint8_t> in(1400);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> a(in.size() + 8), b(in.size() + 8);
  (*s)->encode(in.data(), in.size(), a.data());
  (*s)->encode(in.data(), in.size(), b.data());
  CHECK(std::memcmp(a.data(), b.data(), 8) != 0);  // fresh salt per packet
  CHECK(std::memcmp(a.data() + 8, in.data(), 32) != 0);
  REQUIRE((*s)->decode(a.data(), a.size()) == in.size());
  CHECK(std::memcmp(a.data() + 8, in.data(), in.size()) == 0);
  uint8_t tiny[8] = {};
  CHECK((*s)->decode(tiny, 8) == 0);
  // Another PSK yields other bytes (QUIC then drops the packet).
  auto t = Salamander::create("other");
  REQUIRE(t);
  (*s)->encode(in.data(), in.size(), b.data());
  REQUIRE((*t)->decode(b.data(), b.size()) == in.size());
  CHECK(std::memcmp(b.data() + 8, in.data(), in.size()) != 0);
}

namespace {
constexpr uint64_t kSec = 1000000000;

ngtcp2_conn_stat stat_with_rtt(uint64_t srtt_ns) {
  ngtcp2_conn_stat cs{};
  cs.first_rtt_sample_ts = srtt_ns == 0 ? UINT64_MAX : 1;
  cs.smoothed_rtt = srtt_ns;
  cs.max_tx_udp_payload_size = 1200;
  return cs;
}
}  // namespace

// sent_rate drives |b| as the connection does for |secs| seconds from |t0|:
// a burst of send_quantum bytes at one timestamp, then the next burst at the
// time ngtcp2's pacer computes (write time + burst / pacing_rate), woken up
// |late_ns| late as a loop timer is. Returns bytes per second sent.
double sent_rate(Brutal& b, ngtcp2_conn_stat& cs, uint64_t t0, double secs, uint64_t late_ns) {
  uint64_t t = t0;
  uint64_t sent = 0;
  const uint64_t end = t0 + static_cast<uint64_t>(secs * 1e9);
  while (t < end) {
    const size_t burst = std::max<size_t>(cs.send_quantum, 1200);
    size_t n = 0;
    for (; n + 1200 <= burst; n += 1200) b.on_packet_sent(cs, 1200, t);
    sent += n;
    const uint64_t interval = static_cast<uint64_t>(static_cast<double>(n) / cs.pacing_rate);
    t += interval + late_ns;
  }
  return static_cast<double>(sent) / (static_cast<double>(t - t0) / 1e9);
}

TEST_CASE("Brutal: window and pacing from the rate and RTT", "[quic][hysteria2][brutal]") {
  Brutal b({12500000, false});  // 100 Mbit/s
  auto cs = stat_with_rtt(0);
  b.on_start(cs, 0);
  CHECK(cs.cwnd == Brutal::kInitialWindow);
  cs = stat_with_rtt(50 * 1000000);  // 50 ms
  b.on_ack(cs, kSec);
  CHECK(cs.cwnd == 12500000ull * 2 / 20);  // B × RTT × 2
  CHECK(cs.send_quantum == 50000);         // B × 4 ms
  // A short RTT still gets a window of B × 25 ms × 2.
  cs = stat_with_rtt(100000);
  b.on_ack(cs, kSec);
  CHECK(cs.cwnd == 12500000ull * 2 / 40);
  // The pacer holds B whether the loop wakes up on time or 1 ms late.
  CHECK(sent_rate(b, cs, 2 * kSec, 2.0, 0) == Approx(12500000.0).epsilon(0.03));
  CHECK(sent_rate(b, cs, 5 * kSec, 2.0, 1000000) == Approx(12500000.0).epsilon(0.03));
  // A 4 ms burst of credit at most: after idling, the first burst goes at
  // once, the next one is paced.
  cs.pacing_rate = 0;
  b.on_packet_sent(cs, 1200, 10 * kSec);
  CHECK(cs.pacing_rate == Approx(1e6));
}

TEST_CASE("Brutal: loss compensation raises the rate up to 1/0.8", "[quic][hysteria2][brutal]") {
  auto run = [](bool disabled, double loss) {
    Brutal b({1000000, disabled});
    auto cs = stat_with_rtt(10 * 1000000);
    b.on_start(cs, 0);
    uint64_t t = kSec;
    // 1000 packets of 1200 bytes over one second; |loss| of them lost:
    // they leave bytes_in_flight without an ACK.
    for (int i = 0; i < 1000; ++i) {
      cs.bytes_in_flight += 1200;
      b.on_packet_sent(cs, 1200, t);
      cs.bytes_in_flight -= 1200;  // acknowledged or declared lost
      if (i % 100 >= loss * 100) b.on_packet_acked(cs, 1200, t, t);
      b.on_ack(cs, t);
      t += kSec / 1000;
    }
    // The loop above sent faster than the rate: the pacer first pays that
    // debt off, so measure after one second of it.
    (void)sent_rate(b, cs, t, 1.0, 500000);
    return std::make_pair(b.ack_rate(), sent_rate(b, cs, t + 2 * kSec, 1.0, 500000));
  };
  auto [r0, p0] = run(false, 0.0);
  CHECK(r0 == Approx(1.0));
  CHECK(p0 == Approx(1000000.0).epsilon(0.03));
  auto [r5, p5] = run(false, 0.05);
  CHECK(r5 == Approx(0.95).epsilon(0.01));
  CHECK(p5 == Approx(1000000.0 / 0.95).epsilon(0.03));
  auto [r50, p50] = run(false, 0.5);
  CHECK(r50 == Approx(0.8));  // floor
  CHECK(p50 == Approx(1250000.0).epsilon(0.03));
  auto [rd, pd] = run(true, 0.3);
  CHECK(rd == Approx(1.0));
  CHECK(pd == Approx(1000000.0).epsilon(0.03));
}

TEST_CASE("Brutal: fewer than 50 packets keep ackRate at 1; old slots expire",
          "[quic][hysteria2][brutal]") {
  Brutal b({1000000, false});
  auto cs = stat_with_rtt(10 * 1000000);
  b.on_start(cs, 0);
  for (int i = 0; i < 20; ++i) {
    b.on_packet_sent(cs, 1200, kSec);
    if (i % 2) b.on_packet_acked(cs, 1200, kSec, kSec);
  }
  b.on_ack(cs, kSec);
  CHECK(b.ack_rate() == Approx(1.0));
  for (int i = 0; i < 100; ++i) b.on_packet_sent(cs, 1200, kSec);  // 100 lost
  for (int i = 0; i < 100; ++i) b.on_packet_acked(cs, 1200, kSec, kSec);
  b.on_ack(cs, kSec);
  CHECK(b.ack_rate() < 1.0);
  // Seven seconds later only new, clean samples count.
  for (int i = 0; i < 100; ++i) {
    b.on_packet_sent(cs, 1200, 8 * kSec);
    b.on_packet_acked(cs, 1200, 8 * kSec, 8 * kSec);
  }
  b.on_ack(cs, 8 * kSec);
  CHECK(b.ack_rate() == Approx(1.0));
}
