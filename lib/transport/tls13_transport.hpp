// tls13_transport.hpp: Tls13Transport, TLS 1.3 over sluice's own engine
// (lib/proto/tls13), client or server, decorating any inner Transport; and
// Tls13Dial, the TCP dial + handshake under a deadline that the `utls`
// outbounds use.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The handshake runs in the sans-I/O tls13::Client / tls13::Server. Once it
// is done this class runs the record layer itself, on pool Chunks, with the
// engine's RecordProtection keys (write_protection() / read_protection()):
//
//   read:  inner on_data -> raw Chain -> each whole record opened IN PLACE
//          (header, inner type and tag trimmed off the Slice) -> on_data.
//          Every whole record of a uniquely held read buffer is opened in
//          one pass, then handed on in one on_data_chain to an owner that
//          takes Chains, else one record per on_data (the Slices share the
//          read chunk: no copy). A record split across two reads,
//          or held in a buffer someone else also references, is first
//          gathered into one pool chunk (the only copy, bounded by one
//          record per read).
//   write: each Slice of up to 2^14 bytes that is uniquely held with
//          5 bytes of headroom and 17 of tailroom is sealed in place; a
//          uniquely held Slice that cannot be (a 64 KiB socket read) is
//          encrypted out of place, 2^14 bytes at a time, straight into
//          record chunks (RecordProtection::seal_from: the AEAD pass is the
//          only pass); bytes in shared Slices are packed into 16 KiB pool
//          chunks of up to 2^14 bytes and sealed there. Every record of one
//          write() goes to the inner transport as one Chain.
// Post-handshake: KeyUpdate both ways (a requested update is answered before
// any later data; request_key_update() sends one), NewSessionTicket (checked
// and counted; this transport does not resume), alerts (a peer's fatal alert
// fails the transport naming it; close_notify is end-of-stream), our
// close_notify on shutdown(). Records over 2^14 + 256, bad tags, plaintext
// records after the handshake, a stream ending inside a record: the specific
// alert goes to the peer and the failure names it.
//
// Events, watermarks, unread(), half-close and close() follow the Transport
// contract exactly as TlsTransport does (see tls_transport.hpp): writes
// before the handshake completes are queued in plaintext; received data
// waits for read_start(); start_handshake() reserves pool room first under a
// pool cap.
//
// Adopting a configured engine (REALITY builds on this): client() takes a
// tls13::Client the caller configured (its own ClientHelloHook and
// CertificateVerifier), started or not; server() takes a tls13::Server the
// caller created and may already have fed (a buffered ClientHello, a
// ServerHello template in its config) and the bytes read from the socket
// that the engine has not seen yet. Whatever the engine already queued for
// sending goes out first when start_handshake() runs. Once the handshake
// completes the engine's traffic keys move into the record layer and the
// engine is freed (its handshake state is most of a connection's memory):
// client_engine() / server_engine() are null from the handshake handler on;
// info() keeps the negotiated facts, records() the record layer. The
// record layer seals application data itself, so a ServerConfig's
// first_app_record_length is applied by calling
// records()->pad_first_record() in the handshake handler.
//
// Leaving TLS mid-stream (VLESS Vision): with one-record reads, a handler can
// stop at any record boundary by calling read_stop() inside on_data; then
// detach() returns the inner transport, the decrypted-but-unread plaintext
// and the raw bytes not opened, and leaves this object holding only its
// record protection (records() keeps sealing and opening for the direction
// that stays on TLS); its close() then completes at once.
//
// Ownership: owns the inner transport and the engine. Threads: the Engine's
// loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/dialer.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/server.hpp"
#include "sluice/config.hpp"
#include "sluice/engine.hpp"
#include "sluice/transport.hpp"
#include "transport/tls_dial.hpp"
#include "transport/tls_transport.hpp"

namespace sluice {

namespace tls {
class TlsClientContext;
}

// Tls13Records is the record layer after the handshake, on pool Chunks: the
// part of Tls13Transport that survives detach() (Vision keeps one direction
// on TLS). Sans I/O: feed() raw bytes, read() one record's plaintext,
// write() plaintext, take_output() the records to send.
class Tls13Records {
 public:
  // The record layer takes the engine's traffic keys over (the engine is
  // released after the handshake).
  Tls13Records(BufferPool& pool, tls13::RecordProtection&& read, tls13::RecordProtection&& write,
               bool server) noexcept
      : pool_(pool), read_(std::move(read)), write_(std::move(write)), server_(server) {}

  // feed appends raw bytes received; feed_eof marks the raw end of stream.
  Status feed(Slice&& raw) noexcept { return raw_.push_back_compact(std::move(raw)); }
  Status feed(Chain&& raw) noexcept { return raw_.append(std::move(raw)); }
  void feed_eof() noexcept { raw_eof_ = true; }

