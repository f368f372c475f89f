// tuic_rows.cpp: see tuic_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "tuic_rows.hpp"

#include "bench_material.hpp"

#if __has_include(<ngtcp2/ngtcp2.h>)  // lib/quic is built only with ngtcp2

#include "inbound/router.hpp"
#include "inbound/tuic_inbound.hpp"
#include "session/direct_session.hpp"
#include "session/tuic_session.hpp"

namespace sluice::perf {
namespace {

constexpr tuic::Uuid kUuid = {0xfe, 0x35, 0xd0, 0x5b, 0x88, 0x03, 0x45, 0xc4,
                              0xba, 0xe6, 0x72, 0x3a, 0xd2, 0xcd, 0x5d, 0x3d};
constexpr const char* kPassword = "bench password";

template <quic::CongestionControl CC>
Result<uint16_t> server_side(Engine& e, uint16_t, Keep& keep, std::string* reason) {
  auto cert = material_file("cert.pem", reason);
  auto key = material_file("key.pem", reason);
  if (!cert || !key) return Errc::invalid_argument;
  auto* direct = keep.add(std::make_unique<DirectSession>(e, "direct", net::DialOptions{}));
  auto* router = keep.add(std::make_unique<FinalRouter>(direct));
  TuicInboundConfig c;
  c.tag = "in";
  c.users = {{"bench", kUuid, kPassword}};
  c.tls.alpn = {"h3"};
  c.tls.cert_pem = *cert;
  c.tls.key_pem = *key;
  c.congestion_control = CC;
  auto in = TuicInbound::create(e, c, router, reason);
  if (!in) return in.error();
  auto* raw = keep.add(std::move(*in));
  return raw->port();
}

template <quic::CongestionControl CC>
Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason) {
  auto pin = certificate_pin(reason);
  if (!pin) return pin.error();
  TuicSessionOptions o;
  o.server = "127.0.0.1";
  o.server_port = upstream;
  o.uuid = kUuid;
  o.password = kPassword;
  o.tls.alpn = {"h3"};
  o.tls.server_name = kBenchServerName;
  o.tls.cert_pins_hex = {*pin};
  o.congestion_control = CC;
  auto s = TuicSession::create(e, "tuic", o, reason);
  if (!s) return s.error();
  return socks_front(e, std::unique_ptr<Session>(std::move(*s)), keep, reason);
}

const RowDef kRows[] = {
    {"tuic", "TUIC v5 (cubic)", server_side<quic::CongestionControl::cubic>,
     client_side<quic::CongestionControl::cubic>},
    {"tuic-bbr", "TUIC v5 (bbr)", server_side<quic::CongestionControl::bbr>,
     client_side<quic::CongestionControl::bbr>},
};

}  // namespace

std::span<const RowDef> tuic_rows() { return kRows; }

}  // namespace sluice::perf

#else

namespace sluice::perf {
std::span<const RowDef> tuic_rows() { return {}; }
}  // namespace sluice::perf

#endif
