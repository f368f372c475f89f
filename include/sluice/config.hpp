// sluice/config.hpp: the option structs a sing-box style JSON document turns
// into, and the parser entry points.
//
// Copyright 2026 the sluice authors. Apache-2.0.
// The C++ API is source-stable, not ABI-stable; include/sluice/sluice.h is the ABI.
//
// Field names follow sing-box (docs/config.md is the field reference). A Config is a
// plain value: the parser builds it, the Engine copies what it needs, nobody
// shares it. Defaults below are sing-box's unless a comment says otherwise.
//
// Extending: a new protocol adds a per-type options struct, an enumerator to
// InboundType/OutboundType and an alternative to the matching std::variant
// (kept in the same order as the enum), plus one parse function in
// lib/config. Options shared by several protocols (TLS, dial, listen) are
// their own structs so a protocol embeds them.
//
// Errors: parse_config returns config_wrong_type, config_missing_field or
// config_invalid (or config_io for files) and puts a detail naming the JSON
// path in ConfigDiagnostics::error ("inbounds[0].listen_port: expected
// integer 0..65535, got string"). Unknown fields are not errors: each becomes
// a warning with its path, so documents written for newer sing-box versions
// still load.
//
// Threading: pure functions, no shared state.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sluice/error.hpp"
#include "sluice/log.hpp"