  // read returns the plaintext of the next application record: an empty
  // Slice when more raw bytes are needed, Errc::eof after close_notify (or a
  // raw end of stream at a record boundary: truncated() then tells), or the
  // failure (failure_reason(); the alert is queued in take_output()). With
  // |batch| every whole record of a uniquely held buffer is opened at once
  // and the rest waits in pending_plaintext(); without it exactly one record
  // is opened per call, so raw bytes after it are never touched.
  Result<Slice> read(bool batch = false) noexcept;

  // write seals |plain| into records queued for take_output().
  Status write(Chain&& plain) noexcept;
  Status write(std::span<const uint8_t> plain) noexcept;
  // send_close_notify queues close_notify; no write after it.
  Status send_close_notify() noexcept;
  // request_key_update queues KeyUpdate(update_requested) and rekeys writing.
  Status request_key_update() noexcept;

  bool has_output() const noexcept { return !out_.empty(); }
  Chain take_output() noexcept { return std::move(out_); }

  // pending_plaintext: opened, not yet returned by read().
  size_t pending_plaintext() const noexcept { return plain_.size(); }
  Chain take_pending_plaintext() noexcept { return std::move(plain_); }
  const Chain& raw_unconsumed() const noexcept { return raw_; }
  Chain take_raw_unconsumed() noexcept { return std::move(raw_); }

  bool peer_closed() const noexcept { return peer_closed_; }
  // mark_peer_closed: the engine already read the peer's close_notify.
  void mark_peer_closed() noexcept { peer_closed_ = true; }
  bool truncated() const noexcept { return truncated_; }
  bool close_sent() const noexcept { return close_sent_; }
  const std::string& failure_reason() const noexcept { return reason_; }
  uint64_t key_updates_received() const noexcept { return key_updates_in_; }
  uint64_t key_updates_sent() const noexcept { return key_updates_out_; }
  uint64_t tickets_received() const noexcept { return tickets_; }
  // pad_first_record: the first application record sealed is padded to
  // |wire_len| bytes on the wire when its content fits (REALITY mirrors the
  // real site's first record; 0: no padding).
  void pad_first_record(size_t wire_len) noexcept { first_pad_ = wire_len; }

 private:
  Result<bool> open_next(bool batch) noexcept;
  tls13::Outcome on_inner(tls13::ContentType type, std::span<const uint8_t> content) noexcept;
  tls13::Outcome on_handshake(std::span<const uint8_t> content) noexcept;
  Status seal_slice(Slice&& s, tls13::ContentType type, size_t padding = 0) noexcept;
  Status seal_copy(std::span<const uint8_t> bytes, tls13::ContentType type) noexcept;
  Errc fail(const tls13::Outcome& o, bool send_alert) noexcept;

  BufferPool& pool_;
  tls13::RecordProtection read_;
  tls13::RecordProtection write_;
  bool server_;
  Chain raw_;                // received, not yet opened
  Chain plain_;              // opened, not yet returned
  Chain out_;                // sealed, not yet taken
  std::vector<uint8_t> hs_;  // post-handshake message bytes, not yet a whole message
  std::string reason_;
  Errc error_ = Errc::ok;
  size_t first_pad_ = 0;
  uint64_t key_updates_in_ = 0;
  uint64_t key_updates_out_ = 0;
  uint64_t tickets_ = 0;
  bool raw_eof_ = false;
  bool peer_closed_ = false;
  bool truncated_ = false;
  bool close_sent_ = false;
  bool sent_app_ = false;
};

class Tls13Transport final : public Transport, private TransportHandler {
 public:
  // client adopts |engine| (configured by the caller; started or not) over
  // |inner|. server adopts |engine| (possibly already fed) and |pending|,
  // raw bytes read from |inner| that the engine has not been given yet.
  static Result<std::unique_ptr<Tls13Transport>> client(Engine& e, std::unique_ptr<Transport> inner,
                                                        std::unique_ptr<tls13::Client> engine);
  static Result<std::unique_ptr<Tls13Transport>> server(Engine& e, std::unique_ptr<Transport> inner,
                                                        std::unique_ptr<tls13::Server> engine,
                                                        Chain&& pending = {});
  ~Tls13Transport() override;

  // start_handshake: as TlsTransport's (one answer unless close() comes
  // first; pool admission under a cap with kHandshakeBlocks).
  void start_handshake(TlsHandshakeHandler* h) noexcept;
  static constexpr uint32_t kHandshakeBlocks = TlsTransport::kHandshakeBlocks;
  bool handshake_done() const noexcept { return records_ != nullptr; }
  // info: version "TLSv1.3", the suite's RFC name, ALPN, SNI (server side).
  const TlsInfo& info() const noexcept { return info_; }
  tls13::Client* client_engine() noexcept { return client_.get(); }
  tls13::Server* server_engine() noexcept { return server_.get(); }
  // records: the record layer (null before the handshake completes).
  Tls13Records* records() noexcept { return records_.get(); }
  void set_one_record_reads(bool on) noexcept { one_record_ = on; }
  Transport* inner() noexcept { return inner_.get(); }
  // request_key_update sends KeyUpdate(update_requested) now (the peer
  // answers with its own); invalid_state before the handshake or after
  // shutdown().
  Status request_key_update() noexcept;

