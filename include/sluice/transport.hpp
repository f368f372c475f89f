// sluice/transport.hpp: Transport, a byte stream with backpressure and half-close.
//
// Copyright 2026 the sluice authors. Apache-2.0.
// The C++ API is source-stable, not ABI-stable; include/sluice/sluice.h is the ABI.
//
// A Transport is a bidirectional byte stream: TCP at the bottom, and
// decorators above it (TLS, REALITY, SSH channel, a protocol's framing) that
// wrap an inner Transport. A Stream opened through a Session is a Transport
// too, so the Relay splices any two of them.
//
// Reading: received bytes arrive as Slices through TransportHandler::on_data,
// straight from the pool chunk the bytes were read into. read_stop() /
// read_start() pause and resume delivery (a paused transport stops reading
// its socket, so the kernel's window pushes back on the peer).
//
// Writing: write() takes a Chain (its Slices are kept, never copied, until
// the bytes are on the wire) and queues it. The queue has a low and a high
// watermark: crossing high calls on_write_high once, draining back to low
// calls on_write_low once; a producer stops reading while its consumer is
// above high, so memory per connection stays bounded.
//
// Half-close: shutdown() sends end-of-stream after every queued byte; the
// peer's end-of-stream arrives as on_eof (reading has then ended).
//
// Closing: close() starts an asynchronous close; exactly one close callback
// follows and nothing else is called back after close() returns. The owner
// keeps the object alive until that callback and may delete it inside it.
// Queued but unwritten bytes are dropped at close; write_buffered() tells
// how many (reported, never silently lost).
//
// Threads: a Transport belongs to its Engine's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

namespace sluice {

// TransportHandler receives a Transport's events. Every method is called on
// the loop thread, never after close() has been called.
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // on_data delivers received bytes (never empty).
  virtual void on_data(Slice&& data) = 0;
  // on_eof: the peer sent end-of-stream; no more on_data.
  virtual void on_eof() = 0;
  // on_error: the transport failed (reset, protocol error, timeout). Only
  // close() may follow. failure_reason() has the detail.
  virtual void on_error(Errc e) = 0;
  // on_write_high / on_write_low: the write queue crossed a watermark.
  virtual void on_write_high() {}
  virtual void on_write_low() {}
  // on_drained: every queued byte has been handed on (the queue is empty).
  virtual void on_drained() {}
  // wants_data_chain / on_data_chain: a handler that returns true may be
  // given several received Slices in one call (never empty, in order), as a
  // TLS transport opens several records of one socket read; the handler
  // takes them all (it cannot stop between them). Otherwise each Slice
  // comes through on_data.
  virtual bool wants_data_chain() const noexcept { return false; }
  virtual void on_data_chain(Chain&& data) { (void)data; }
};

// CloseCallback ends a close(); |user| is the pointer given to close().
using CloseCallback = void (*)(void* user);

// TransportStats counts a transport's traffic.
struct TransportStats {
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t bytes_dropped_at_close = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // set_handler installs the receiver of events (not owned; nullptr detaches).
  // Bytes pushed back with unread() are delivered first, after read_start().
  virtual void set_handler(TransportHandler* h) noexcept = 0;

  // write queues |data| for sending; Errc::closed after shutdown() or close(),
  // or the error that failed the transport.
  virtual Status write(Chain&& data) noexcept = 0;
  Status write(Slice&& data) noexcept;

  // write_buffered: bytes accepted by write() and not yet handed to the OS
  // (or to the inner transport).
  virtual size_t write_buffered() const noexcept = 0;
  // set_write_watermarks changes the queue's marks (low <= high).
  virtual void set_write_watermarks(size_t low, size_t high) noexcept = 0;

  // read_start / read_stop resume and pause delivery of on_data / on_eof.
  virtual void read_start() noexcept = 0;
  virtual void read_stop() noexcept = 0;

  // unread pushes bytes back in front of the read side: they are delivered
  // before anything read later (used when a handshake read past its end).
  virtual Status unread(Chain&& data) noexcept = 0;

  // shutdown half-closes the write side once the queue has drained.
  virtual Status shutdown() noexcept = 0;

  // close starts closing; |cb| (may be nullptr) is called exactly once.
  virtual void close(CloseCallback cb, void* user) noexcept = 0;

  // failure_reason: detail for the last error (borrowed; "" if none).
  virtual const char* failure_reason() const noexcept = 0;
  virtual TransportStats stats() const noexcept = 0;
};

// close_and_delete closes |t| and deletes it in its close callback.
void close_and_delete(Transport* t) noexcept;

}  // namespace sluice
