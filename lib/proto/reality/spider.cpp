// proto/reality/spider.cpp: see spider.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/reality/spider.hpp"

#include <string>

namespace sluice::reality {
namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

void put_frame_header(std::vector<uint8_t>& out, size_t len, uint8_t type, uint8_t flags,
                      uint32_t stream) {
  out.push_back(static_cast<uint8_t>(len >> 16));
  out.push_back(static_cast<uint8_t>(len >> 8));
  out.push_back(static_cast<uint8_t>(len));
  out.push_back(type);
  out.push_back(flags);
  out.push_back(static_cast<uint8_t>(stream >> 24));
  out.push_back(static_cast<uint8_t>(stream >> 16));
  out.push_back(static_cast<uint8_t>(stream >> 8));
  out.push_back(static_cast<uint8_t>(stream));
}

// put_int writes an HPACK integer (RFC 7541 §5.1) with an |n|-bit prefix
// under |first| (the pattern bits above the prefix).
void put_int(std::vector<uint8_t>& out, uint8_t first, int n, size_t v) {
  const size_t max = (1u << n) - 1;
  if (v < max) {
    out.push_back(static_cast<uint8_t>(first | v));
    return;
  }
  out.push_back(static_cast<uint8_t>(first | max));
  v -= max;
  while (v >= 128) {
    out.push_back(static_cast<uint8_t>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

void put_string(std::vector<uint8_t>& out, std::string_view s) {
  put_int(out, 0x00, 7, s.size());  // H = 0: no Huffman coding
  out.insert(out.end(), s.begin(), s.end());
}

// put_indexed_name: a literal header field without indexing whose name is
// static table entry |index| (RFC 7541 §6.2.2).
void put_indexed_name(std::vector<uint8_t>& out, size_t index, std::string_view value) {
  put_int(out, 0x00, 4, index);
  put_string(out, value);
}

// put_literal: a literal header field without indexing, new name.
void put_literal(std::vector<uint8_t>& out, std::string_view name, std::string_view value) {
  out.push_back(0x00);
  put_string(out, name);
  put_string(out, value);
}

}  // namespace

std::vector<uint8_t> spider_request(std::string_view alpn, std::string_view host,
                                    std::string_view path, size_t padding_len) {
  if (path.empty()) path = "/";
  const std::string cookie = "padding=" + std::string(padding_len, '0');
  std::vector<uint8_t> out;
  if (alpn != "h2") {
    std::string req = "GET " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(host) +
                      "\r\nUser-Agent: " + std::string(kSpiderUserAgent) +
                      "\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
                      "\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: " +
                      cookie + "\r\nConnection: close\r\n\r\n";
    out.assign(req.begin(), req.end());
    return out;
  }
  out.assign(kPreface.begin(), kPreface.end());
  // SETTINGS: HEADER_TABLE_SIZE 65536, ENABLE_PUSH 0, INITIAL_WINDOW_SIZE
  // 6291456, MAX_HEADER_LIST_SIZE 262144 (Chrome's values).
  const uint8_t settings[] = {0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x60,
                              0x00, 0x00, 0x00, 0x06, 0x00, 0x04, 0x00, 0x00};
  put_frame_header(out, sizeof settings, 0x04, 0x00, 0);
  out.insert(out.end(), settings, settings + sizeof settings);

  std::vector<uint8_t> block;
  block.push_back(0x82);             // :method GET (static index 2)
  put_indexed_name(block, 1, host);  // :authority
  block.push_back(0x87);             // :scheme https (static index 7)
  if (path == "/")
    block.push_back(0x84);  // :path / (static index 4)
  else
    put_indexed_name(block, 4, path);
  put_literal(block, "upgrade-insecure-requests", "1");
  put_indexed_name(block, 58, kSpiderUserAgent);  // user-agent
  put_indexed_name(block, 19,
                   "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");  // accept
  put_indexed_name(block, 16, "gzip, deflate, br, zstd");  // accept-encoding
  put_indexed_name(block, 17, "en-US,en;q=0.9");           // accept-language
  put_indexed_name(block, 32, cookie);                     // cookie
  put_frame_header(out, block.size(), 0x01, 0x05, 1);      // HEADERS, END_STREAM | END_HEADERS
  out.insert(out.end(), block.begin(), block.end());
  return out;
}

}  // namespace sluice::reality
