// config/parse.hpp: the per-section parsers behind parse_config. Private to
// lib/config.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <functional>

#include "config/json_reader.hpp"
#include "sluice/config.hpp"

namespace sluice::config {

// parse_inbound reads inbounds[i]; |path| is "inbounds[i]".
Status parse_inbound(ConfigCtx& ctx, const Json& j, const std::string& path, InboundOptions* out);
// parse_outbound reads outbounds[i]; |path| is "outbounds[i]".
Status parse_outbound(ConfigCtx& ctx, const Json& j, const std::string& path, OutboundOptions* out);
// parse_tls_client reads an outbound "tls" object.
Status parse_tls_client(ConfigCtx& ctx, const Json& j, const std::string& path,
                        TlsClientOptions* out);
// parse_tls_server reads an inbound "tls" object.
Status parse_tls_server(ConfigCtx& ctx, const Json& j, const std::string& path,
                        TlsServerOptions* out);
// parse_reality_client / parse_reality_server read a "tls.reality" object
// (lib/config/reality.cpp).
Status parse_reality_client(ConfigCtx& ctx, const Json& j, const std::string& path,
                            TlsRealityClientOptions* out);
Status parse_reality_server(ConfigCtx& ctx, const Json& j, const std::string& path,
                            TlsRealityServerOptions* out);
// reality_needs_vless refuses an enabled "tls.reality" on a protocol other
// than VLESS; |tls_path| is the "tls" object's path.
Status reality_needs_vless(ConfigCtx& ctx, const std::string& tls_path, bool enabled);
// parse_trojan_outbound reads the trojan-specific fields of an outbound.
Status parse_trojan_outbound(ObjectReader& r, TrojanOutboundOptions* o);
// parse_trojan_inbound reads the trojan-specific fields of an inbound.
Status parse_trojan_inbound(ObjectReader& r, TrojanInboundOptions* o);
// parse_vless_outbound / parse_vless_inbound read the vless-specific fields.
Status parse_vless_outbound(ObjectReader& r, VlessOutboundOptions* o);
Status parse_vless_inbound(ObjectReader& r, VlessInboundOptions* o);
// parse_ssh_outbound reads the ssh-specific fields (config/ssh.cpp).
Status parse_ssh_outbound(ObjectReader& r, SshOutboundOptions* o);
// parse_tuic_outbound / parse_tuic_inbound read the tuic-specific fields.
Status parse_tuic_outbound(ObjectReader& r, TuicOutboundOptions* o);
Status parse_tuic_inbound(ObjectReader& r, TuicInboundOptions* o);
// parse_hysteria2_outbound / parse_hysteria2_inbound read the hysteria2 fields.
Status parse_hysteria2_outbound(ObjectReader& r, Hysteria2OutboundOptions* o);
Status parse_hysteria2_inbound(ObjectReader& r, Hysteria2InboundOptions* o);
// parse_hysteria_outbound / parse_hysteria_inbound read the hysteria (v1)
// fields (config/hysteria.cpp).
Status parse_hysteria_outbound(ObjectReader& r, HysteriaOutboundOptions* o);
Status parse_hysteria_inbound(ObjectReader& r, HysteriaInboundOptions* o);
// parse_hopping_server reads a Hysteria client's "server", "server_port",
// "server_ports" (port hopping: "443", "20000:30000" as sing-box, or
// "20000-30000" as the official clients; with them server_port is optional
// and not dialled) and "hop_interval" (at least 5 s with server_ports).
Status parse_hopping_server(ObjectReader& r, ServerEndpoint* endpoint,
                            std::vector<std::string>* server_ports, Duration* hop_interval);
// parse_hysteria_rate reads a Hysteria rate such as "100 Mbps" (an integer,
// optional spaces, a case-sensitive unit bps/Bps/Kbps/.../TBps; b = bits,
// B = bytes, K = 1000) into bytes per second; config_invalid with |why|.
Result<uint64_t> parse_hysteria_rate(std::string_view s, std::string* why);
// parse_network reads "network" (tcp, udp or both).
Status parse_network(ObjectReader& r, Network* out);
// parse_server reads the required "server" and "server_port".
Status parse_server(ObjectReader& r, ServerEndpoint* out);
// parse_users reads the required, non-empty "users" array of a trojan or
// vless inbound, calling |each| with a reader (over |fields|) for every element (each
// element is checked to be an object; unknown keys are reported after).
Status parse_users(ObjectReader& r, const FieldTable& fields,
                   const std::function<Status(ObjectReader& u)>& each);
// parse_fallbacks reads "fallback" and "fallback_for_alpn" (server +
// server_port objects) of a trojan or vless inbound.
Status parse_fallbacks(ObjectReader& r, TrojanFallback* fallback,
                       std::vector<std::pair<std::string, TrojanFallback>>* for_alpn);
// reject_multiplex_transport refuses "multiplex" and "transport", which no
// trojan or vless endpoint supports yet.
Status reject_multiplex_transport(ObjectReader& r);
// is_ip_literal reports whether |s| is an IPv4 or IPv6 address.
bool is_ip_literal(std::string_view s);

}  // namespace sluice::config
