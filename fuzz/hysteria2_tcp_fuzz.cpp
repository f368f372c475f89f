// fuzz/hysteria2_tcp_fuzz.cpp: the Hysteria v2 TCPRequest / TCPResponse
// parsers and the stream server core on arbitrary bytes. A parsed frame
// must re-encode to the same length with the same fields (padding content
// is random, only its length is kept), and every strict prefix of a parsed
// frame must be need_more.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "proto/hysteria2/hysteria2.hpp"
#include "proto/hysteria2/server.hpp"

using namespace sluice;
using namespace sluice::hysteria2;

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto q = parse_tcp_request(in);
  check_shape(q, size);
  if (q.done()) {
    const std::string addr = address_text(q.value.target);
    std::vector<uint8_t> out(tcp_request_size(addr, q.value.padding));
    auto n = encode_tcp_request(addr, q.value.padding, out);
    require(n.has_value());
    auto again = parse_tcp_request(out);
    require(again.done() && again.consumed == out.size());
    require(again.value.target == q.value.target && again.value.padding == q.value.padding);
    for (size_t k = 0; k < q.consumed; ++k) require(parse_tcp_request(in.first(k)).need_more());
  }
  auto b = parse_tcp_request_body(in);
  check_shape(b, size);
  auto r = parse_tcp_response(in);
  check_shape(r, size);
  if (r.done()) {
    std::vector<uint8_t> out(tcp_response_size(r.value.message, 0));
    auto n = encode_tcp_response(r.value.status, r.value.message, 0, out);
    require(n.has_value());
    auto again = parse_tcp_response(out);
    require(again.done() && again.value.status == r.value.status &&
            again.value.message == r.value.message);
    for (size_t k = 0; k < r.consumed; ++k) require(parse_tcp_response(in.first(k)).need_more());
  }
  // The server core decides on the same bytes as the parser.
  hysteria2::ServerCore core("fuzz");
  auto d = core.feed(in);
  require((d.kind == ServerDecision::open) == q.done());
  require((d.kind == ServerDecision::reject) == q.failed());
  if (d.kind == ServerDecision::open) {
    require(d.consumed == q.consumed);
    core.answer(Errc::ok, {});
    require(parse_tcp_response(core.output()).done());
  }
  return 0;
}
