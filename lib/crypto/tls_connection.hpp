// tls_connection.hpp: TlsConnection, one TLS endpoint (client or server) on
// BoringSSL's libssl, sans I/O.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The owner feeds raw bytes received from the peer (feed), drives the
// handshake, reads plaintext record by record (read), writes plaintext
// (write), and sends whatever take_output() returns. Nothing here touches a
// socket or reads a clock; a libuv Transport wraps it
// (lib/transport/tls_transport).
//
// Buffers. libssl reads through a custom BIO whose read side copies out of a
// Chain of the pool Slices fed in, and whose write side appends to pool
// chunks handed out by take_output(). BoringSSL pulls a record's 5-byte
// header and then exactly the rest of that record from the BIO, never more
// (ssl/ssl_buffer.cc, tls_read_buffer_extend_to), so at any moment the bytes
// are in one of three places:
//
//    raw_unconsumed()      received, not yet handed to BoringSSL (whole
//                          records after the last one opened, or a partial one)
//    pending_plaintext()   decrypted by BoringSSL, not yet read out
//    what read() returned  the owner's
//
// read() returns at most one record's plaintext, so an owner that wants to
// leave TLS mid-stream (VLESS Vision switches to the raw socket after a
// given record) stops calling read() at that record, takes the pending
// plaintext with read_pending_plaintext(), then the raw bytes with
// take_raw_unconsumed(), and from then on uses the inner transport directly.
//
// In-place records (TLS 1.3). Once a TLS 1.3 handshake is done, the
// record layer is sluice's (RecordCipher, crypto/tls_record.hpp): BoringSSL's
// traffic secrets and sequence numbers are taken over and every later record
// is sealed and opened on pool chunks, in place where the chunk is held
// alone, with no copy into or out of BoringSSL and no allocation per record:
//
//   write(Chain&&)   the plaintext's own chunk becomes the last record (header
//                    in its headroom, type and tag in its tailroom); earlier
//                    16 KiB pieces of a larger Slice are sealed straight into
//                    one output chunk (the AEAD pass writes there, no memcpy)
//   open_records()   records wholly inside a fed Slice are opened where they
//                    lie and handed out as Slices of that chunk; only a record
//                    that straddles two fed Slices is gathered (copied) first
//
// Post-handshake messages stay BoringSSL's where they need its state: a
// NewSessionTicket is re-sealed under the read key BoringSSL still holds and
// fed to it (so tickets reach the session cache as before); KeyUpdate (RFC
// 8446 4.6.3) and alerts are handled here, since they change the keys or end
// the stream. BoringSSL writes nothing after the switch (anything it would
// write is dropped: its write sequence number is no longer the wire's).
// TLS 1.2 connections keep BoringSSL's SSL_read / SSL_write path.
//
// Idle memory: BoringSSL frees its read and write buffers whenever they are
// empty (SSL_MODE_RELEASE_BUFFERS is a no-op there because this is always
// on), and the handshake configuration is shed once the handshake is done
// (SSL_set_shed_handshake_config), so an idle connection holds the SSL and
// its keys only.
//
// Threading: one connection, one thread (the Engine's loop).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "crypto/tls_context.hpp"
#include "crypto/tls_record.hpp"
#include "crypto/tls_session_cache.hpp"
#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace sluice::tls {

// install_client_hooks / install_server_hooks set the SSL_CTX callbacks that
// report back to TlsConnection (session tickets, alerts, verification).
void install_client_hooks(SSL_CTX* ctx) noexcept;
void install_server_hooks(SSL_CTX* ctx) noexcept;

struct TlsClientParams {
  TlsSessionCache* cache = nullptr;  // tickets are taken from and stored here (may be null)
  std::string cache_key;             // TlsSessionCache::key(...) for this server
  uint64_t now_ms = 0;
  // ech_config_list: overrides the context's list (the retry configs of a
  // rejected attempt); empty = the context's.
  std::vector<uint8_t> ech_config_list;
};

enum class HandshakeProgress : uint8_t { in_progress, done, failed };

