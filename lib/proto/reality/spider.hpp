// proto/reality/spider.hpp: the browser-like request a REALITY client makes
// when the server turned out to be the real site (its certificate was not
// REALITY's but the chain was valid for the SNI): leaving right after the
// handshake would mark the connection as a probe, so, like sing-box's
// client, it asks for one page first and only then reports the failure.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// HTTP/2 when "h2" was negotiated (the connection preface, an empty-ish
// SETTINGS frame, one HEADERS frame with END_STREAM: GET https://<sni><path>
// with Chrome's navigation headers and a "padding" cookie of 30-61 zeros as
// sing-box sends, HPACK literals without Huffman coding), HTTP/1.1
// otherwise. Pure function of its inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::reality {

// spider_request returns the bytes to send. |path| must start with '/'
// (empty means "/"); |padding_len| is the cookie's zero count.
std::vector<uint8_t> spider_request(std::string_view alpn, std::string_view host,
                                    std::string_view path, size_t padding_len);

// kSpiderUserAgent is the User-Agent sent (Chrome 133 on Windows, matching
// the ClientHello's fingerprint).
inline constexpr std::string_view kSpiderUserAgent =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Safari/537.36";

}  // namespace sluice::reality
