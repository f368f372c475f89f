// hysteria1_rows.cpp: Hysteria v1 rows: Hysteria1Session -> Hysteria1Inbound
// -> direct, without and with XPlus. The client announces 10 Gbit/s both
// ways (Brutal at that rate is not the limit on loopback); the server sets
// no limits (BBR for its sends).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "hysteria1_rows.hpp"

#include "bench_material.hpp"

#if __has_include(<ngtcp2/ngtcp2.h>)  // lib/quic is built only with ngtcp2

#include "inbound/hysteria1_inbound.hpp"
#include "inbound/router.hpp"
#include "session/direct_session.hpp"
#include "session/hysteria1_session.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kAuth = "tunnel bench";
constexpr const char* kObfs = "tunnel bench obfs";
constexpr uint64_t kRate = 10000 * 125000;  // 10 Gbit/s in bytes/s

template <bool kXPlus>
Result<uint16_t> server_side(Engine& e, uint16_t, Keep& keep, std::string* reason) {
  auto cert = material_file("cert.pem", reason);
  auto key = material_file("key.pem", reason);
  if (!cert || !key) return Errc::invalid_argument;
  Hysteria1InboundConfig c;
  c.tag = "hysteria-in";
  c.users = {{"bench", kAuth}};
  c.tls.cert_pem = *cert;
  c.tls.key_pem = *key;
  if (kXPlus) c.obfs = kObfs;
  auto* direct = keep.add(std::make_unique<DirectSession>(e, "direct", net::DialOptions{}));
  auto* router = keep.add(std::make_unique<FinalRouter>(direct));
  auto in = Hysteria1Inbound::create(e, c, router, reason);
  if (!in) return in.error();
  const uint16_t port = (*in)->port();
  keep.add(std::move(*in));
  return port;
}

template <bool kXPlus>
Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason) {
  auto pin = certificate_pin(reason);
  if (!pin) return pin.error();
  Hysteria1SessionOptions o;
  o.server = "127.0.0.1";
  o.server_port = upstream;
  o.auth = kAuth;
  o.up_bps = kRate;
  o.down_bps = kRate;
  o.tls.server_name = kBenchServerName;
  o.tls.cert_pins_hex = {*pin};
  if (kXPlus) o.obfs = kObfs;
  auto s = Hysteria1Session::create(e, "hysteria", o, reason);
  if (!s) return s.error();
  return socks_front(e, std::move(*s), keep, reason);
}

const RowDef kRows[] = {
    {"hysteria1", "Hysteria v1", server_side<false>, client_side<false>},
    {"hysteria1-xplus", "Hysteria v1 (XPlus)", server_side<true>, client_side<true>},
};

}  // namespace

std::span<const RowDef> hysteria1_rows() { return kRows; }

}  // namespace sluice::perf

#else

namespace sluice::perf {
std::span<const RowDef> hysteria1_rows() { return {}; }
}  // namespace sluice::perf

#endif