class TlsConnection {
 public:
  static Result<std::unique_ptr<TlsConnection>> client(std::shared_ptr<const TlsClientContext> ctx,
                                                       BufferPool& pool, TlsClientParams params);
  static Result<std::unique_ptr<TlsConnection>> server(std::shared_ptr<TlsServerContext> ctx,
                                                       BufferPool& pool);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // feed appends bytes received from the peer.
  Status feed(Slice&& raw) noexcept;
  // feed_eof: the peer ended the raw stream.
  void feed_eof() noexcept { raw_eof_ = true; }
  bool raw_eof() const noexcept { return raw_eof_; }
  // set_now updates the time stored with new session tickets.
  void set_now(uint64_t now_ms) noexcept { now_ms_ = now_ms; }

  // handshake advances the handshake with what was fed; flush
  // take_output() after every call. failed: error() / failure_reason().
  HandshakeProgress handshake() noexcept;
  bool handshake_done() const noexcept { return done_; }

  // read returns the plaintext of the next application-data record (a pool
  // Slice), or an empty Slice when more raw bytes are needed. Errc::eof at
  // the peer's close_notify (clean) or at a raw end-of-stream without one
  // (truncated() tells). Other errors are fatal.
  Result<Slice> read() noexcept;
  // read_into opens as many complete application-data records as are
  // available and copies their plaintext into |out| (a record that does not
  // fit stays pending); 0 when more raw bytes are needed. Errors as read();
  // an error met after some bytes were copied is returned by the next call.
  Result<size_t> read_into(std::span<uint8_t> out) noexcept;
  // record_ready: false when read() / read_into() certainly produce nothing
  // now (no plaintext pending, no whole record fed, stream not ended); true
  // may still yield nothing when BoringSSL holds a partial record.
  bool record_ready() const noexcept;
  // write encrypts |plain| into records queued for take_output().
  Status write(std::span<const uint8_t> plain) noexcept;
  // write (Chain) encrypts |plain| the same way; on the in-place path the
  // Slices' own chunks carry the records where they are unique (see above).
  Status write(Chain&& plain) noexcept;

  // in_place: the in-place record path is on (TLS 1.3 after the handshake).
  bool in_place() const noexcept { return in_place_; }
  // open_records (in-place path) opens complete records from what was fed
  // and appends each application-data record's plaintext to |out| as one
  // Slice, until |max_records| such records were appended or more raw bytes
  // are needed. Returns the bytes appended (0: feed more). Errc::eof at the
  // peer's close_notify or a raw end-of-stream between records (truncated()
  // tells), once the data before it was returned; other errors are fatal and
  // queue an alert for take_output(). An error met after some data was
  // appended is returned by the next call. invalid_state off the in-place path.
  Result<size_t> open_records(Chain& out, size_t max_records) noexcept;
  // key_update sends a KeyUpdate (RFC 8446 4.6.3) and switches to the next
  // sending key; |request_peer| asks the peer to update its own.
  // invalid_state off the in-place path (TLS 1.2).
  Status key_update(bool request_peer) noexcept;

  // RecordStats count the in-place path's work (for perf/tunnel_bench).
  struct RecordStats {
    uint64_t records_sealed = 0;
    uint64_t sealed_in_place = 0;  // records sealed in the plaintext's own chunk
    uint64_t seal_batches = 0;     // write() calls that sealed records
    uint64_t records_opened = 0;
    uint64_t opened_gathered = 0;  // records that straddled fed Slices (copied)
    uint64_t opened_moved = 0;     // records opened out of a shared chunk
    uint64_t key_updates_received = 0;
    uint64_t key_updates_sent = 0;
    uint64_t tickets_forwarded = 0;  // post-handshake messages handed to BoringSSL
  };
  const RecordStats& record_stats() const noexcept { return rstats_; }
  // send_close_notify queues the close_notify alert (TLS half-close: RFC
  // 8446 6.1 lets the peer go on sending).
  Status send_close_notify() noexcept;

  bool has_output() const noexcept { return !output_.empty() || !out_tail_.empty(); }
  // take_output moves the queued raw bytes out.
  Chain take_output() noexcept;

  // pending_plaintext: bytes BoringSSL has decrypted and not handed out.
  size_t pending_plaintext() const noexcept;
  // read_pending_plaintext hands those out without opening another record.
  Result<Slice> read_pending_plaintext() noexcept;
  // raw_unconsumed / take_raw_unconsumed: fed bytes BoringSSL has not read.
  const Chain& raw_unconsumed() const noexcept { return raw_in_; }
  Chain take_raw_unconsumed() noexcept { return std::move(raw_in_); }

