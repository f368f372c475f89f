// h3_stream.hpp: H3Stream, one HTTP/3 request/response exchange on a QUIC
// bidirectional stream (RFC 9114 §4.1).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// An H3Stream is a client's request (H3Connection::request) or a request a
// server received (H3Handler::on_request). Each side sends one message: a
// header section (HEADERS, RFC 9114 §4.2, QPACK-encoded by nghttp3, RFC
// 9204) and a body streamed as DATA frames (RFC 9114 §7.2.1); the server
// answers with respond(). Neither body is ever buffered whole:
//
//  * Sending: write_body() queues the Chain's Slices (no copy) until nghttp3
//    frames them; the DATA payload reaches the QUIC stream as views into the
//    same chunks, only frame headers are copied. While the QUIC stream holds
//    more than its high watermark the stream is blocked in nghttp3, and the
//    handler hears on_write_high once more than |high| bytes wait here, then
//    on_write_low when they fall to |low|.
//  * Receiving: DATA payload is handed to on_body as views into the pool
//    chunk the QUIC stream delivered (a copy only when nghttp3 had to buffer
//    a QPACK-blocked stream). read_stop() stops the QUIC stream, so its flow
//    control credit stops and the peer is held at its window.
//
// Lifetime: the H3Connection owns every H3Stream. on_close is the handler's
// last call (Errc::ok once both messages were exchanged completely and our
// side was acknowledged); the pointer is invalid after it returns, and after
// reset() returns. Threads: the Engine's loop thread.
#pragma once

#include <nghttp3/nghttp3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/buffer.hpp"
#include "sluice/error.hpp"
#include "sluice/transport.hpp"

namespace sluice::quic {

class H3Connection;
class H3Stream;
class QuicStream;

// H3Field is one field line of a header section; names are lower case on
// the wire (RFC 9114 §4.2), pseudo-header names start with ':'.
struct H3Field {
  std::string name;
  std::string value;
};
using H3Fields = std::vector<H3Field>;

// HTTP/3 error codes used here (RFC 9114 §8.1).
inline constexpr uint64_t kH3NoError = 0x100;
inline constexpr uint64_t kH3InternalError = 0x102;
inline constexpr uint64_t kH3RequestRejected = 0x10b;
inline constexpr uint64_t kH3RequestCancelled = 0x10c;

// H3StreamHandler hears one exchange's events on the loop thread.
class H3StreamHandler {
 public:
  virtual ~H3StreamHandler() = default;
  // on_headers (client): the final response header section arrived;
  // interim 1xx sections are skipped (RFC 9114 §4.1).
  virtual void on_headers(H3Stream&) {}
  // on_body delivers a piece of the peer's body (never empty).
  virtual void on_body(H3Stream&, Slice&& data) = 0;
  // on_end: the peer's message is complete (trailers are dropped).
  virtual void on_end(H3Stream&) {}
  virtual void on_write_high(H3Stream&) {}
  virtual void on_write_low(H3Stream&) {}
  // on_close: the exchange is over; Errc::ok when complete both ways,
  // otherwise why (a reset, the connection closing). Last call.
  virtual void on_close(H3Stream&, Errc e) = 0;
};

class H3Stream final : private TransportHandler {
 public:
  ~H3Stream() override;
  H3Stream(const H3Stream&) = delete;
  H3Stream& operator=(const H3Stream&) = delete;

  int64_t id() const noexcept { return id_; }
  void set_handler(H3StreamHandler* h) noexcept { handler_ = h; }
  H3StreamHandler* handler() const noexcept { return handler_; }

  // The peer's header section (the request on a server, the final response
  // on a client), in wire order, pseudo-headers included.
  const H3Fields& fields() const noexcept { return fields_; }
  // field returns the first value of |name| (lower case), "" if absent.
  std::string_view field(std::string_view name) const noexcept;
  std::string_view method() const noexcept { return field(":method"); }
  std::string_view path() const noexcept { return field(":path"); }
  std::string_view authority() const noexcept;  // :authority, else host
  // status is the response's :status (client), 0 before on_headers.
  int status() const noexcept { return status_; }

  // respond (server) submits the response header section with :status
  // |status| and |extra|; with |has_body| false the stream ends after it,
  // otherwise write_body()/end_body() follow. invalid_state when not a
  // server stream or already answered.
  Status respond(int status, const H3Fields& extra = {}, bool has_body = false) noexcept;

