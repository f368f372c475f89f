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
// Everything else is forwarded unchanged: no copies, no per-write
// allocation. close() closes the outer transport and then calls back.
//
// Ownership: owns the outer transport. Threads: the Engine's loop thread.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "sluice/buffer.hpp"
#include "sluice/transport.hpp"

namespace sluice {

class VlessStream final : public Transport, private TransportHandler {
 public:
  enum class Role { client, server };
  // |prefix| (server role) is the encoded response header written first.
  VlessStream(std::unique_ptr<Transport> outer, Role role, Slice&& prefix = {}) noexcept;
  ~VlessStream() override;

  Transport* outer() noexcept { return outer_.get(); }
  // response_seen: (client) the response header has been read in full.
  bool response_seen() const noexcept { return response_done_; }

  void set_handler(TransportHandler* h) noexcept override { handler_ = h; }
  Status write(Chain&& data) noexcept override;
  size_t write_buffered() const noexcept override { return outer_->write_buffered(); }
  void set_write_watermarks(size_t low, size_t high) noexcept override {
    outer_->set_write_watermarks(low, high);
  }
  void read_start() noexcept override { outer_->read_start(); }
  void read_stop() noexcept override { outer_->read_stop(); }
  Status unread(Chain&& data) noexcept override;
  Status shutdown() noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  const char* failure_reason() const noexcept override {
    return reason_.empty() ? outer_->failure_reason() : reason_.c_str();
  }
  TransportStats stats() const noexcept override { return outer_->stats(); }

  using Transport::write;

 private:
  void on_data(Slice&& data) override;
  void on_eof() override;
  void on_error(Errc e) override;
  void on_write_high() override {
    if (handler_) handler_->on_write_high();
  }
  void on_write_low() override {
    if (handler_) handler_->on_write_low();
  }
  void on_drained() override {
    if (handler_) handler_->on_drained();
  }
  Status flush_prefix(Chain* in_front_of) noexcept;

  std::unique_ptr<Transport> outer_;
  TransportHandler* handler_ = nullptr;
  Role role_;
  Slice prefix_;  // server: response header not yet written
  // client: the response header as received so far (at most 2 + 255 bytes).
  std::array<uint8_t, 2 + 255> resp_{};
  size_t resp_len_ = 0;
  bool response_done_ = false;
  bool failed_ = false;
  bool closing_ = false;
  std::string reason_;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
};

}  // namespace sluice
