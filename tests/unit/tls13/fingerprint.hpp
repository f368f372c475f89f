// fingerprint.hpp: JA3 and JA4 ClientHello fingerprints, for comparing
// sluice's browser profiles with captured browser hellos.
//
// JA3 (Salesforce, 2017): the string
//   SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats
// with each field the decimal values joined by '-' (legacy_version; cipher
// suites in order; extension types in wire order; supported_groups in
// order; ec_point_formats in order), every GREASE value (RFC 8701) removed.
// JA3 is the MD5 of that string in lowercase hex. Since Chrome 110 permutes
// its extensions per connection, JA3 changes on every Chrome connection;
// ja3(..., sorted=true) sorts the extension field numerically first (the
// "JA3N" normalisation), which is stable and what the test compares.
//
// JA4 (FoxIO, 2023), the TLS-client part, a_b_c:
//   a = 't' (TCP) + version ("13" if supported_versions lists TLS 1.3, else
//       from legacy_version: "12", "11", "10") + 'd' if server_name is
//       present, 'i' if not + the number of cipher suites and of extensions,
//       two decimal digits each (capped at 99) + the first and last
//       characters of the first ALPN protocol ("00" without ALPN);
//   b = the first 12 hex digits of SHA-256 of the cipher suites as 4-digit
//       lowercase hex, sorted, joined by ',';
//   c = the first 12 hex digits of SHA-256 of the extension types as 4-digit
//       hex, sorted, without server_name (0000) and ALPN (0010), joined by
//       ',', then '_' and the signature algorithms in wire order joined by
//       ',' (no '_' part when there are none).
// GREASE values are left out everywhere, counts included. JA4 sorts, so it
// does not change with the extension permutation.
#pragma once

#include <openssl/md5.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "proto/tls13/messages.hpp"

namespace sluice::test {

namespace fp_detail {

inline std::vector<uint16_t> u16_list(tls13::Bytes b) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    const auto v = static_cast<uint16_t>(b[i] << 8 | b[i + 1]);
    if (!tls13::is_grease(v)) out.push_back(v);
  }
  return out;
}

// The list inside an extension body with a |prefix|-byte length.
inline std::vector<uint16_t> ext_list(const tls13::ClientHello& ch, uint16_t type, size_t prefix) {
  const tls13::Extension* e = ch.extensions.find(type);
  if (e == nullptr || e->data.size() < prefix) return {};
  return u16_list(e->data.subspan(prefix));
}

inline std::string hex_digest(const uint8_t* d, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", d[i]);
    s += b;
  }
  return s;
}

inline std::string join_dec(const std::vector<uint16_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += '-';
    s += std::to_string(v[i]);
  }
  return s;
}

inline std::string join_hex(const std::vector<uint16_t>& v) {
  std::string s;
  char b[8];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(b, sizeof b, "%s%04x", i ? "," : "", v[i]);
    s += b;
  }
  return s;
}

inline std::string sha256_12(const std::string& s) {
  uint8_t d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(s.data()), s.size(), d);
  return hex_digest(d, 6);
}

}  // namespace fp_detail

inline std::vector<uint16_t> extension_types(const tls13::ClientHello& ch) {
  std::vector<uint16_t> out;
  for (const auto& e : ch.extensions.all())
    if (!tls13::is_grease(e.type)) out.push_back(e.type);
  return out;
}

inline std::string ja3_string(const tls13::ClientHello& ch, bool sorted) {
  using namespace fp_detail;
  auto exts = extension_types(ch);
  if (sorted) std::sort(exts.begin(), exts.end());
  std::vector<uint16_t> formats;
  if (const tls13::Extension* e = ch.extensions.find(tls13::ext::ec_point_formats);
      e && !e->data.empty())
    for (size_t i = 1; i < e->data.size(); ++i) formats.push_back(e->data[i]);
  return std::to_string(ch.legacy_version) + "," + join_dec(u16_list(ch.cipher_suites)) + "," +
         join_dec(exts) + "," + join_dec(ext_list(ch, tls13::ext::supported_groups, 2)) + "," +
         join_dec(formats);
}

inline std::string ja3(const tls13::ClientHello& ch, bool sorted) {
  const std::string s = ja3_string(ch, sorted);
  uint8_t d[MD5_DIGEST_LENGTH];
  MD5(reinterpret_cast<const uint8_t*>(s.data()), s.size(), d);
  return fp_detail::hex_digest(d, sizeof d);
}

inline std::string ja4(const tls13::ClientHello& ch) {
  using namespace fp_detail;
  const auto ciphers = u16_list(ch.cipher_suites);
  const auto exts = extension_types(ch);
  const auto versions = ext_list(ch, tls13::ext::supported_versions, 1);
  uint16_t version = ch.legacy_version;
  for (uint16_t v : versions) version = std::max(version, v);
  std::string a = "t";
  switch (version) {
    case tls13::kTls13:
      a += "13";
      break;
    case tls13::kTls12:
      a += "12";
      break;
    case 0x0302:
      a += "11";
      break;
    case 0x0301:
      a += "10";
      break;
    default:
      a += "00";
      break;
  }
  a += ch.extensions.find(tls13::ext::server_name) ? 'd' : 'i';
  char n[8];
  std::snprintf(n, sizeof n, "%02zu%02zu", std::min<size_t>(ciphers.size(), 99),
                std::min<size_t>(exts.size(), 99));
  a += n;
  std::string alpn = "00";
  if (const tls13::Extension* e = ch.extensions.find(tls13::ext::alpn);
      e && e->data.size() >= 4 && e->data[2] > 0 && e->data.size() >= 3u + e->data[2]) {
    const char first = static_cast<char>(e->data[3]);
    const char last = static_cast<char>(e->data[2 + e->data[2]]);
    alpn = std::string{first, last};
  }
  a += alpn;

  auto sorted_ciphers = ciphers;
  std::sort(sorted_ciphers.begin(), sorted_ciphers.end());
  std::vector<uint16_t> c_exts;
  for (uint16_t t : exts)
    if (t != tls13::ext::server_name && t != tls13::ext::alpn) c_exts.push_back(t);
  std::sort(c_exts.begin(), c_exts.end());
  std::string c = join_hex(c_exts);
  const auto sigalgs = ext_list(ch, tls13::ext::signature_algorithms, 2);
  if (!sigalgs.empty()) c += "_" + join_hex(sigalgs);
  return a + "_" + sha256_12(join_hex(sorted_ciphers)) + "_" + sha256_12(c);
}

}  // namespace sluice::test
