// vless_vision_stream.hpp: VisionStream, a VLESS connection with flow
// xtls-rprx-vision (vless.md section 7), client or server side, including
// the per-direction switch to direct copy.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Direct copy leaves the outer TLS layer in one direction while the other
// may still use it, so a VisionStream takes the TLS connection over as soon
// as it starts: TlsTransport::detach() (or Tls13Transport::detach(), the
// utls client) hands it the TCP transport, the plaintext TLS had decrypted
// but not delivered and the raw bytes TLS had not read; the TLS transport
// object stays alive only for its sans-I/O record layer (tls::TlsConnection,
// or Tls13Records), which this class then drives itself through VisionTls,
// one record per read (records after a Direct block are not TLS and must
// never be opened):
//
//   write: VisionWriter pads (or passes through); the result is encrypted
//          with TlsConnection::write and sent on TCP; after the writer
//          reports switch_to_direct, the bytes after that batch go to TCP
//          as they are (no close_notify, no KeyUpdate in that direction);
//   read:  raw TCP bytes are fed to the TlsConnection, each record's
//          plaintext goes through the VisionReader; when it reports
//          switch_to_direct, the plaintext TLS still holds and then the raw
//          bytes TLS has not read are delivered as they are, and TCP is read
//          directly from then on.
//
// The client sends the request header with the first padding block in one
// record (an empty long-padding block right away, as Xray does after its
// 500 ms wait: sluice does not wait) and strips the response header before
// the first block it reads; the server puts the response header in front of
// its first block. Both directions share one TrafficState (the inner-TLS
// filter), as Xray's do.
//
// Counters (may be shared by many streams; single loop thread): how many
// streams switched each direction.
//
// Ownership: owns the TLS transport (and through it the TCP one).
// Threads: the Engine's loop thread.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "proto/vless/user_id.hpp"
#include "proto/vless/vision_filter.hpp"
#include "proto/vless/vision_reader.hpp"
#include "proto/vless/vision_writer.hpp"
#include "sluice/engine.hpp"
#include "sluice/transport.hpp"
#include "transport/forwarding_transport.hpp"
#include "transport/tls13_transport.hpp"
#include "transport/tls_transport.hpp"

namespace sluice {

struct VisionCounters {
  uint64_t streams = 0;
  uint64_t malformed = 0;     // streams failed by a malformed padding block or response
  uint64_t direct_read = 0;   // streams whose receive direction switched to direct
  uint64_t direct_write = 0;  // streams whose send direction switched to direct
};

// VisionTls is the detached TLS record layer a VisionStream drives: one
// adapter over TlsTransport's tls::TlsConnection, one over Tls13Transport's
// Tls13Records. read() opens exactly one record.
class VisionTls {
 public:
  virtual ~VisionTls() = default;
  virtual Status feed(Slice&& raw) noexcept = 0;
  virtual void feed_eof() noexcept = 0;
  // write seals |plain| (in place where the record layer can).
  virtual Status write(Chain&& plain) noexcept = 0;
  virtual Status send_close_notify() noexcept = 0;
  virtual bool has_output() const noexcept = 0;
  virtual Chain take_output() noexcept = 0;
  virtual Result<Slice> read() noexcept = 0;
  virtual std::string failure_reason() const = 0;
  virtual Chain take_pending_plaintext() noexcept = 0;
  virtual Chain take_raw_unconsumed() noexcept = 0;
  // close closes the detached transport object (completes at once).
  virtual void close() noexcept = 0;
};

class VisionStream final : public ForwardingTransport {
 public:
  enum class Role { client, server };
  // create detaches |tls| (handshake done, nothing queued, reading
  // stopped). |first| (client role) is the encoded request header, sent at
  // once with an empty padding block; (server role) the encoded response
  // header, sent in front of the first block. |received| (server role) is
  // plaintext already read after the request header: it is read first.
  static Result<std::unique_ptr<VisionStream>> create(Engine& e, std::unique_ptr<TlsTransport> tls,
                                                      Role role, const vless::UserId& id,
                                                      Slice&& first, Chain&& received,
                                                      std::shared_ptr<VisionCounters> counters);
  // The same over sluice's own TLS 1.3 engine (the utls client).
  static Result<std::unique_ptr<VisionStream>> create(Engine& e,
                                                      std::unique_ptr<Tls13Transport> tls,
                                                      Role role, const vless::UserId& id,
                                                      Slice&& first, Chain&& received,
                                                      std::shared_ptr<VisionCounters> counters);

