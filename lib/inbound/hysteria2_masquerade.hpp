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
// A reverse proxy to an http(s) URL is not built: the configuration refuses
// it with a clear error. Options: Hysteria2MasqueradeOptions (sluice/config.hpp).
//
// Threads: the loop thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "quic/h3_stream.hpp"
#include "sluice/config.hpp"

namespace sluice {

class Hysteria2Masquerade final : private quic::H3StreamHandler {
 public:
  explicit Hysteria2Masquerade(Hysteria2MasqueradeOptions o) : opts_(std::move(o)) {}
  // serve answers the request on |s| (the request's body, if any, is read
  // and dropped). The masquerade must outlive the stream.
  void serve(quic::H3Stream& s, BufferPool& pool) noexcept;
  uint64_t served() const noexcept { return served_; }

 private:
  void on_body(quic::H3Stream&, Slice&&) override {}
  void on_close(quic::H3Stream&, Errc) override {}
  void respond_text(quic::H3Stream& s, BufferPool& pool, int status, std::string_view body,
                    const quic::H3Fields& extra) noexcept;
  void serve_file(quic::H3Stream& s, BufferPool& pool) noexcept;

  Hysteria2MasqueradeOptions opts_;
  uint64_t served_ = 0;
};

}  // namespace sluice
