// rfc8448_profile.hpp: the RFC 8448 client's ClientHello as a profile row
// (its cipher, group, signature-algorithm and extension lists), shared by the
// client tests and the handshake fuzz target.
#pragma once

#include <cstdint>

#include "proto/tls13/profile.hpp"
#include "proto/tls13/types.hpp"

namespace sluice::test::rfc8448 {

using tls13::ClientProfile;
using tls13::ExtKind;
using tls13::PaddingRule;
using tls13::ProfileExtension;
namespace ext = tls13::ext;

inline constexpr uint16_t kCiphers[] = {0x1301, 0x1303, 0x1302};
inline constexpr uint16_t kGroups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100,
                                       0x0101, 0x0102, 0x0103, 0x0104};
inline constexpr uint16_t kSigalgs[] = {0x0403, 0x0503, 0x0603, 0x0203, 0x0804,
                                        0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
                                        0x0201, 0x0402, 0x0502, 0x0602, 0x0202};
inline constexpr uint16_t kVersions[] = {0x0304};
inline constexpr uint8_t kRenego[] = {0};
inline constexpr uint8_t kPskModes[] = {1, 1};
inline constexpr uint8_t kRecordSizeLimit[] = {0x40, 0x01};
inline constexpr ProfileExtension kExtensions[] = {
    {ext::server_name, ExtKind::server_name, {}},
    {ext::renegotiation_info, ExtKind::literal, kRenego},
    {ext::supported_groups, ExtKind::supported_groups, {}},
    {ext::session_ticket, ExtKind::literal, {}},
    {ext::key_share, ExtKind::key_share, {}},
    {ext::supported_versions, ExtKind::supported_versions, {}},
    {ext::signature_algorithms, ExtKind::signature_algorithms, {}},
    {ext::psk_key_exchange_modes, ExtKind::literal, kPskModes},
    {ext::record_size_limit, ExtKind::literal, kRecordSizeLimit},
};
inline constexpr ClientProfile kProfile = {
    "rfc8448", false, 0, kCiphers, kGroups, kSigalgs, kVersions, kExtensions, PaddingRule::none,
};

}  // namespace sluice::test::rfc8448
