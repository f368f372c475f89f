// vless_connect.cpp: request header and stream wrapping of one VLESS
// connection.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/vless_connect.hpp"

#include <string>

#include "session/vless_stream.hpp"
#include "session/vless_vision_stream.hpp"
#include "transport/tls13_transport.hpp"
#include "transport/tls_transport.hpp"

namespace sluice {

DialTarget vless_dial_target(const VlessTarget& t) {
  DialTarget d;
  d.host = t.opts.server;
  d.port = t.opts.server_port;
  d.tcp = t.opts.dial.dial;
  if (t.ctx) {
    d.strategy = DialTarget::Strategy::tls;
    d.tls_ctx = t.ctx;
    d.tls = t.opts.dial;
  }
  return d;
}

Result<Slice> VlessProtocol::request(BufferPool& pool, std::string* why) noexcept {
  (void)why;
  auto buf = pool.get(vless::kMaxRequestSize);
  if (!buf) return buf.error();
  const size_t n = vless::request_size(request_);
  auto w = vless::encode_request(request_, {buf->append(n), n});
  if (!w) return w.error();
  return buf;
}

Result<std::unique_ptr<Transport>> VlessProtocol::wrap(std::unique_ptr<Transport> t, bool tls,
                                                       Slice&& request, std::string* why) noexcept {
  if (tls && request_.addons.flow() == vless::Flow::vision) {
    // The utls client is sluice's own TLS 1.3 engine (always TLS 1.3).
    if (auto* t13 = dynamic_cast<Tls13Transport*>(t.get())) {
      std::unique_ptr<Tls13Transport> tt(t13);
      (void)t.release();
      auto s = VisionStream::create(engine_, std::move(tt), VisionStream::Role::client,
                                    request_.user, std::move(request), Chain{}, nullptr);
      if (!s) {
        *why = "vless vision: cannot take over the TLS connection";
        return s.error();
      }
      return std::unique_ptr<Transport>(s->release());
    }
    std::unique_ptr<TlsTransport> tt(static_cast<TlsTransport*>(t.release()));
    // Vision needs the outer layer to be TLS 1.3 (docs/protocols/vless.md).
    if (tt->info().version != "TLSv1.3") {
      *why = "vless server " + server_ + ": flow xtls-rprx-vision needs TLS 1.3, got " +
             tt->info().version;
      close_and_delete(tt.release());
      return Errc::not_supported;
    }
    auto s = VisionStream::create(engine_, std::move(tt), VisionStream::Role::client, request_.user,
                                  std::move(request), Chain{}, nullptr);
    if (!s) {
      *why = "vless vision: cannot take over the TLS connection";
      return s.error();
    }
    return std::unique_ptr<Transport>(s->release());
  }
  Status st = t->write(std::move(request));
  if (!st) {
    *why = std::string("vless request: ") + t->failure_reason();
    close_and_delete(t.release());
    return st.error();
  }
  return std::unique_ptr<Transport>(
      std::make_unique<VlessStream>(std::move(t), VlessStream::Role::client));
}

}  // namespace sluice
