// vless_stream.hpp: VlessStream, the Transport a VLESS connection is
// relayed through once its request header is settled.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// VLESS adds exactly two things to the outer stream (TLS, or TCP for
// security "none") after the request: the response header `00 A addons`,
// which the server sends in front of its first reply byte and the client
// must strip before the first downstream byte (vless.md section 4). A
// VlessStream decorates the outer Transport with one of these roles:
//
//   client: strips the response header from what is read (lazily: nothing
//           waits for it), failing with unsupported_version on a wrong
//           version byte;
//   server: puts the response header in front of the first write (or of
//           the end-of-stream when nothing is ever written), so it leaves in
//           the same TLS record as the first reply bytes.
//
// Everything else is forwarded unchanged (ForwardingTransport): no copies,
// no per-write allocation. close() closes the outer transport and then
// calls back.
//
// Ownership: owns the outer transport. Threads: the Engine's loop thread.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "sluice/buffer.hpp"
#include "transport/forwarding_transport.hpp"

namespace sluice {

class VlessStream final : public ForwardingTransport {
 public:
  enum class Role { client, server };
  // |prefix| (server role) is the encoded response header written first.
  VlessStream(std::unique_ptr<Transport> outer, Role role, Slice&& prefix = {}) noexcept;

  Transport* outer() noexcept { return inner(); }
  // response_seen: (client) the response header has been read in full.
  bool response_seen() const noexcept { return response_done_; }

  using Transport::write;
  Status write(Chain&& data) noexcept override;
  Status unread(Chain&& data) noexcept override;
  Status shutdown() noexcept override;

 private:
  void on_closing() noexcept override { prefix_.reset(); }
  void on_data(Slice&& data) override;
  // Past the response header the stream passes data through: the records of
  // one TLS read reach the owner in one call, as they would without VLESS.
  bool wants_data_chain() const noexcept override {
    return response_done_ && handler_ && handler_->wants_data_chain();
  }
  void on_data_chain(Chain&& data) override {
    if (failed_ || closing_) return;
    if (handler_) handler_->on_data_chain(std::move(data));
  }
  void on_eof() override;
  Status flush_prefix(Chain* in_front_of) noexcept;

  // Small members first: they fill ForwardingTransport's tail padding.
  Role role_;
  bool response_done_ = false;
  Slice prefix_;  // server: response header not yet written
  // client: the response header as received so far (at most 2 + 255 bytes).
  std::array<uint8_t, 2 + 255> resp_{};
  size_t resp_len_ = 0;
};

}  // namespace sluice
