// config/fields.hpp: the JSON fields the config parser knows, one table per
// kind of object. Private to lib/config.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every ObjectReader is built over the tables of the object it reads, and
// reading a field missing from them is a programming error (a check fails),
// so these tables are exactly the fields the parser accepts: read, ignored
// with a warning, or rejected unless empty. docs/config.md documents each
// table in a section marked <!-- fields: NAME -->, and a unit test checks
// that the two agree in both directions.
#pragma once

#include <span>
#include <string_view>

namespace sluice::config {

struct FieldTable {
  std::string_view name;  // as in docs/config.md's "<!-- fields: NAME -->"
  std::span<const std::string_view> fields;
};

// The tables, by object. An inbound is read against "inbound" + "listen" +
// its type's table; an outbound against "outbound" + "dial" (except block)
// + its type's table.
extern const FieldTable kDocumentFields;
extern const FieldTable kLogFields;
extern const FieldTable kRouteFields;
extern const FieldTable kInboundFields;
extern const FieldTable kListenFields;
// kListenIgnoredFields: the part of kListenFields sluice accepts and ignores
// with a warning (sing-box tuning knobs and deprecated sniffing options).
extern const std::span<const std::string_view> kListenIgnoredFields;
extern const FieldTable kSocksInboundFields;
extern const FieldTable kHttpInboundFields;
extern const FieldTable kMixedInboundFields;
extern const FieldTable kTrojanInboundFields;
extern const FieldTable kVlessInboundFields;
extern const FieldTable kTuicInboundFields;
extern const FieldTable kTuicUserFields;  // tuic users[]
extern const FieldTable kTuicOutboundFields;
extern const FieldTable kProxyUserFields;   // socks / http / mixed users[]
extern const FieldTable kTrojanUserFields;  // trojan users[]
extern const FieldTable kVlessUserFields;   // vless users[]
extern const FieldTable kFallbackFields;    // fallback, fallback_for_alpn.*
extern const FieldTable kOutboundFields;
extern const FieldTable kDialFields;
extern const FieldTable kDirectOutboundFields;
extern const FieldTable kBlockOutboundFields;
extern const FieldTable kSocksOutboundFields;
extern const FieldTable kHttpOutboundFields;
extern const FieldTable kTrojanOutboundFields;
extern const FieldTable kVlessOutboundFields;
extern const FieldTable kSshOutboundFields;
extern const FieldTable kTlsClientFields;
extern const FieldTable kTlsUtlsFields;
extern const FieldTable kTlsEchClientFields;
extern const FieldTable kTlsServerFields;
extern const FieldTable kTlsSniCertificateFields;
extern const FieldTable kTlsEchServerFields;
extern const FieldTable kTlsRealityClientFields;
extern const FieldTable kTlsRealityServerFields;
extern const FieldTable kTlsRealityHandshakeFields;
extern const FieldTable kTlsRealityFallbackLimitFields;
extern const FieldTable kHysteria2InboundFields;
extern const FieldTable kHysteria2UserFields;        // hysteria2 users[]
extern const FieldTable kHysteria2ObfsFields;        // hysteria2 obfs (both sides)
extern const FieldTable kHysteria2MasqueradeFields;  // inbound masquerade object
extern const FieldTable kHysteria2OutboundFields;
extern const FieldTable kHysteriaInboundFields;
extern const FieldTable kHysteriaUserFields;  // hysteria (v1) users[]
extern const FieldTable kHysteriaOutboundFields;

// all_field_tables lists every table above.
std::span<const FieldTable* const> all_field_tables() noexcept;

}  // namespace sluice::config