  // write_body queues body bytes; end_body ends the body (and the message).
  // invalid_state without a body announced (has_body), closed after end_body
  // or once the stream failed.
  Status write_body(Chain&& data) noexcept;
  Status write_body(Slice&& data) noexcept;
  Status end_body() noexcept;
  // body_buffered: body bytes queued here and not yet framed by nghttp3.
  size_t body_buffered() const noexcept { return pending_.size(); }
  void set_write_watermarks(size_t low, size_t high) noexcept;

  // read_start / read_stop resume and pause on_body/on_end delivery.
  void read_start() noexcept;
  void read_stop() noexcept;

  // reset abandons the exchange: RESET_STREAM and STOP_SENDING with
  // |app_error| (RFC 9114 §4.1.1). No callback follows.
  void reset(uint64_t app_error = kH3RequestCancelled) noexcept;

  uint64_t body_bytes_received() const noexcept { return body_rx_; }
  uint64_t body_bytes_sent() const noexcept { return body_tx_; }

 private:
  friend class H3Connection;
  H3Stream(H3Connection& c, std::unique_ptr<QuicStream> s, bool server) noexcept;

  // TransportHandler: events of the QUIC stream.
  void on_data(Slice&& data) override;
  void on_eof() override;
  void on_error(Errc e) override;
  void on_write_high() override;
  void on_write_low() override;
  void on_drained() override;

  // --- called by the H3Connection (from nghttp3 callbacks) ---
  nghttp3_ssize read_data(nghttp3_vec* vec, size_t veccnt, uint32_t* pflags) noexcept;
  void on_body_acked(uint64_t n) noexcept;
  void on_recv_body(const uint8_t* data, size_t len) noexcept;
  void on_header(std::string_view name, std::string_view value, bool status) noexcept;
  void on_end_headers() noexcept;
  void on_end_stream() noexcept;
  // body_view returns a Slice over [p, p+len) if those are the next body
  // bytes framed from given_ (zero-copy send path).
  bool body_view(const uint8_t* p, size_t len, Slice* out) noexcept;
  void after_write(size_t n, bool fin) noexcept;  // nghttp3 produced n bytes
  void check_watermarks() noexcept;
  void maybe_finish() noexcept;
  void finish(Errc e) noexcept;  // tell the handler, then the connection reaps

  H3Connection& conn_;
  std::unique_ptr<QuicStream> qs_;  // null once closed (reaped)
  int64_t id_;
  bool server_;
  H3StreamHandler* handler_ = nullptr;
  H3Fields fields_;
  int status_ = 0;
  const Slice* rx_cur_ = nullptr;  // the Slice nghttp3 is reading (zero-copy receive)
  Chain pending_;                  // body queued by write_body, not yet given to nghttp3
  Chain given_;                    // body given to nghttp3, not yet acknowledged by it
  size_t given_framed_ = 0;        // bytes of given_ already seen in nghttp3's output
  size_t low_ = 256 * 1024;
  size_t high_ = 1024 * 1024;
  uint64_t body_rx_ = 0;
  uint64_t body_tx_ = 0;
  bool has_body_ = false;      // our message has a body (a data reader)
  bool submitted_ = false;     // our header section was submitted
  bool body_ended_ = false;    // end_body() called
  bool data_blocked_ = false;  // read_data said WOULDBLOCK: resume on new data
  bool quic_blocked_ = false;  // nghttp3_conn_block_stream in force
  bool above_high_ = false;
  bool headers_done_ = false;  // the peer's (final) header section arrived
  bool rx_end_ = false;        // nghttp3 saw the peer's message end
  bool rx_eof_ = false;        // the QUIC stream's FIN was fed to nghttp3
  bool tx_fin_ = false;        // nghttp3 ended our side, FIN queued on the QUIC stream
  bool drained_ = false;       // ... and the QUIC stream has it all acknowledged
  bool h3_closed_ = false;     // nghttp3 has forgotten the stream
  bool finished_ = false;      // on_close was called (or reset)
  bool reaped_ = false;        // queued for deletion by the connection
  uint64_t reset_code_ = 0;    // nonzero: reset the QUIC stream when reaped
};

}  // namespace sluice::quic
