// proto/target_address.hpp: TargetAddress, where a proxied flow goes.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A TargetAddress is an IPv4 address, an IPv6 address or a domain name (1..255
// bytes, as in SOCKS5, RFC 1928 section 5), plus a port. It is a fixed-size
// value (no heap), cheap to copy and safe to compare. Domains are stored as
// received: no case folding, no IDNA; they never contain control bytes or NUL
// (a resolver given "evil.example\0.good.example" would see a different name
// than an allowlist).
//
// The SOCKS address encoding (ATYP | ADDR | PORT) is shared by SOCKS5, VLESS,
// Trojan, TUIC and Hysteria's headers; encode_socks/decode_socks implement it.
//
// Threading: a plain value, no shared state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proto/parse_result.hpp"
#include "sluice/error.hpp"

namespace sluice {

class TargetAddress {
 public:
  enum Kind : uint8_t { ipv4, ipv6, domain };

  // SOCKS ATYP values (RFC 1928 section 4).
  static constexpr uint8_t kAtypIpv4 = 0x01;
  static constexpr uint8_t kAtypDomain = 0x03;
  static constexpr uint8_t kAtypIpv6 = 0x04;
  static constexpr size_t kMaxDomain = 255;
  // kMaxSocksSize: ATYP + length byte + 255-byte domain + port.
  static constexpr size_t kMaxSocksSize = 1 + 1 + kMaxDomain + 2;

  // The default is 0.0.0.0:0 (what a SOCKS5 UDP ASSOCIATE request carries
  // when the client does not know its address, RFC 1928 section 7).
  TargetAddress() = default;

  static TargetAddress from_ipv4(const std::array<uint8_t, 4>& a, uint16_t port) noexcept;
  static TargetAddress from_ipv6(const std::array<uint8_t, 16>& a, uint16_t port) noexcept;
  // from_domain takes the name as is: 1..255 bytes, no control bytes, no
  // space; an IP literal stays a domain (use from_host to detect literals).
  static Result<TargetAddress> from_domain(std::string_view name, uint16_t port);
  // from_host turns "1.2.3.4", "::1" or "[::1]" into an IP address and any
  // other valid name into a domain.
  static Result<TargetAddress> from_host(std::string_view host, uint16_t port);
  // parse reads "host:port" or "[v6]:port"; the port is 1..65535 in decimal
  // without sign or leading '+'. An unbracketed IPv6 literal is rejected
  // (ambiguous with the port).
  static Result<TargetAddress> parse(std::string_view host_port);

  Kind kind() const noexcept { return kind_; }
  uint16_t port() const noexcept { return port_; }
  void set_port(uint16_t p) noexcept { port_ = p; }
  bool is_ip() const noexcept { return kind_ != domain; }
  // ip_bytes: 4 or 16 bytes for an IP, empty for a domain.
  std::span<const uint8_t> ip_bytes() const noexcept;
  // domain_name: the name for a domain, empty for an IP.
  std::string_view domain_name() const noexcept;

  // host is the address without the port: "1.2.3.4", "::1" (no brackets),
  // "example.com".
  std::string host() const;
  // to_string is "1.2.3.4:80", "[::1]:80" or "example.com:443".
  std::string to_string() const;

  // socks_size is the length of the SOCKS encoding (ATYP..PORT).
  size_t socks_size() const noexcept;
  // encode_socks writes ATYP | ADDR | PORT into |out|; buffer_too_small if it
  // does not fit. Returns the bytes written.
  Result<size_t> encode_socks(std::span<uint8_t> out) const;
  // decode_socks parses ATYP | ADDR | PORT from the front of |in|
  // (incremental). Errors: unsupported_address_type (unknown ATYP), malformed
  // (empty domain, control byte in a domain).
  static ParseResult<TargetAddress> decode_socks(std::span<const uint8_t> in);

  friend bool operator==(const TargetAddress& a, const TargetAddress& b) noexcept;

 private:
  Kind kind_ = ipv4;
  uint8_t len_ = 4;    // bytes used in addr_: 4, 16, or the domain length 1..255
  uint16_t port_ = 0;  // host byte order
  std::array<uint8_t, kMaxDomain> addr_{};
};

}  // namespace sluice
