// h3_connection.hpp: H3Connection, a minimal HTTP/3 client or server
// (RFC 9114) over one quic::Connection, with nghttp3 0.8.0 doing the
// framing and QPACK (RFC 9204).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Why it exists: Hysteria v2 authenticates with an HTTP/3 POST /auth and
// must otherwise look like an HTTP/3 web site to anyone without the
// password (its masquerade), so sluice needs both ends of plain HTTP/3 requests.
//
// Layering: H3Connection sits *above* the QUIC streams, which stay sluice
// Transports. It opens our three unidirectional streams (control, RFC 9114
// §6.2.1; QPACK encoder and decoder, RFC 9204 §4.2), reads the peer's, and
// runs one H3Stream per request stream. It is not the connection's
// ConnectionHandler: the owner forwards the streams the peer opens with
// accept_stream(), so a protocol can keep some bidirectional streams for
// itself (Hysteria's TCP streams start with frame type 0x401, spec §9.3.4:
// read the first bytes, unread() them and pass the stream on if they are
// not). nghttp3's output is pulled (nghttp3_conn_writev_stream) after every
// event and written to the QUIC streams; since those keep the bytes until
// QUIC acknowledges them, nghttp3 is told at once that they are acknowledged.
//
// Use: create it when the connection's handshake is done (on_handshake_done,
// both sides). A client calls request(); a server's H3Handler hears
// on_request for each request header section and answers on the H3Stream.
// An HTTP/3 connection error (RFC 9114 §8) closes the QUIC connection with
// its H3 error code.
//
// Lifetime: the owner deletes the H3Connection (not from inside one of its
// callbacks) before or after the quic::Connection ends; deleting it closes
// every stream, resetting unfinished ones, and calls no handler.
// Threads: the Engine's loop thread.
#pragma once

#include <nghttp3/nghttp3.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "quic/h3_stream.hpp"
#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

namespace sluice::quic {

class Connection;
class QuicStream;
class H3Connection;

struct H3Options {
  // SETTINGS_QPACK_MAX_TABLE_CAPACITY and SETTINGS_QPACK_BLOCKED_STREAMS
  // (RFC 9204 §5): what the peer's encoder may use against our decoder.
  size_t qpack_max_dtable_capacity = 4096;
  size_t qpack_blocked_streams = 100;
  // SETTINGS_MAX_FIELD_SECTION_SIZE (RFC 9114 §4.2.2, §7.2.4.1).
  uint64_t max_field_section_size = 64 * 1024;
};

// H3Handler hears connection-level HTTP/3 events on the loop thread.
class H3Handler {
 public:
  virtual ~H3Handler() = default;
  // on_request (server): a request's header section arrived. Install an
  // H3StreamHandler on |s| and respond now or later. The default answers
  // 404 without a body, as a plain web server would.
  virtual void on_request(H3Connection&, H3Stream& s);
  // on_goaway: the peer will process no request with a stream ID >= |id|
  // (RFC 9114 §5.2).
  virtual void on_goaway(H3Connection&, int64_t id) { (void)id; }
  // on_error: an HTTP/3 connection error; the QUIC connection is being
  // closed with |app_error| (RFC 9114 §8).
  virtual void on_error(H3Connection&, uint64_t app_error) { (void)app_error; }
};

struct H3Stats {
  uint64_t requests = 0;      // request streams opened (client) or received (server)
  uint64_t completed = 0;     // exchanges that ended with Errc::ok
  uint64_t failed = 0;        // exchanges that ended otherwise
  uint64_t bytes_copied = 0;  // bytes copied on the send path (frame headers, QPACK)
  uint64_t body_copied = 0;   // body bytes copied on the receive path (QPACK-blocked)
};

class H3Connection {
 public:
  // create starts HTTP/3 on |c| as its client or server (c.server()),
  // opening the control and QPACK streams. |h| may be null on a client.
  static Result<std::unique_ptr<H3Connection>> create(Connection& c, H3Handler* h,
                                                      const H3Options& o = {});
  ~H3Connection();
  H3Connection(const H3Connection&) = delete;
  H3Connection& operator=(const H3Connection&) = delete;

  // accept_stream takes a stream the peer opened (from
  // ConnectionHandler::on_stream): its control and QPACK streams and, on a
  // server, its request streams. Bytes already read from it go back with
  // QuicStream::unread() first.
  void accept_stream(std::unique_ptr<QuicStream> s) noexcept;

  // request (client) opens a request stream and submits the header section
  // :method |method|, :scheme https, :authority |authority|, :path |path|
  // and |extra|. With |has_body| the body follows through write_body(). The
  // stream belongs to the H3Connection; |h| hears its events.
  // limit_exceeded while the peer's stream limit is reached
  // (ConnectionHandler::on_streams_available follows), closed after an error.
  Result<H3Stream*> request(std::string_view method, std::string_view authority,
                            std::string_view path, const H3Fields& extra, bool has_body,
                            H3StreamHandler* h) noexcept;

