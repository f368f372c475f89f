// fuzz/tuic_command_fuzz.cpp: the TUIC v5 command and datagram parsers on
// arbitrary bytes; parsed headers must re-encode to the bytes they came
// from, and a datagram parse must agree with the stream parse.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "proto/tuic/tuic.hpp"

using namespace sluice;
using namespace sluice::tuic;

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

size_t reencode(const ParsedCommand& c, uint8_t* out) {
  switch (c.command) {
    case Command::authenticate:
      return encode_authenticate(c.uuid, c.token, out);
    case Command::connect:
      return encode_connect(c.target, out);
    case Command::packet:
      return encode_packet_header(c.packet, out);
    case Command::dissociate:
      return encode_dissociate(c.assoc_id, out);
    case Command::heartbeat:
      return encode_heartbeat(out);
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto r = parse_command(in);
  check_shape(r, size);
  if (r.done()) {
    uint8_t buf[kMaxHeaderSize];
    size_t n = reencode(r.value, buf);
    require(n == r.consumed);
    require(std::memcmp(buf, data, n) == 0);
    if (r.value.command == Command::packet) require(n == packet_header_size(r.value.packet));
  }
  // Every strict prefix of a parsed header needs more.
  if (r.done())
    for (size_t k = 0; k < r.consumed; ++k) require(parse_command(in.first(k)).need_more());
  auto d = parse_datagram(in);
  require(!d.need_more());
  check_shape(d, size);
  if (d.done()) {
    require(r.done() && d.consumed == r.consumed);
    require(d.value.command == Command::packet || d.value.command == Command::heartbeat);
    if (d.value.command == Command::packet) require(size - d.consumed >= d.value.packet.size);
  }
  return 0;
}