  bool direct_read() const noexcept { return read_raw_; }
  bool direct_write() const noexcept { return write_raw_; }
  // splice_read_fd / splice_write_fd: once that direction switched to
  // direct copy and nothing of it is held here, the TCP socket's descriptor
  // (net::TcpTransport::splice_read_fd / splice_write_fd), so a Relay may
  // move that direction's bytes with splice(2); -1 otherwise.
  int splice_read_fd() const noexcept;
  int splice_write_fd(bool queued_ok) const noexcept;

  // The TCP connection under the TLS layer is the ForwardingTransport's
  // inner transport: watermarks, stats and close go to it unchanged.
  using Transport::write;
  Status write(Chain&& data) noexcept override;
  void read_start() noexcept override;
  void read_stop() noexcept override;
  Status unread(Chain&& data) noexcept override;
  Status shutdown() noexcept override;

 private:
  VisionStream(Engine& e, std::unique_ptr<VisionTls> tls, Role role, const vless::UserId& id,
               std::shared_ptr<VisionCounters> counters) noexcept;

  // take_over builds the stream on a detached record layer.
  static Result<std::unique_ptr<VisionStream>> take_over(Engine& e, std::unique_ptr<VisionTls> tls,
                                                         std::unique_ptr<Transport> inner,
                                                         Chain&& plaintext, Chain&& raw, Role role,
                                                         const vless::UserId& id, Slice&& first,
                                                         Chain&& received,
                                                         std::shared_ptr<VisionCounters> counters);
  Status start(Slice&& first, Chain&& received, Chain&& plaintext, Chain&& raw) noexcept;

  void on_closing() noexcept override;
  // TCP events (errors as ForwardingTransport's)
  void on_data(Slice&& data) override;
  void on_eof() override;

  Status send_tls(Chain&& plain) noexcept;  // encrypt and write to TCP
  Status send(Chain&& bytes) noexcept;      // through TLS or raw, per direction
  // pad_and_send pads |data| (after held_); |final|: hold nothing back.
  Status pad_and_send(Chain&& data, bool final) noexcept;
  void pump() noexcept;                   // deliver what can be delivered
  bool read_records() noexcept;           // false after a failure
  void on_plaintext(Slice&& s) noexcept;  // one record's plaintext (or raw, after direct)
  void switch_read_to_direct() noexcept;
  void fail(Errc e, const char* why) noexcept;
  void pump_loop() noexcept;         // pump's reading part
  void pump_eof() noexcept;          // pump's end-of-stream part
  void deliver(Slice&& s) noexcept;  // up to the handler, or into batch_
  void flush_batch() noexcept;       // batch_'s bytes to the handler now

  Engine& engine_;
  std::unique_ptr<VisionTls> conn_;  // the detached TLS record layer
  Role role_;
  vless::TrafficState state_;
  vless::VisionWriter writer_;
  vless::VisionReader reader_;
  std::shared_ptr<VisionCounters> counters_;
  Slice prefix_;   // server: response header not yet sent
  Chain pending_;  // plaintext read before the stream took over (server), delivered first
  Chain held_;     // start of an inner TLS record whose rest has not been written yet
  // client: the response header as received so far
  std::array<uint8_t, 2 + 255> resp_{};
  size_t resp_len_ = 0;
  bool response_done_ = false;
  bool reading_ = false;
  bool in_pump_ = false;
  bool tls_eof_ = false;  // TLS reported close_notify to pump
  // batch_: while pump() runs for a handler that takes chains, the
  // plaintext it produces, handed up in one on_data_chain at the end (one
  // relay write per read instead of one per TLS record).
  Chain* batch_ = nullptr;
  bool tcp_eof_ = false;  // TCP ended (fed to TLS while reading it)
  bool eof_delivered_ = false;
  bool read_raw_ = false;   // receive direction switched to direct
  bool write_raw_ = false;  // send direction switched to direct
  bool switch_write_next_ = false;
};

}  // namespace sluice