namespace sluice {

using Duration = std::chrono::nanoseconds;

// parse_duration reads Go's time.ParseDuration syntax plus sing-box's "d"
// (24h): "300ms", "1.5h", "1m30s", "-2s", "0". Units ns, us, µs, μs, ms, s,
// m, h, d. A number without a unit other than "0" is config_invalid, as is
// overflow past ~292 years.
Result<Duration> parse_duration(std::string_view text);

struct LogOptions {
  LogLevel level = LogLevel::info;
  bool disabled = false;
  bool timestamp = true;
};

// User is one inbound account (RFC 1929 / HTTP Basic).
struct User {
  std::string username;
  std::string password;
};

// ListenOptions are the listen fields every inbound shares.
struct ListenOptions {
  // listen is an IP literal. Default 127.0.0.1, not sing-box's "::": a
  // proxy port open to the network by accident is worse than a surprise.
  std::string listen = "127.0.0.1";
  uint16_t listen_port = 0;  // required; 0 asks the OS for a free port
  bool tcp_fast_open = false;
  Duration udp_timeout = std::chrono::minutes(5);
  // Admission limits (sluice extensions; 0 = none): connections open at
  // once, and open at once from one source address.
  uint32_t max_connections = 0;
  uint32_t max_connections_per_ip = 0;
};

// TlsEchClientOptions is an outbound's "tls.ech" (docs/config.md,
// "Outbound ECH").
struct TlsEchClientOptions {
  bool enabled = false;
  std::string config;  // PEM "ECH CONFIGS" block (lines joined with \n); share links' bare base64
                       // is wrapped
  std::string config_path;
  // query_server_name is read for sing-box compatibility only: sluice does no
  // DNS HTTPS lookup, so ECH needs config/config_path (or grease).
  std::string query_server_name;
  // grease (sluice extension): with no config, send a GREASE ECH extension
  // instead of failing for want of a DNS lookup.
  bool grease = false;
};

// TlsUtlsOptions is "tls.utls": connect with sluice's own TLS 1.3 engine
// and the ClientHello profile named by |fingerprint| ("" = "chrome", the
// only profile so far; others are refused) instead of BoringSSL's libssl.
struct TlsUtlsOptions {
  bool enabled = false;
  std::string fingerprint;
};

// TlsRealityClientOptions is an outbound's "tls.reality" (docs/config.md,
// "Outbound REALITY"); the values are checked when parsed.
struct TlsRealityClientOptions {
  bool enabled = false;
  std::string public_key;      // the server's X25519 public key, base64url (43 characters)
  std::string short_id;        // 0-16 hex digits
  std::string client_version;  // "x.y.z" sent in the token; empty = a current Xray version
  std::string spider_x;        // path of the browser-like request to a non-REALITY site
  bool x25519_only = false;    // no X25519MLKEM768 share (Xray >= 26.9.8 refuses that)
};

// TlsClientOptions is the outbound "tls" object (docs/config.md, "Outbound TLS").
struct TlsClientOptions {
  bool enabled = false;
  std::string server_name;  // empty = the outbound's server
  bool disable_sni = false;
  bool insecure = false;
  std::vector<std::string> alpn;
  std::string min_version;  // "1.0".."1.3"; empty = library default
  std::string max_version;
  std::vector<std::string> cipher_suites;      // TLS <= 1.2 suites by IANA name
  std::vector<std::string> curve_preferences;  // P256 P384 P521 X25519
  std::string certificate;  // PEM text to trust instead of the system store (lines joined with \n)
  std::string certificate_path;
  // certificate_public_key_sha256: base64 SHA-256 of the leaf's
  // SubjectPublicKeyInfo (sing-box); any match passes and replaces chain and
  // name verification.
  std::vector<std::string> certificate_public_key_sha256;
  // certificate_sha256 (sluice extension): hex SHA-256 of the whole leaf
  // certificate (hysteria2's pinSHA256, Xray's pcs); same rule.
  std::vector<std::string> certificate_sha256;
  TlsUtlsOptions utls;
  TlsEchClientOptions ech;
  TlsRealityClientOptions reality;
};

// TlsCertificateOptions is one certificate chain and its key, PEM inline
// (lines joined with \n) or from files.
struct TlsCertificateOptions {
  std::vector<std::string> server_name;  // names it serves (sni_certificates only); "*.x" wildcards
  std::string certificate;
  std::string certificate_path;
  std::string key;
  std::string key_path;
};

// TlsEchServerOptions is an inbound's "tls.ech" (docs/config.md, "Inbound ECH").
struct TlsEchServerOptions {
  bool enabled = false;
  std::string key;  // PEM "ECH KEYS" block (lines joined with \n)
  std::string key_path;
};

// TlsRealityFallbackLimit is Xray's limitFallbackUpload/Download: a rate
// limit on connections REALITY relays to the real site (0 bytes_per_sec:
// none); see docs/config.md, "REALITY fallback limit".
struct TlsRealityFallbackLimit {
  uint64_t after_bytes = 0;
  uint64_t bytes_per_sec = 0;
  uint64_t burst_bytes_per_sec = 0;
};

// TlsRealityServerOptions is an inbound's "tls.reality" (docs/config.md,
// "Inbound REALITY"); the values are checked when parsed.
struct TlsRealityServerOptions {
  bool enabled = false;
  std::string handshake_server;  // the real site every connection is also dialed to
  uint16_t handshake_server_port = 443;
  std::string private_key;                // X25519, base64url (43 characters)
  std::vector<std::string> short_id;      // hex, 0-16 digits each; empty = the all-zero id only
  std::vector<std::string> server_names;  // accepted SNIs (tls.server_name and serverNames)
  Duration max_time_difference{0};        // 0 = no clock check
  std::string min_client_version;         // "x.y.z"; empty = no bound
  std::string max_client_version;
  TlsRealityFallbackLimit limit_fallback_upload;    // client -> target
  TlsRealityFallbackLimit limit_fallback_download;  // target -> client
};

// TlsServerOptions is the inbound "tls" object (docs/config.md, "Inbound TLS").
struct TlsServerOptions {
  bool enabled = false;
  std::string server_name;
  std::vector<std::string> alpn;  // preference order for selection
  std::string min_version;
  std::string max_version;
  TlsCertificateOptions certificate;  // the default chain ("certificate", "key", ...)
  // sni_certificates (sluice extension): more chains, chosen by the
  // client's SNI (the inner SNI when ECH is accepted).
  std::vector<TlsCertificateOptions> sni_certificates;
  TlsEchServerOptions ech;
  TlsRealityServerOptions reality;
};

enum class InboundType : uint8_t { socks, http, mixed, trojan, vless, tuic, hysteria2, hysteria };

struct SocksInboundOptions {
  std::vector<User> users;  // empty = no authentication
  bool udp = true;          // accept UDP ASSOCIATE (sluice extension; sing-box always does)
};
struct HttpInboundOptions {
  std::vector<User> users;
};
// MixedInboundOptions serves SOCKS5 and HTTP on one port, told apart by the
// first byte.
struct MixedInboundOptions {
  std::vector<User> users;
  bool udp = true;
};

// TrojanUser is one account of a trojan inbound.
struct TrojanUser {
  std::string name;
  std::string password;
};

// TrojanFallback is where a trojan inbound sends connections that do not
// authenticate (sing-box "fallback": server + server_port).
struct TrojanFallback {
  std::string server;
  uint16_t server_port = 0;
};

struct TrojanInboundOptions {
  std::vector<TrojanUser> users;
  TlsServerOptions tls;
  TrojanFallback fallback;  // server empty = close unauthenticated connections
  // fallback_for_alpn: per negotiated ALPN; when set, other ALPNs are refused.
  std::vector<std::pair<std::string, TrojanFallback>> fallback_for_alpn;
};

// VlessUser is one account of a vless inbound (sing-box users[]).
struct VlessUser {
  std::string name;
  std::string uuid;  // a UUID, or any 1-30 character name (mapped to a UUIDv5, vless.md 2)
  std::string flow;  // "" or "xtls-rprx-vision"
};

// VlessFallback has the shape of TrojanFallback (server + server_port).
using VlessFallback = TrojanFallback;

struct VlessInboundOptions {
  std::vector<VlessUser> users;
  TlsServerOptions tls;    // disabled = VLESS on plain TCP (security "none")
  VlessFallback fallback;  // server empty = close unauthenticated connections
  std::vector<std::pair<std::string, VlessFallback>> fallback_for_alpn;
};

// TuicUser is one account of a tuic inbound (sing-box users[]).
struct TuicUser {
  std::string name;
  std::string uuid;  // a UUID (text form)
  std::string password;
};

struct TuicInboundOptions {
  std::vector<TuicUser> users;
  std::string congestion_control = "cubic";  // cubic, new_reno, bbr
  Duration auth_timeout = std::chrono::seconds(3);
  bool zero_rtt_handshake = false;  // accept 0-RTT (replayable; docs/protocols/tuic.md)
  Duration heartbeat = std::chrono::seconds(10);  // parsed; a sluice server sends none
  TlsServerOptions tls;                           // required: QUIC's TLS 1.3
};

// Hysteria2ObfsOptions is Hysteria v2's "obfs" (docs/protocols/hysteria2.md).
struct Hysteria2ObfsOptions {
  std::string type;      // "" (none) or "salamander"
  std::string password;  // the Salamander PSK (at least 4 bytes)
};

// Hysteria2User is one account of a hysteria2 inbound: a client
// authenticates with |password|, or with "name:password" (the official
// server's userpass form).
struct Hysteria2User {
  std::string name;
  std::string password;
};

// Hysteria2MasqueradeOptions is what a hysteria2 inbound answers to every
// HTTP/3 request that is not a successful authentication.
struct Hysteria2MasqueradeOptions {
  enum class Type : uint8_t { not_found, string, file, proxy };
  Type type = Type::not_found;                               // not_found: Go's 404 page
  int status_code = 200;                                     // string
  std::vector<std::pair<std::string, std::string>> headers;  // string
  std::string content;                                       // string
  std::string directory;                                     // file
  std::string url;            // proxy: "http(s)://host[:port][/path]"
  bool rewrite_host = false;  // proxy: Host = the URL's host, not the request's
  bool insecure = false;      // proxy: https upstream unverified (official proxy.insecure)
};

struct Hysteria2InboundOptions {
  std::vector<Hysteria2User> users;
  TlsServerOptions tls;    // required: QUIC's TLS (ALPN h3 unless set)
  uint32_t up_mbps = 0;    // the server's send limit (Brutal); 0 = none (BBR)
  uint32_t down_mbps = 0;  // the server's receive limit, sent as hysteria-cc-rx
  bool ignore_client_bandwidth = false;
  Hysteria2ObfsOptions obfs;
  Hysteria2MasqueradeOptions masquerade;
  bool brutal_debug = false;
  // listen_ports (sluice extension): more UDP ports ("20000:20100", "8443")
  // the server listens on besides listen_port, for port-hopping clients
  // without a DNAT rule; at most 1024 ports.
  std::vector<std::string> listen_ports;
};

// HysteriaUser is one account of a hysteria (v1) inbound: the client's
// auth bytes must equal |auth|.
struct HysteriaUser {
  std::string name;
  std::string auth;  // raw bytes ("auth_str", or the base64-decoded "auth")
};

// HysteriaInboundOptions: a Hysteria v1 server (docs/protocols/hysteria1.md).
// Rates are bytes per second ("up"/"down" strings or "up_mbps"/"down_mbps").
struct HysteriaInboundOptions {
  std::vector<HysteriaUser> users;
  TlsServerOptions tls;             // required: QUIC's TLS (ALPN "hysteria" unless set)
  uint64_t up_bps = 0;              // the server's send limit (Brutal); 0 = none (BBR)
  uint64_t down_bps = 0;            // the server's receive limit; 0 = none
  std::string obfs;                 // XPlus password; "" = none
  uint64_t recv_window_conn = 0;    // QUIC stream receive window; 0 = 16 MiB
  uint64_t recv_window_client = 0;  // QUIC connection receive window; 0 = 40 MiB
  uint32_t max_conn_client = 0;     // concurrent bidirectional streams; 0 = 1024
  bool disable_mtu_discovery = false;
};

struct InboundOptions {
  InboundType type = InboundType::socks;
  std::string tag;
  ListenOptions listen;
  // The alternative matches |type| (same order as InboundType).
  std::variant<SocksInboundOptions, HttpInboundOptions, MixedInboundOptions, TrojanInboundOptions,
               VlessInboundOptions, TuicInboundOptions, Hysteria2InboundOptions,
               HysteriaInboundOptions>
      options;
};

enum class DomainStrategy : uint8_t { as_is, prefer_ipv4, prefer_ipv6, ipv4_only, ipv6_only };

// DialOptions are the dial fields merged into every outbound (docs/config.md, "Dial fields").
struct DialOptions {
  std::string detour;  // dial through this outbound tag; the rest is then ignored
  Duration connect_timeout = std::chrono::seconds(5);
  bool tcp_fast_open = false;
  bool disable_tcp_keep_alive = false;
  Duration tcp_keep_alive = std::chrono::minutes(5);
  Duration tcp_keep_alive_interval = std::chrono::seconds(75);
  std::string bind_interface;
  std::string inet4_bind_address;
  std::string inet6_bind_address;
  uint32_t routing_mark = 0;
  DomainStrategy domain_strategy = DomainStrategy::as_is;
  Duration fallback_delay = std::chrono::milliseconds(300);
  bool udp_fragment = false;
};

// Network says which of TCP and UDP an outbound carries.
struct Network {
  bool tcp = true;
  bool udp = true;
};

// ServerEndpoint is "server" + "server_port".
struct ServerEndpoint {
  std::string server;
  uint16_t server_port = 0;
};

enum class OutboundType : uint8_t {
  direct,
  block,
  socks,
  http,
  trojan,
  vless,
  ssh,
  tuic,
  hysteria2,
  hysteria
};

struct DirectOutboundOptions {};
struct BlockOutboundOptions {};
struct SocksOutboundOptions {
  ServerEndpoint endpoint;
  std::string version = "5";  // only "5" is implemented
  std::string username;
  std::string password;
  Network network;
};
struct HttpOutboundOptions {
  ServerEndpoint endpoint;
  std::string username;
  std::string password;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;  // list values become repeated fields
  TlsClientOptions tls;
};

struct TrojanOutboundOptions {
  ServerEndpoint endpoint;
  std::string password;
  Network network;
  TlsClientOptions tls;  // Trojan runs over TLS: "enabled" must be true
};

struct VlessOutboundOptions {
  ServerEndpoint endpoint;
  std::string uuid;  // a UUID, or any 1-30 character name (mapped to a UUIDv5)
  std::string flow;  // "" or "xtls-rprx-vision"
  // packet_encoding: how UDP is carried. "xudp" (the default, as in
  // sing-box, when the field is absent) = Mux.Cool session 0 on one
  // connection; "" = command 0x02, one connection per destination;
  // "packetaddr" is rejected until implemented.
  std::string packet_encoding = "xudp";
  Network network;
  TlsClientOptions tls;  // disabled = plain TCP (security "none")
};

// SshOutboundOptions: the `ssh` outbound (sing-box's fields, docs/config.md,
// plus sluice's known_hosts / insecure). Keys and pins are checked when the
// Session is made (lib/session/ssh_keys).
struct SshOutboundOptions {
  ServerEndpoint endpoint;  // server_port 0 = 22
  std::string user;         // "" = "root", as sing-box
  std::string password;
  std::string private_key;  // key text (a listable's lines joined with "\n")
  std::string private_key_path;
  std::string private_key_passphrase;
  std::vector<std::string> host_key;  // authorized_keys lines: "<type> <base64> [comment]"
  std::vector<std::string> host_key_algorithms;
  std::string client_version;  // accepted; libssh 0.10 cannot send it (logged once)
  std::string known_hosts;     // sluice extension: an OpenSSH known_hosts file
  bool insecure = false;       // sluice extension: accept any host key, explicitly
};

struct TuicOutboundOptions {
  ServerEndpoint endpoint;
  std::string uuid;  // a UUID (text form)
  std::string password;
  std::string congestion_control = "cubic";  // cubic, new_reno, bbr
  std::string udp_relay_mode = "native";     // native (DATAGRAMs) or quic (a stream per packet)
  bool udp_over_stream = false;              // sing-box UoT: refused (not supported)
  bool zero_rtt_handshake = false;
  Duration heartbeat = std::chrono::seconds(10);
  Network network;
  TlsClientOptions tls;  // required: QUIC's TLS 1.3
};

struct Hysteria2OutboundOptions {
  ServerEndpoint endpoint;
  // server_ports: port hopping ranges ("20000:30000" or "443"); empty =
  // server_port only (set: server_port is ignored, as sing-box).
  std::vector<std::string> server_ports;
  Duration hop_interval = std::chrono::seconds(30);
  // hop_interval_max (sluice extension, the official client's
  // maxHopInterval): each hop waits a random time in [hop_interval,
  // hop_interval_max]; 0 = always hop_interval.
  Duration hop_interval_max{0};
  uint32_t up_mbps = 0;    // send rate (Brutal); 0 = BBR
  uint32_t down_mbps = 0;  // receive rate announced to the server
  Hysteria2ObfsOptions obfs;
  std::string password;
  Network network;
  TlsClientOptions tls;  // required: QUIC's TLS (ALPN h3 unless set)
  bool brutal_debug = false;
};

// HysteriaOutboundOptions: a Hysteria v1 client (docs/protocols/hysteria1.md).
// Rates are bytes per second ("up"/"down" strings or "up_mbps"/"down_mbps").
struct HysteriaOutboundOptions {
  ServerEndpoint endpoint;
  // server_ports: port hopping ranges ("20000:30000" or "443"); empty =
  // server_port only (set: server_port is ignored, as sing-box).
  std::vector<std::string> server_ports;
  Duration hop_interval = std::chrono::seconds(30);  // at least 5 s with server_ports
  uint64_t up_bps = 0;                               // required: the client's send rate
  uint64_t down_bps = 0;                             // required: the client's receive rate
  std::string obfs;                                  // XPlus password; "" = none
  std::string auth;               // raw bytes ("auth_str", or the base64-decoded "auth")
  uint64_t recv_window_conn = 0;  // QUIC stream receive window; 0 = 16 MiB
  uint64_t recv_window = 0;       // QUIC connection receive window; 0 = 40 MiB
  bool disable_mtu_discovery = false;
  Network network;
  TlsClientOptions tls;  // required: QUIC's TLS (ALPN "hysteria" unless set)
};

struct OutboundOptions {
  OutboundType type = OutboundType::direct;
  std::string tag;
  DialOptions dial;
  // The alternative matches |type| (same order as OutboundType).
  std::variant<DirectOutboundOptions, BlockOutboundOptions, SocksOutboundOptions,
               HttpOutboundOptions, TrojanOutboundOptions, VlessOutboundOptions, SshOutboundOptions,
               TuicOutboundOptions, Hysteria2OutboundOptions, HysteriaOutboundOptions>
      options;
};

struct RouteOptions {
  // final names the outbound for traffic no rule matches; empty = the first
  // outbound (sing-box's default).
  std::string final_outbound;
};

struct Config {
  LogOptions log;
  std::vector<InboundOptions> inbounds;
  std::vector<OutboundOptions> outbounds;
  RouteOptions route;

