// fuzz/vless_framing_fuzz.cpp: the VLESS stream-to-datagram framings
// (UdpFraming for command 0x02 streams, XudpFraming at its server and
// client ends) on arbitrary bytes arriving in Slices of arbitrary sizes, as
// a connection's reads deliver them. Every datagram taken must be framed
// back by the other end into bytes that the matching take() turns into the
// same address and payload.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "proto/datagram_framing.hpp"
#include "proto/vless/udp_framing.hpp"
#include "proto/vless/xudp_framing.hpp"
#include "sluice/buffer.hpp"

using namespace sluice;
using namespace sluice::vless;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

BufferPool& pool() {
  static BufferPool p;
  return p;
}

std::vector<uint8_t> bytes_of(const Slice& s) { return {s.data(), s.data() + s.size()}; }

// echo frames |d| with |sender| and checks that |receiver| takes it back.
void echo(DatagramFraming& sender, DatagramFraming& receiver, const FramedDatagram& d,
          const TargetAddress& expect) {
  auto copy = pool().copy_from(d.payload.data(), d.payload.size());
  require(copy.has_value());
  Chain wire;
  require(static_cast<bool>(sender.frame(d.address, std::move(*copy), pool(), &wire)));
  FramedDatagram back;
  auto r = receiver.take(wire, pool(), &back);
  require(r.has_value() && *r);
  require(wire.size() == 0);
  require(back.address == expect);
  require(bytes_of(back.payload) == bytes_of(d.payload));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t seed = data[0];
  std::span<const uint8_t> in(data + 1, size - 1);
  const TargetAddress target = TargetAddress::from_ipv4({10, 0, 0, 1}, 53);
  const uint8_t mode = seed % 3;

  UdpFraming udp(target);
  UdpFraming udp_peer(target);
  XudpFraming xudp_server = XudpFraming::server();
  XudpFraming xudp_client = XudpFraming::client(target);
  DatagramFraming* f = mode == 0   ? static_cast<DatagramFraming*>(&udp)
                       : mode == 1 ? static_cast<DatagramFraming*>(&xudp_server)
                                   : static_cast<DatagramFraming*>(&xudp_client);

  Chain c;
  size_t off = 0;
  size_t piece = 1 + seed % 29;
  bool failed = false;
  while (off < in.size() && !failed) {
    const size_t n = std::min(piece, in.size() - off);
    auto s = pool().copy_from(in.data() + off, n);
    require(s.has_value());
    require(c.push_back(std::move(*s)).has_value());
    off += n;
    piece = 1 + (piece * 13 + seed) % 997;
    for (;;) {
      const size_t before = c.size();
      FramedDatagram d;
      auto r = f->take(c, pool(), &d);
      if (!r) {
        failed = true;
        break;
      }
      if (!*r) {
        // Nothing whole yet: either nothing consumed, or only frames that
        // carry no datagram (empty, KeepAlive, a New without data).
        require(c.size() <= before);
        break;
      }
      require(c.size() < before);
      if (mode == 0) {
        require(d.payload.size() > 0 && d.address == target);
        echo(udp_peer, udp, d, target);
      } else if (mode == 1) {
        require(xudp_server.started());
        // The server's reply from |d.address| must reach a client whose
        // flow began at the server's first destination.
        XudpFraming client = XudpFraming::client(xudp_server.destination());
        echo(xudp_server, client, d, d.address);
      } else {
        // A client end hears replies; frame one back towards the server
        // end, which sees the flow's first destination on New.
        XudpFraming server = XudpFraming::server();
        XudpFraming client = XudpFraming::client(target);
        FramedDatagram first = {target, d.payload};
        echo(client, server, first, target);
        require(server.started() && server.destination() == target);
      }
    }
  }
  return 0;
}
