// fuzz/http_connect_fuzz.cpp: HTTP head parsers, the proxy request
// interpretation and rewrite, CONNECT responses and Basic credentials.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "proto/base64.hpp"
#include "proto/http_connect/connect_client.hpp"
#include "proto/http_connect/http_head.hpp"
#include "proto/http_connect/proxy_server.hpp"
#include "proto/target_address.hpp"

using namespace sluice;
using namespace sluice::http;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto head = parse_request_head(in);
  if (head.done()) require(head.consumed <= size);
  if (head.need_more()) require(head.consumed == 0);

  auto req = parse_proxy_request(in);
  if (req.done()) {
    // Whatever we forward must parse again as a request (it may only grow
    // past the limits, by Host and Connection).
    std::string fwd = build_forward_head(req.value);
    auto again = parse_request_head(bytes(fwd));
    require(again.done() || (again.failed() && (again.error == Errc::limit_exceeded ||
                                                again.error == Errc::frame_too_large)));
    if (again.done()) require(again.consumed == fwd.size());
    (void)check_basic_auth(req.value, "user", "pass");
    for (const Header& h : req.value.headers) (void)parse_basic_credentials(h.value);
    if (req.value.connect) {
      // Our CONNECT client must be able to ask for any target our server accepts.
      auto c = build_connect_request(req.value.target, ConnectRequestOptions{});
      require(c.has_value());
      auto back = parse_proxy_request(bytes(*c));
      require(back.done() && back.value.target == req.value.target);
    }
  } else if (req.failed()) {
    int status = status_for_error(req.error);
    std::string resp = build_response(status);
    auto p = parse_connect_response(bytes(resp));
    require(p.done() && p.value.status == status);
  }

  auto resp = parse_connect_response(in);
  if (resp.done()) {
    require(resp.consumed <= size && resp.value.status >= 200 && resp.value.status <= 999);
    (void)errc_for_status(resp.value.status);
  }

  auto t = TargetAddress::parse(text);
  if (t) {
    auto again = TargetAddress::parse(t->to_string());
    require(again && *again == *t);
  }
  auto b = base64_decode(text);
  if (b) require(*base64_decode(base64_encode(std::string_view(*b))) == *b);
  (void)parse_basic_credentials(text);
  return 0;
}