  // find_outbound returns the outbound tagged |tag|, or nullptr.
  const OutboundOptions* find_outbound(std::string_view tag) const noexcept;
  // final_outbound resolves route.final (or the first outbound); nullptr if
  // there are no outbounds.
  const OutboundOptions* final_outbound() const noexcept;
};

// ConfigDiagnostics collects what parsing had to say beyond success.
struct ConfigDiagnostics {
  std::vector<std::string> warnings;  // "outbounds[1].tls.foo: unknown field", ...
  std::string error;                  // set when parsing fails: path and reason
};

// parse_config parses a JSON document. |diag| may be nullptr.
Result<Config> parse_config(std::string_view json, ConfigDiagnostics* diag);
// load_config_file reads |path| and parses it; config_io if it cannot be
// read, is not a regular file (a FIFO, directory or device) or is larger
// than 4 MiB.
Result<Config> load_config_file(const std::string& path, ConfigDiagnostics* diag);

// parse_trojan_link turns a trojan:// share link (docs/config.md, "Share links") into a
// trojan outbound tagged with the link's #fragment. config_invalid with a
// reason in |why| (may be null) for a malformed link.
Result<OutboundOptions> parse_trojan_link(std::string_view link, std::string* why);

// parse_vless_link turns a vless:// share link (docs/config.md, "Share links") into a vless
// outbound, as parse_trojan_link does. security=tls and none are built;
// security=reality is parsed and refused ("REALITY not built yet").
Result<OutboundOptions> parse_vless_link(std::string_view link, std::string* why);

// parse_tuic_link turns a tuic:// share link
// (tuic://UUID:PASSWORD@HOST:PORT?congestion_control=&udp_relay_mode=&alpn=&sni=#NAME)
// into a tuic outbound, as parse_trojan_link does.
Result<OutboundOptions> parse_tuic_link(std::string_view link, std::string* why);
// parse_hysteria2_link turns a hysteria2:// or hy2:// share link
// (docs/config.md, "Share links") into a hysteria2 outbound, as
// parse_trojan_link does.
Result<OutboundOptions> parse_hysteria2_link(std::string_view link, std::string* why);
// parse_hysteria_link turns a hysteria:// (v1) share link (docs/config.md,
// "Share links") into a hysteria outbound, as parse_trojan_link does.
Result<OutboundOptions> parse_hysteria_link(std::string_view link, std::string* why);

const char* inbound_type_name(InboundType t) noexcept;
const char* outbound_type_name(OutboundType t) noexcept;

}  // namespace sluice