  Errc error() const noexcept { return error_; }
  const std::string& failure_reason() const noexcept { return reason_; }
  bool truncated() const noexcept { return truncated_; }

  bool is_server() const noexcept { return server_ctx_ != nullptr; }
  std::string alpn() const;
  // server_name: the SNI the client sent (server side; the inner one under ECH).
  std::string server_name() const;
  bool ech_accepted() const noexcept;
  bool session_reused() const noexcept;
  const char* version() const noexcept;
  const char* cipher() const noexcept;
  // ech_retry_configs: the server's retry list after ech_rejected (may be empty).
  const std::vector<uint8_t>& ech_retry_configs() const noexcept { return ech_retry_; }
  // peer_alert: the last alert the peer sent (-1 if none).
  int peer_alert() const noexcept { return peer_alert_; }

  // Hooks for the BoringSSL callbacks (internal).
  static TlsConnection* from(const SSL* ssl) noexcept;
  void on_new_session(SSL_SESSION* s) noexcept;
  void on_alert(bool received, int value) noexcept;
  int verify_peer(uint8_t* out_alert) noexcept;
  int bio_read(char* out, int len) noexcept;
  int bio_write(const char* in, int len) noexcept;

 private:
  explicit TlsConnection(BufferPool& pool) noexcept : pool_(pool) {}
  Status init_ssl(SSL_CTX* ctx) noexcept;
  // fail_from records the error of a failed SSL call; returns the Errc.
  Errc fail_from(int ret) noexcept;
  size_t next_read_size() const noexcept;
  // In-place path (see the file comment).
  void enter_in_place() noexcept;
  Status seal_out(uint8_t type, const uint8_t* in, size_t len, size_t hint) noexcept;
  Status seal_slice(Slice&& s) noexcept;
  Result<size_t> open_one(Chain& out) noexcept;
  Result<std::pair<uint8_t, size_t>> content(const uint8_t* p, size_t n) noexcept;
  Status handle_handshake(std::span<const uint8_t> rec) noexcept;
  Status forward_to_boringssl(std::span<const uint8_t> msgs) noexcept;
  Errc fail_record(Errc e, uint8_t alert, std::string reason) noexcept;
  void send_alert(uint8_t desc) noexcept;
  Result<Slice> read_in_place() noexcept;
  Result<size_t> read_into_in_place(std::span<uint8_t> out) noexcept;

  BufferPool& pool_;
  SSL* ssl_ = nullptr;
  std::shared_ptr<const TlsClientContext> client_ctx_;
  std::shared_ptr<TlsServerContext> server_ctx_;
  TlsSessionCache* cache_ = nullptr;
  std::string cache_key_;
  uint64_t now_ms_ = 0;
  Chain raw_in_;    // fed, not yet read by BoringSSL
  Chain output_;    // records ready to send
  Slice out_tail_;  // the chunk BoringSSL is appending to (unique), not yet in output_
  bool raw_eof_ = false;
  bool done_ = false;
  bool failed_ = false;
  bool truncated_ = false;
  Errc error_ = Errc::ok;
  std::string reason_;
  Errc verify_error_ = Errc::ok;
  bool out_of_buffers_ = false;  // bio_write could not get a pool chunk
  std::string verify_reason_;
  int peer_alert_ = -1;
  std::vector<uint8_t> ech_retry_;
  // In-place path state.
  bool in_place_ = false;
  bool close_notify_sent_ = false;
  bool close_notify_received_ = false;
  uint16_t suite_ = 0;              // TLS 1.3 cipher suite (0x1301..0x1303)
  uint8_t empty_records_ = 0;       // empty records in a row (bounded)
  uint8_t key_updates_in_row_ = 0;  // KeyUpdates without data between (bounded)
  Errc deferred_ = Errc::ok;        // error met after data was handed out
  RecordCipher rx_;                 // opens the peer's records
  RecordCipher tx_;                 // seals ours
  Chain to_bssl_;                   // re-sealed post-handshake messages for BoringSSL's BIO
  Chain plain_pending_;             // opened by read_into, not yet copied out
  std::vector<uint8_t> hs_in_;      // a post-handshake message split across records
  RecordStats rstats_;
};

}  // namespace sluice::tls
