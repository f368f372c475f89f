// inbound/hysteria2_masquerade.hpp: Hysteria2Masquerade, what a Hysteria v2
// server answers to every HTTP/3 request that is not a successful
// authentication (official extras/masq; sing-box's `masquerade`).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The point is that a prober — including one that POSTs /auth with a wrong
// password — sees an ordinary HTTP/3 web server. Kinds:
//   not_found  404 "404 page not found" (Go's http.NotFound, the default of
//              both reference servers)
//   string     a fixed status, headers and body
//   file       a static directory: GET/HEAD of a regular file under it (no
//              "..", no hidden escape through the path), "/" and
//              directories serve index.html; anything else 404
//   proxy      a reverse proxy, as the official server's (Go's
//              httputil.ReverseProxy with SetURL): each request goes over
//              HTTP/1.1 (TCP, or TLS for an https URL, verified unless
//              `insecure`) to the URL's host, at the URL's path joined with
//              the request's (and the queries joined); Host is the
//              request's :authority unless rewrite_host, then the URL's.
//              Hop-by-hop and Forwarded/X-Forwarded-* fields are dropped
//              both ways. The answer (status, fields, body: by length,
//              chunked or up to the close) goes back over HTTP/3, streamed
//              with backpressure both ways. An upstream that cannot be
//              reached or answers garbage gets 502 with no body (the
//              official ErrorHandler) before the response began, a reset
//              after. The request body is buffered (at most
//              kMaxProxyRequestBody bytes, else 413) and sent with a
//              Content-Length; one connection per request (Connection:
//              close), no pooling.
// Options: Hysteria2MasqueradeOptions (sluice/config.hpp).
//
// Threads: the loop thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "quic/h3_stream.hpp"
#include "sluice/config.hpp"
#include "sluice/engine.hpp"

namespace sluice {

namespace http {

// ChunkedDecoder reads an HTTP/1.1 chunked body (RFC 9112 section 7.1):
// sizes in hex (at most 15 digits), extensions after ';' ignored, trailer
// fields skipped; lines end in CRLF or a bare LF; a size line or trailer
// line is at most kMaxLine bytes. Sans I/O: feed() takes what arrived and
// cuts the data out of it without copying.
class ChunkedDecoder {
 public:
  static constexpr size_t kMaxLine = 4096;
  // feed consumes bytes from the front of |in| and sets |*data| to the next
  // piece of body (possibly empty; a view into |in|'s chunk). Call until
  // |in| is empty. malformed for a bad size line, a missing CRLF after the
  // data, or an over-long line; bytes after the end are left in |in|.
  Status feed(Slice& in, Slice* data) noexcept;
  // done: the last chunk and the trailer section have been read.
  bool done() const noexcept { return state_ == State::done; }

 private:
  enum class State : uint8_t { size, ext, size_lf, data, data_cr, data_lf, trailer, done };
  State state_ = State::size;
  uint64_t remaining_ = 0;  // data bytes left in this chunk
  size_t digits_ = 0;       // hex digits of the size so far
  size_t line_ = 0;         // bytes of the current size or trailer line
};

}  // namespace http

// MasqueradeUrl is a proxy masquerade's upstream.
struct MasqueradeUrl {
  bool https = false;
  std::string host;  // name or IP literal (no brackets)
  uint16_t port = 0;
  std::string authority;  // as in the URL (host[:port]): the rewritten Host
  std::string path;       // "" or starting with '/'
  std::string query;      // without the '?'
};

// parse_masquerade_url reads "http://host[:port][/path][?query]" or
// "https://..."; config_invalid with |why| otherwise (userinfo and
// fragments are refused).
Result<MasqueradeUrl> parse_masquerade_url(std::string_view url, std::string* why);

class Hysteria2Masquerade final : private quic::H3StreamHandler {
 public:
  static constexpr size_t kMaxProxyRequestBody = 1 << 20;
  static constexpr uint64_t kProxyTimeoutMs = 10000;  // dial and response head

  explicit Hysteria2Masquerade(Hysteria2MasqueradeOptions o) : opts_(std::move(o)) {}
  ~Hysteria2Masquerade() override;
  // init checks the options (the proxy URL, its TLS context); |why| says
  // what is wrong. Call once before serve().
  Status init(std::string* why);
  // serve answers the request on |s| (the request's body, if any, is read
  // and dropped, or forwarded by a proxy). The masquerade must outlive the
  // stream.
  void serve(quic::H3Stream& s, Engine& e) noexcept;
  uint64_t served() const noexcept { return served_; }
  // proxied: requests forwarded upstream; proxy_failures: those answered
  // 502 or reset because the upstream failed.
  uint64_t proxied() const noexcept;
  uint64_t proxy_failures() const noexcept;

  class Proxy;  // one proxied request (internal)

 private:
  void on_body(quic::H3Stream&, Slice&&) override {}
  void on_close(quic::H3Stream&, Errc) override {}
  void respond_text(quic::H3Stream& s, BufferPool& pool, int status, std::string_view body,
                    const quic::H3Fields& extra) noexcept;
  void serve_file(quic::H3Stream& s, BufferPool& pool) noexcept;

  Hysteria2MasqueradeOptions opts_;
  uint64_t served_ = 0;
  // proxy: the parsed URL and (https) the client context, shared with the
  // requests in flight, which may outlive the masquerade by a close.
  struct ProxyShared;
  std::shared_ptr<ProxyShared> proxy_;
};

}  // namespace sluice