  struct Detached {
    std::unique_ptr<Transport> inner;
    Chain plaintext;  // opened, not yet delivered (unread() bytes first)
    Chain raw;        // received, not yet opened
  };
  // detach gives up driving TLS (see the file comment); invalid_state while
  // a handshake runs or while writes are queued in plaintext.
  Result<Detached> detach() noexcept;

  void set_handler(TransportHandler* h) noexcept override {
    if (h != handler_) eof_delivered_ = false;
    handler_ = h;
  }
  Status write(Chain&& data) noexcept override;
  size_t write_buffered() const noexcept override;
  void set_write_watermarks(size_t low, size_t high) noexcept override;
  void read_start() noexcept override;
  void read_stop() noexcept override;
  Status unread(Chain&& data) noexcept override;
  Status shutdown() noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  const char* failure_reason() const noexcept override { return reason_.c_str(); }
  TransportStats stats() const noexcept override { return stats_; }

  using Transport::write;

 private:
  Tls13Transport(Engine& e, std::unique_ptr<Transport> inner) noexcept;

  void on_data(Slice&& data) override;
  void on_eof() override;
  void on_error(Errc e) override;
  void on_write_high() override;
  void on_write_low() override;
  void on_drained() override;

  tls13::Outcome engine_receive(std::span<const uint8_t> bytes) noexcept;
  Status flush_engine() noexcept;
  Status flush_records() noexcept;
  void drive_handshake(Chain&& in) noexcept;
  void finish_handshake(Errc e, std::string why) noexcept;
  Status enter_record_layer() noexcept;
  void process_reads() noexcept;
  void maybe_shutdown() noexcept;
  void fail(Errc e, const std::string& reason) noexcept;

  Engine& engine_;
  std::unique_ptr<Transport> inner_;
  std::unique_ptr<tls13::Client> client_;
  std::unique_ptr<tls13::Server> server_;
  std::unique_ptr<Tls13Records> records_;
  TransportHandler* handler_ = nullptr;
  TlsHandshakeHandler* hs_handler_ = nullptr;
  Chain pending_;    // server: raw bytes the engine has not seen yet
  Chain hs_in_;      // handshake bytes short of a whole record
  Chain plain_out_;  // written before the handshake finished
  Chain unread_;
  TlsInfo info_;
  uint64_t hs_start_us_ = 0;
  PoolReservation hs_reservation_;
  bool handshaking_ = false;
  bool reading_ = false;
  bool one_record_ = false;
  bool processing_ = false;
  bool raw_eof_ = false;  // inner end-of-stream seen
  bool eof_ = false;      // TLS end-of-stream
  bool eof_delivered_ = false;
  bool shutdown_wanted_ = false;
  bool shutdown_sent_ = false;
  bool failed_ = false;
  bool closing_ = false;
  bool detached_ = false;
  Errc error_ = Errc::ok;
  std::string reason_;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
  TransportStats stats_;
};

// utls_client_config builds a tls13::ClientConfig from an outbound's TLS
// context (server name and SNI rule, ALPN, the verify policy: trust store,
// custom CA, pins, insecure) and a fingerprint: a ClientHello profile of
// the engine (tls13::find_profile; "" means "chrome"). Anything else is
// not_supported with |why| naming the supported ones.
Result<tls13::ClientConfig> utls_client_config(std::shared_ptr<const tls::TlsClientContext> ctx,
                                               std::string_view fingerprint, std::string* why);
// utls_fingerprints: the supported names, comma-separated, for messages.
std::string utls_fingerprints();
// utls_check: an outbound's `tls` asks for utls in a way this engine can
// serve (a supported fingerprint, no ECH); |why| says what is wrong.
// utls_fingerprint: the fingerprint to dial with ("" when utls is off).
Status utls_check(const TlsClientOptions& tls, std::string* why);
std::string utls_fingerprint(const TlsClientOptions& tls);

// Tls13DialHandler hears a Tls13Dial's result.
class Tls13DialHandler {
 public:
  virtual ~Tls13DialHandler() = default;
  virtual void on_tls13_dial(Result<std::unique_ptr<Tls13Transport>> t, const char* reason) = 0;
};

// Tls13Dial: TCP dial + engine handshake under one deadline
// (dial.connect_timeout_ms + handshake_timeout_ms), as TlsDial. No ECH and
// no ticket cache on this path. Frees itself after answering or cancel().
class Tls13Dial {
 public:
  static Tls13Dial* start(Engine& e, std::string_view host, uint16_t port,
                          std::shared_ptr<const tls::TlsClientContext> ctx,
                          std::string_view fingerprint, const TlsDialOptions& o,
                          Tls13DialHandler* h) noexcept;
  void cancel() noexcept;

  struct Impl;

 private:
  explicit Tls13Dial(Impl* impl) : impl_(impl) {}
  Impl* impl_;
};

}  // namespace sluice