  // shutdown starts a graceful shutdown: a server sends GOAWAY (RFC 9114
  // §5.2) and finishes the requests it has.
  Status shutdown() noexcept;

  Connection& connection() noexcept { return conn_; }
  bool server() const noexcept { return server_; }
  bool failed() const noexcept { return failed_; }
  size_t active_streams() const noexcept { return streams_.size(); }
  const H3Stats& stats() const noexcept { return stats_; }

 private:
  friend class H3Stream;
  class UniStream;
  // Scope marks a call into this object (a QUIC stream event or an API
  // call); when the outermost one ends, deferred work runs: flushing
  // nghttp3's output, closing the connection, deleting finished streams.
  struct Scope {
    explicit Scope(H3Connection& c) noexcept : c_(c) { ++c_.depth_; }
    ~Scope() { c_.leave(); }
    H3Connection& c_;
  };

  H3Connection(Connection& c, H3Handler* h, const H3Options& o) noexcept;
  Status init() noexcept;
  void leave() noexcept;
  void settle() noexcept;
  void schedule_flush() noexcept { flush_wanted_ = true; }
  void flush() noexcept;
  bool ensure_local_streams() noexcept;
  Status copy_into(Chain& out, Slice& cur, const uint8_t* p, size_t n) noexcept;
  // fail records an HTTP/3 connection error (nghttp3 liberr): the QUIC
  // connection is closed with the matching code once nothing is on the stack.
  void fail(int liberr) noexcept;
  void reap(H3Stream* s) noexcept;
  // check_finish: stream |id|'s message ended inside an nghttp3 callback;
  // settle() lets it finish once nghttp3 has returned.
  void check_finish(int64_t id) noexcept;
  void reap_uni(UniStream* u) noexcept;
  H3Stream* find(int64_t id) noexcept;
  Status submit(H3Stream& s, const nghttp3_nv* nva, size_t n) noexcept;

  // nghttp3 callbacks (conn_user_data is the H3Connection).
  static int cb_acked_stream_data(nghttp3_conn*, int64_t id, uint64_t n, void* user, void* su);
  static int cb_stream_close(nghttp3_conn*, int64_t id, uint64_t app_error, void* user, void* su);
  static int cb_recv_data(nghttp3_conn*, int64_t id, const uint8_t* data, size_t len, void* user,
                          void* su);
  static int cb_deferred_consume(nghttp3_conn*, int64_t id, size_t n, void* user, void* su);
  static int cb_begin_headers(nghttp3_conn*, int64_t id, void* user, void* su);
  static int cb_recv_header(nghttp3_conn*, int64_t id, int32_t token, nghttp3_rcbuf* name,
                            nghttp3_rcbuf* value, uint8_t flags, void* user, void* su);
  static int cb_end_headers(nghttp3_conn*, int64_t id, int fin, void* user, void* su);
  static int cb_recv_trailer(nghttp3_conn*, int64_t id, int32_t token, nghttp3_rcbuf* name,
                             nghttp3_rcbuf* value, uint8_t flags, void* user, void* su);
  static int cb_stop_sending(nghttp3_conn*, int64_t id, uint64_t app_error, void* user, void* su);
  static int cb_end_stream(nghttp3_conn*, int64_t id, void* user, void* su);
  static int cb_reset_stream(nghttp3_conn*, int64_t id, uint64_t app_error, void* user, void* su);
  static int cb_shutdown(nghttp3_conn*, int64_t id, void* user);
  static nghttp3_ssize cb_read_data(nghttp3_conn*, int64_t id, nghttp3_vec* vec, size_t veccnt,
                                    uint32_t* pflags, void* user, void* su);

  Connection& conn_;
  H3Handler* handler_;
  H3Options opts_;
  bool server_;
  nghttp3_conn* h3_ = nullptr;
  BufferPool& pool_;
  // Request streams by QUIC stream ID; the H3Connection owns them.
  std::unordered_map<int64_t, std::unique_ptr<H3Stream>> streams_;
  std::vector<std::unique_ptr<UniStream>> uni_;         // ours and the peer's
  int64_t ctrl_id_ = -1, qenc_id_ = -1, qdec_id_ = -1;  // our uni streams
  bool bound_ = false;                                  // bound to nghttp3
  int depth_ = 0;                                       // nesting of Scopes
  bool flush_wanted_ = false;
  bool in_flush_ = false;
  bool failed_ = false;
  int fail_code_ = 0;  // nghttp3 liberr awaiting the QUIC close
  bool close_pending_ = false;
  std::vector<H3Stream*> reap_;  // finished streams to delete
  std::vector<int64_t> ended_;   // streams to check_finish (by ID: never dangling)
  std::vector<UniStream*> reap_uni_;
  H3Stats stats_;
};

}  // namespace sluice::quic
