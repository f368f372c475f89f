// tls_pem.cpp: strict PEM blocks, base64 and option files.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/tls_pem.hpp"

#include "core/file.hpp"

#include <openssl/base64.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sluice::tls {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<uint8_t>> decode_base64(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text)
    if (!is_space(c)) clean.push_back(c);
  // Share links and Xray configs sometimes drop the padding.
  while (clean.size() % 4 != 0) clean.push_back('=');
  size_t max = 0;
  if (!EVP_DecodedLength(&max, clean.size())) return Errc::malformed;
  std::vector<uint8_t> out(max);
  size_t n = 0;
  if (!EVP_DecodeBase64(out.data(), &n, out.size(), reinterpret_cast<const uint8_t*>(clean.data()),
                        clean.size()))
    return Errc::malformed;
  out.resize(n);
  return out;
}

std::string encode_base64(const uint8_t* bytes, size_t len) {
  size_t n = 0;
  if (!EVP_EncodedLength(&n, len)) return {};
  std::string out(n, '\0');
  const size_t w = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), bytes, len);
  out.resize(w);
  return out;
}

Result<std::vector<PemBlock>> parse_pem_blocks(std::string_view text) {
  std::vector<PemBlock> out;
  size_t pos = 0;
  for (;;) {
    const size_t b = text.find(kBegin, pos);
    if (b == std::string_view::npos) break;
    const size_t label_start = b + kBegin.size();
    const size_t label_end = text.find(kDashes, label_start);
    if (label_end == std::string_view::npos) return Errc::malformed;
    PemBlock blk;
    blk.label = std::string(text.substr(label_start, label_end - label_start));
    const size_t body_start = label_end + kDashes.size();
    std::string end_line = std::string(kEnd) + blk.label + std::string(kDashes);
    const size_t e = text.find(end_line, body_start);
    if (e == std::string_view::npos) return Errc::malformed;
    auto bytes = decode_base64(text.substr(body_start, e - body_start));
    if (!bytes) return bytes.error();
    blk.bytes = std::move(*bytes);
    out.push_back(std::move(blk));
    pos = e + end_line.size();
  }
  return out;
}

Result<std::vector<uint8_t>> parse_single_pem(std::string_view text, std::string_view label,
                                              std::string* why) {
  auto fail = [&](const char* w) -> Errc {
    if (why) *why = w;
    return Errc::malformed;
  };
  text = trim(text);
  const std::string begin = std::string(kBegin) + std::string(label) + std::string(kDashes);
  const std::string end = std::string(kEnd) + std::string(label) + std::string(kDashes);
  if (text.substr(0, begin.size()) != begin) {
    std::string w = "expected a PEM block \"" + std::string(label) + "\"";
    if (why) *why = w;
    return Errc::malformed;
  }
  const size_t e = text.find(end, begin.size());
  if (e == std::string_view::npos) return fail("PEM block has no END line");
  if (e + end.size() != text.size()) return fail("text after the PEM block");
  auto bytes = decode_base64(text.substr(begin.size(), e - begin.size()));
  if (!bytes) return fail("PEM body is not base64");
  if (bytes->empty()) return fail("empty PEM block");
  return std::move(*bytes);
}

std::string encode_pem(std::string_view label, const uint8_t* bytes, size_t len) {
  const std::string b64 = encode_base64(bytes, len);
  std::string out = std::string(kBegin) + std::string(label) + std::string(kDashes) + "\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out.push_back('\n');
  }
  out += std::string(kEnd) + std::string(label) + std::string(kDashes) + "\n";
  return out;
}

Result<std::string> read_file(const std::string& path, std::string* why) {
  return read_small_file(path, kMaxConfigFileBytes, why);
}

Result<std::string> pem_or_path(const std::string& inline_pem, const std::string& path,
                                std::string* why) {
  if (!inline_pem.empty()) return inline_pem;
  if (path.empty()) return std::string();
  return read_file(path, why);
}

}  // namespace sluice::tls
