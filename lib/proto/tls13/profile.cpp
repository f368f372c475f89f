// proto/tls13/profile.cpp: see profile.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tls13/profile.hpp"

#include "proto/tls13/types.hpp"

namespace sluice::tls13 {

namespace {

constexpr uint16_t kChromeCiphers[] = {
    kGrease, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
    0xcca9,  0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
};
constexpr uint16_t kChromeGroups[] = {kGrease, kGroupX25519Mlkem768, kGroupX25519, kGroupSecp256r1,
                                      kGroupSecp384r1};
constexpr uint16_t kChromeSigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503,
                                       0x0805, 0x0501, 0x0806, 0x0601};
constexpr uint16_t kChromeVersions[] = {kGrease, kTls13, kTls12};

constexpr uint8_t kRenegotiationInfo[] = {0x00};
constexpr uint8_t kEcPointFormats[] = {0x01, 0x00};
constexpr uint8_t kStatusRequest[] = {0x01, 0x00, 0x00, 0x00, 0x00};
constexpr uint8_t kPskModes[] = {0x01, 0x01};
constexpr uint8_t kCompressCertBrotli[] = {0x02, 0x00, 0x02};

constexpr ProfileExtension kChromeExtensions[] = {
    {0, ExtKind::grease_first, {}},
    {ext::server_name, ExtKind::server_name, {}},
    {ext::extended_master_secret, ExtKind::literal, {}},
    {ext::renegotiation_info, ExtKind::literal, kRenegotiationInfo},
    {ext::supported_groups, ExtKind::supported_groups, {}},
    {ext::ec_point_formats, ExtKind::literal, kEcPointFormats},
    {ext::session_ticket, ExtKind::literal, {}},
    {ext::alpn, ExtKind::alpn, {}},
    {ext::status_request, ExtKind::literal, kStatusRequest},
    {ext::signature_algorithms, ExtKind::signature_algorithms, {}},
    {ext::signed_certificate_timestamp, ExtKind::literal, {}},
    {ext::key_share, ExtKind::key_share, {}},
    {ext::psk_key_exchange_modes, ExtKind::literal, kPskModes},
    {ext::supported_versions, ExtKind::supported_versions, {}},
    {ext::compress_certificate, ExtKind::literal, kCompressCertBrotli},
    {ext::application_settings, ExtKind::application_settings, {}},
    {ext::encrypted_client_hello, ExtKind::encrypted_client_hello, {}},
    {0, ExtKind::grease_last, {}},
};

constexpr ClientProfile kChrome = {
    "chrome",
    true,
    32,
    kChromeCiphers,
    kChromeGroups,
    kChromeSigalgs,
    kChromeVersions,
    kChromeExtensions,
    PaddingRule::boringssl,
};

}  // namespace

const ClientProfile& chrome_profile() noexcept { return kChrome; }

const ClientProfile* find_profile(std::string_view name) noexcept {
  if (name == kChrome.name) return &kChrome;
  return nullptr;
}

}  // namespace sluice::tls13
