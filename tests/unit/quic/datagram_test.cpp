// Tests for the RFC 9221 DATAGRAM size arithmetic (lib/quic/datagram.hpp).
#include <catch2/catch.hpp>

#include "quic/datagram.hpp"

using namespace sluice::quic;

TEST_CASE("varint_len follows RFC 9000 §16", "[quic][datagram]") {
  CHECK(varint_len(0) == 1);
  CHECK(varint_len(63) == 1);
  CHECK(varint_len(64) == 2);
  CHECK(varint_len(16383) == 2);
  CHECK(varint_len(16384) == 4);
  CHECK(varint_len((1u << 30) - 1) == 4);
  CHECK(varint_len(1u << 30) == 8);
}

TEST_CASE("max_datagram_payload: the peer's limit and the path", "[quic][datagram]") {
  // Datagrams off at the peer (RFC 9221 §3).
  CHECK(max_datagram_payload(0, 1452, 16) == 0);
  CHECK(max_datagram_payload(1, 1452, 16) == 0);
  // A generous peer: the path decides. 1452 - (1 + 16 + 4 + 16) - 3.
  CHECK(max_datagram_payload(65535, 1452, 16) == 1412);
  CHECK(max_datagram_payload(65535, 1200, 20) == 1156);
  // Hysteria v2's 1200-byte frame cap: type + 2-byte length + 1197 (spec §9.3).
  CHECK(max_datagram_payload(1200, 65527, 8) == 1197);
  // Small limits: 1-byte length below 64.
  CHECK(max_datagram_payload(64, 1452, 8) == 62);
  CHECK(max_datagram_payload(66, 1452, 8) == 63);
  CHECK(max_datagram_payload(67, 1452, 8) == 64);  // 1 + 2-byte length + 64 = 67
  // A path too small for any frame.
  CHECK(max_datagram_payload(65535, 40, 16) == 0);
}
