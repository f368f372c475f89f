// fuzz/vless_udp_fuzz.cpp: VLESS UDP framing, packetaddr, Mux.Cool frames and
// the XUDP client/server policies on arbitrary bytes. A stream of frames is
// consumed the way a connection would, and accepted frames re-encode to
// themselves.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "proto/vless/mux_frame.hpp"
#include "proto/vless/packetaddr.hpp"
#include "proto/vless/udp.hpp"
#include "proto/vless/xudp.hpp"

using namespace sluice;
using namespace sluice::vless;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

template <typename R>
void check_shape(const R& r, size_t in_size) {
  if (r.done()) require(r.consumed > 0 && r.consumed <= in_size);
  if (r.need_more()) require(r.consumed == 0);
  if (r.failed()) require(r.error != Errc::ok);
}

void udp_stream(std::span<const uint8_t> in) {
  while (!in.empty()) {
    auto f = parse_udp_frame(in);
    check_shape(f, in.size());
    if (!f.done()) return;
    require(f.value.size() + 2 == f.consumed);
    auto p = decode_packetaddr(f.value);
    if (p) {
      uint8_t buf[kMaxPacketAddrSize];
      auto n = encode_packetaddr(p->addr, buf);
      require(n && *n + p->payload.size() == f.value.size());
      require(std::memcmp(buf, f.value.data(), *n) == 0);
    }
    in = in.subspan(f.consumed);
  }
}

void mux_stream(std::span<const uint8_t> in) {
  XudpClient client(TargetAddress::from_ipv4({8, 8, 8, 8}, 53));
  XudpServer server;
  bool server_alive = true;
  while (!in.empty()) {
    auto f = parse_mux_frame(in);
    check_shape(f, in.size());
    if (!f.done()) return;
    const MuxFrameHeader& h = f.value.header;
    // Re-encode: the parser is strict, so the bytes come back.
    uint8_t buf[kXudpMaxHeader + 16];
    auto n = encode_mux_frame_header(h, f.value.data.size(), buf);
    require(n && *n + f.value.data.size() == f.consumed);
    require(std::memcmp(buf, in.data(), *n) == 0);
    require(!h.has_data() || f.value.data.data() == in.data() + *n);

    auto ce = client.on_frame(f.value);
    if (ce && ce->kind == XudpEvent::datagram) require(ce->data.size() == f.value.data.size());
    if (server_alive) {
      auto se = server.on_frame(f.value);
      if (!se || se->kind == XudpEvent::end) server_alive = false;
    }
    in = in.subspan(f.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  udp_stream(in);
  mux_stream(in);
  auto p = decode_packetaddr(in);
  if (p) require(p->payload.size() < size);

  // Encoders on fuzzed targets: the header a client or server would send.
  auto t = TargetAddress::decode_socks(in);
  if (t.done()) {
    XudpClient c(t.value);
    uint8_t buf[kXudpMaxHeader];
    for (int i = 0; i < 2; ++i) {
      size_t hs = c.header_size(t.value);
      auto n = c.encode_header(t.value, 5, buf);
      require(n && *n == hs && hs <= sizeof buf);
      auto back = parse_mux_frame(std::span<const uint8_t>(buf, hs));
      require(back.need_more());  // the 5 data bytes are missing
    }
    auto n = XudpServer::encode_header(t.value, 0, buf);
    require(n && *n == XudpServer::header_size(t.value));
    auto back = parse_mux_frame(std::span<const uint8_t>(buf, *n));
    require(back.done() && back.value.header.target == t.value);
  }
  return 0;
}
