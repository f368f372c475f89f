// fuzz/socks5_fuzz.cpp: every SOCKS5 parser and both handshake state
// machines on arbitrary bytes; parsed frames must re-encode to themselves.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "proto/socks5/handshake.hpp"
#include "proto/socks5/socks5.hpp"
#include "proto/socks5/udp.hpp"
#include "proto/target_address.hpp"

using namespace sluice;
using namespace sluice::socks5;

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

void parsers(std::span<const uint8_t> in) {
  auto g = parse_greeting(in);
  check_shape(g, in.size());
  if (g.done()) (void)choose_method(g.value, in.size() % 2 == 0);

  auto a = parse_auth_request(in);
  check_shape(a, in.size());
  if (a.done()) {
    uint8_t buf[kMaxAuthRequestSize];
    auto n = build_auth_request(a.value.username(), a.value.password(), buf);
    require(n && *n == a.consumed && std::memcmp(buf, in.data(), *n) == 0);
  }

  auto r = parse_request(in);
  check_shape(r, in.size());
  if (r.done()) {
    uint8_t buf[kMaxRequestSize];
    auto n = build_request(r.value.command, r.value.target, buf);
    require(n && *n == r.consumed && std::memcmp(buf, in.data(), *n) == 0);
    (void)r.value.target.to_string();
    auto again = TargetAddress::parse(r.value.target.to_string());
    // An IP or a domain without ':' survives the text form (port 0 does not).
    if (again) require(again->port() == r.value.target.port());
  }

  auto rep = parse_reply(in);
  check_shape(rep, in.size());
  if (rep.done()) {
    uint8_t buf[kMaxReplySize];
    auto n = build_reply(rep.value.rep, rep.value.bound, buf);
    require(n && *n == rep.consumed && std::memcmp(buf, in.data(), *n) == 0);
    (void)errc_for_rep(rep.value.rep);
  }

  check_shape(parse_method_choice(in), in.size());
  check_shape(parse_auth_status(in), in.size());
  auto t = TargetAddress::decode_socks(in);
  check_shape(t, in.size());

  auto u = decode_udp(in);
  if (u) {
    uint8_t buf[TargetAddress::kMaxSocksSize + 3];
    auto n = encode_udp_header(u->target, buf);
    require(n && *n + u->payload.size() == in.size() && std::memcmp(buf, in.data(), *n) == 0);
  }
}

// feed drives a state machine, delivering |in| in chunks whose sizes come
// from |sizes| (cycled), keeping unconsumed bytes like a real connection.
void server(std::span<const uint8_t> in, std::span<const uint8_t> sizes, bool auth) {
  ServerHandshake hs(auth);
  std::vector<uint8_t> buffered;
  size_t pos = 0;
  size_t k = 0;
  while (pos < in.size()) {
    size_t chunk = sizes.empty() ? in.size() : (sizes[k++ % sizes.size()] % 16) + 1;
    chunk = std::min(chunk, in.size() - pos);
    buffered.insert(buffered.end(), in.begin() + pos, in.begin() + pos + chunk);
    pos += chunk;
    for (;;) {
      auto step = hs.feed(buffered);
      require(step.consumed <= buffered.size());
      buffered.erase(buffered.begin(), buffered.begin() + static_cast<long>(step.consumed));
      hs.clear_output();
      if (step.kind == ServerStep::fail) return;
      if (step.kind == ServerStep::check_auth) {
        hs.auth_result(hs.username().size() % 2 == 0);
        continue;
      }
      if (step.kind == ServerStep::request) {
        require(hs.request().command != Command::bind);
        require(hs.reply(Rep::succeeded, hs.request().target).has_value());
        continue;
      }
      break;  // need_more
    }
  }
}

void client(std::span<const uint8_t> in, bool auth) {
  auto target = TargetAddress::from_domain("example.com", 443);
  ClientHandshake c(Command::connect, *target, auth ? "user" : "", auth ? "pass" : "");
  require(c.start().has_value());
  std::vector<uint8_t> buffered;
  for (uint8_t b : in) {
    buffered.push_back(b);
    auto step = c.feed(buffered);
    require(step.consumed <= buffered.size());
    buffered.erase(buffered.begin(), buffered.begin() + static_cast<long>(step.consumed));
    c.clear_output();
    if (step.kind != ClientStep::need_more) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  parsers(in);
  if (size == 0) return 0;
  // First byte: options; the rest the peer's bytes. The last few bytes
  // double as chunk sizes.
  uint8_t mode = in[0];
  std::span<const uint8_t> rest = in.subspan(1);
  std::span<const uint8_t> sizes = rest.subspan(rest.size() > 8 ? rest.size() - 8 : 0);
  server(rest, sizes, (mode & 1) != 0);
  client(rest, (mode & 2) != 0);
  return 0;
}
