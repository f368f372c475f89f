// config/fields.cpp: the field tables (see fields.hpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/fields.hpp"

namespace sluice::config {
namespace {

using F = std::string_view;

constexpr F kDocument[] = {"log", "inbounds", "outbounds", "route"};
constexpr F kLog[] = {"level", "disabled", "timestamp", "output"};
constexpr F kRoute[] = {"final"};

constexpr F kInbound[] = {"type", "tag"};
constexpr F kListen[] = {
    "listen",
    "listen_port",
    "tcp_fast_open",
    "udp_timeout",
    "max_connections",
    "max_connections_per_ip",
    // accepted, ignored with a warning
    "bind_interface",
    "routing_mark",
    "reuse_addr",
    "netns",
    "tcp_multi_path",
    "disable_tcp_keep_alive",
    "tcp_keep_alive",
    "tcp_keep_alive_interval",
    "udp_fragment",
    "detour",
    "sniff",
    "sniff_override_destination",
    "sniff_timeout",
    "domain_strategy",
    "udp_disable_domain_unmapping",
};
constexpr F kSocksInbound[] = {"users", "udp"};
constexpr F kHttpInbound[] = {"users", "set_system_proxy", "tls"};
constexpr F kMixedInbound[] = {"users", "udp", "set_system_proxy"};
constexpr F kTrojanInbound[] = {"users",     "tls",      "fallback", "fallback_for_alpn",
                                "multiplex", "transport"};
constexpr F kVlessInbound[] = {"users",     "tls",      "fallback", "fallback_for_alpn",
                               "multiplex", "transport"};
constexpr F kTuicInbound[] = {
    "users", "congestion_control", "auth_timeout", "zero_rtt_handshake", "heartbeat", "tls"};
constexpr F kTuicUser[] = {"name", "uuid", "password"};
constexpr F kProxyUser[] = {"username", "password"};
constexpr F kTrojanUser[] = {"name", "password"};
constexpr F kVlessUser[] = {"name", "uuid", "flow"};
constexpr F kFallback[] = {"server", "server_port"};
constexpr F kHysteria2Inbound[] = {"users",      "tls",          "up_mbps",
                                   "down_mbps",  "obfs",         "ignore_client_bandwidth",
                                   "masquerade", "brutal_debug", "listen_ports"};
constexpr F kHysteria2User[] = {"name", "password"};
constexpr F kHysteriaInbound[] = {"users",
                                  "tls",
                                  "up",
                                  "up_mbps",
                                  "down",
                                  "down_mbps",
                                  "obfs",
                                  "recv_window_conn",
                                  "recv_window_client",
                                  "max_conn_client",
                                  "disable_mtu_discovery"};
constexpr F kHysteriaUser[] = {"name", "auth", "auth_str"};
constexpr F kHysteria2Obfs[] = {"type", "password"};
constexpr F kHysteria2Masquerade[] = {"type",        "directory", "url",     "rewrite_host",
                                      "status_code", "headers",   "content", "insecure"};

constexpr F kOutbound[] = {"type", "tag"};
constexpr F kDial[] = {
    "detour",
    "connect_timeout",
    "tcp_fast_open",
    "disable_tcp_keep_alive",
    "tcp_keep_alive",
    "tcp_keep_alive_interval",
    "bind_interface",
    "inet4_bind_address",
    "inet6_bind_address",
    "routing_mark",
    "domain_strategy",
    "fallback_delay",
    "udp_fragment",
    // accepted, ignored
    "domain_resolver",
    "tcp_multi_path",
    "bind_address_no_port",
    "reuse_addr",
    "netns",
    "network_strategy",
    "network_type",
    "fallback_network_type",
};
constexpr F kDirectOutbound[] = {"override_address", "override_port", "proxy_protocol"};
constexpr std::span<const F> kNone{};
constexpr F kSocksOutbound[] = {"server",   "server_port", "version",     "username",
                                "password", "network",     "udp_over_tcp"};
constexpr F kHttpOutbound[] = {"server", "server_port", "username", "password",
                               "path",   "headers",     "tls"};
constexpr F kTrojanOutbound[] = {"server", "server_port", "password", "network",
                                 "tls",    "multiplex",   "transport"};
constexpr F kHysteria2Outbound[] = {"server",  "server_port", "server_ports", "hop_interval",
                                    "up_mbps", "down_mbps",   "obfs",         "password",
                                    "network", "tls",         "brutal_debug", "hop_interval_max"};
constexpr F kHysteriaOutbound[] = {"server",       "server_port",
                                   "server_ports", "hop_interval",
                                   "up",           "up_mbps",
                                   "down",         "down_mbps",
                                   "obfs",         "auth",
                                   "auth_str",     "recv_window_conn",
                                   "recv_window",  "disable_mtu_discovery",
                                   "network",      "tls"};
constexpr F kVlessOutbound[] = {"server", "server_port",     "uuid",
                                "flow",   "packet_encoding", "network",
                                "tls",    "multiplex",       "transport"};
constexpr F kSshOutbound[] = {"server",
                              "server_port",
                              "user",
                              "password",
                              "private_key",
                              "private_key_path",
                              "private_key_passphrase",
                              "host_key",
                              "host_key_algorithms",
                              "client_version",
                              "known_hosts",
                              "insecure"};
constexpr F kTuicOutbound[] = {"server",
                               "server_port",
                               "uuid",
                               "password",
                               "congestion_control",
                               "udp_relay_mode",
                               "udp_over_stream",
                               "zero_rtt_handshake",
                               "heartbeat",
                               "network",
                               "tls"};

constexpr F kTlsClient[] = {
    "enabled",
    "server_name",
    "disable_sni",
    "insecure",
    "alpn",
    "min_version",
    "max_version",
    "cipher_suites",
    "curve_preferences",
    "certificate",
    "certificate_path",
    "certificate_public_key_sha256",
    "certificate_sha256",
    "utls",
    "ech",
    "reality",
    // accepted, ignored
    "client_certificate",
    "client_certificate_path",
    "client_key",
    "client_key_path",
    "fragment",
    "fragment_fallback_delay",
    "record_fragment",
    "kernel_tx",
    "kernel_rx",
};
constexpr F kTlsUtls[] = {"enabled", "fingerprint"};
constexpr F kTlsEchClient[] = {"enabled",
                               "config",
                               "config_path",
                               "query_server_name",
                               "grease",
                               "pq_signature_schemes_enabled",
                               "dynamic_record_sizing_disabled"};
constexpr F kTlsServer[] = {
    "enabled",
    "server_name",
    "alpn",
    "min_version",
    "max_version",
    "certificate",
    "certificate_path",
    "key",
    "key_path",
    "sni_certificates",
    "ech",
    "reality",
    "acme",
    // accepted, ignored
    "cipher_suites",
    "curve_preferences",
    "client_authentication",
    "client_certificate",
    "client_certificate_path",
    "client_certificate_public_key_sha256",
    "kernel_tx",
    "kernel_rx",
};
constexpr F kTlsSniCertificate[] = {"server_name", "certificate", "certificate_path", "key",
                                    "key_path"};
constexpr F kTlsEchServer[] = {"enabled", "key", "key_path", "config"};
constexpr F kTlsRealityClient[] = {"enabled", "public_key", "short_id", "client_version",
                                   "spider_x", "x25519_only",
                                   // Xray names
                                   "password", "publicKey", "shortId", "spiderX", "mldsa65Verify",
                                   // accepted, ignored
                                   "fingerprint", "show"};
constexpr F kTlsRealityServer[] = {
    "enabled", "handshake", "private_key", "short_id", "max_time_difference", "min_client_version",
    "max_client_version",
    // Xray names
    "target", "dest", "privateKey", "shortIds", "serverNames", "maxTimeDiff", "minClientVer",
    "maxClientVer", "mldsa65Seed", "xver", "limitFallbackUpload", "limitFallbackDownload",
    // accepted, ignored
    "show", "masterKeyLog", "type"};
constexpr F kTlsRealityHandshake[] = {"server", "server_port"};
constexpr F kTlsRealityFallbackLimit[] = {"afterBytes", "bytesPerSec", "burstBytesPerSec"};

}  // namespace

constinit const FieldTable kDocumentFields{"document", kDocument};
constinit const FieldTable kLogFields{"log", kLog};
constinit const FieldTable kRouteFields{"route", kRoute};
constinit const FieldTable kInboundFields{"inbound", kInbound};
constinit const FieldTable kListenFields{"listen", kListen};

// The first six listen fields are read; the rest are accepted and ignored.
static_assert(kListen[6] == F("bind_interface"), "kListenIgnoredFields starts at bind_interface");
constinit const std::span<const std::string_view> kListenIgnoredFields =
    std::span<const std::string_view>(kListen).subspan(6);
constinit const FieldTable kSocksInboundFields{"inbound.socks", kSocksInbound};
constinit const FieldTable kHttpInboundFields{"inbound.http", kHttpInbound};
constinit const FieldTable kMixedInboundFields{"inbound.mixed", kMixedInbound};
constinit const FieldTable kTrojanInboundFields{"inbound.trojan", kTrojanInbound};
constinit const FieldTable kVlessInboundFields{"inbound.vless", kVlessInbound};
constinit const FieldTable kTuicInboundFields{"inbound.tuic", kTuicInbound};
constinit const FieldTable kTuicUserFields{"inbound.tuic.users", kTuicUser};
constinit const FieldTable kProxyUserFields{"inbound.users", kProxyUser};
constinit const FieldTable kTrojanUserFields{"inbound.trojan.users", kTrojanUser};
constinit const FieldTable kVlessUserFields{"inbound.vless.users", kVlessUser};
constinit const FieldTable kFallbackFields{"inbound.fallback", kFallback};
constinit const FieldTable kOutboundFields{"outbound", kOutbound};
constinit const FieldTable kDialFields{"dial", kDial};
constinit const FieldTable kDirectOutboundFields{"outbound.direct", kDirectOutbound};
constinit const FieldTable kBlockOutboundFields{"outbound.block", kNone};
constinit const FieldTable kSocksOutboundFields{"outbound.socks", kSocksOutbound};
constinit const FieldTable kHttpOutboundFields{"outbound.http", kHttpOutbound};
constinit const FieldTable kTrojanOutboundFields{"outbound.trojan", kTrojanOutbound};
constinit const FieldTable kVlessOutboundFields{"outbound.vless", kVlessOutbound};
constinit const FieldTable kSshOutboundFields{"outbound.ssh", kSshOutbound};
constinit const FieldTable kTuicOutboundFields{"outbound.tuic", kTuicOutbound};
constinit const FieldTable kHysteria2InboundFields{"inbound.hysteria2", kHysteria2Inbound};
constinit const FieldTable kHysteria2UserFields{"inbound.hysteria2.users", kHysteria2User};
constinit const FieldTable kHysteria2ObfsFields{"hysteria2.obfs", kHysteria2Obfs};
constinit const FieldTable kHysteria2MasqueradeFields{"inbound.hysteria2.masquerade",
                                                      kHysteria2Masquerade};
constinit const FieldTable kHysteria2OutboundFields{"outbound.hysteria2", kHysteria2Outbound};
constinit const FieldTable kHysteriaInboundFields{"inbound.hysteria", kHysteriaInbound};
constinit const FieldTable kHysteriaUserFields{"inbound.hysteria.users", kHysteriaUser};
constinit const FieldTable kHysteriaOutboundFields{"outbound.hysteria", kHysteriaOutbound};
constinit const FieldTable kTlsClientFields{"tls.client", kTlsClient};
constinit const FieldTable kTlsUtlsFields{"tls.client.utls", kTlsUtls};
constinit const FieldTable kTlsEchClientFields{"tls.client.ech", kTlsEchClient};
constinit const FieldTable kTlsServerFields{"tls.server", kTlsServer};
constinit const FieldTable kTlsSniCertificateFields{"tls.server.sni_certificates",
                                                    kTlsSniCertificate};
constinit const FieldTable kTlsEchServerFields{"tls.server.ech", kTlsEchServer};
constinit const FieldTable kTlsRealityClientFields{"tls.client.reality", kTlsRealityClient};
constinit const FieldTable kTlsRealityServerFields{"tls.server.reality", kTlsRealityServer};
constinit const FieldTable kTlsRealityHandshakeFields{"tls.server.reality.handshake",
                                                      kTlsRealityHandshake};
constinit const FieldTable kTlsRealityFallbackLimitFields{"tls.server.reality.limitFallback",
                                                          kTlsRealityFallbackLimit};

std::span<const FieldTable* const> all_field_tables() noexcept {
  static const FieldTable* const kAll[] = {
      &kDocumentFields,
      &kLogFields,
      &kRouteFields,
      &kInboundFields,
      &kListenFields,
      &kSocksInboundFields,
      &kHttpInboundFields,
      &kMixedInboundFields,
      &kTrojanInboundFields,
      &kVlessInboundFields,
      &kTuicInboundFields,
      &kTuicUserFields,
      &kProxyUserFields,
      &kTrojanUserFields,
      &kVlessUserFields,
      &kFallbackFields,
      &kOutboundFields,
      &kDialFields,
      &kDirectOutboundFields,
      &kBlockOutboundFields,
      &kSocksOutboundFields,
      &kHttpOutboundFields,
      &kTrojanOutboundFields,
      &kVlessOutboundFields,
      &kSshOutboundFields,
      &kTuicOutboundFields,
      &kTlsClientFields,
      &kTlsUtlsFields,
      &kTlsEchClientFields,
      &kTlsServerFields,
      &kTlsSniCertificateFields,
      &kTlsEchServerFields,
      &kTlsRealityClientFields,
      &kTlsRealityServerFields,
      &kTlsRealityHandshakeFields,
      &kTlsRealityFallbackLimitFields,
      &kHysteria2InboundFields,
      &kHysteria2UserFields,
      &kHysteria2ObfsFields,
      &kHysteria2MasqueradeFields,
      &kHysteria2OutboundFields,
      &kHysteriaInboundFields,
      &kHysteriaUserFields,
      &kHysteriaOutboundFields,
  };
  return kAll;
}

}  // namespace sluice::config
