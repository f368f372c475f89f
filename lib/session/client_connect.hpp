// client_connect.hpp: ClientConnect, the one client connector: dial a
// proxy server (or a target) with a strategy, write the protocol's request,
// wrap the reply decoder, hand over the Stream; and PendingOpens, the one
// list of a Session's opens in flight, with cancel.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A ClientConnect is one connection attempt:
//   dial     DialTarget: TCP (net::Dial, Happy Eyeballs) or TLS (TlsDial:
//            ticket cache, ECH with its single retry; or, with tls.utls
//            set, Tls13Dial: sluice's own TLS 1.3 engine);
//   request  ConnectProtocol::request builds the first bytes (a lib/proto
//            request builder: Trojan's, VLESS's) — or none (direct);
//   reply    for protocols whose answer must be read before the stream is
//            theirs (SOCKS5, HTTP CONNECT: ConnectProtocol::reply_phase),
//            the request is written and the server's bytes are fed to
//            ConnectProtocol::on_reply (which may answer, as SOCKS5 auth
//            does) until it is done; bytes after the reply are pushed back
//            into the stream (unread);
//   wrap     ConnectProtocol::wrap makes the Stream from the dialed
//            transport and the request: by default the request is written
//            and the transport handed over as is (Trojan, direct); VLESS
//            wraps its response-header decoder (VlessStream), Vision takes
//            the request into its first padded write.
// ConnectProtocol::deadline_ms, when not 0, bounds the whole connect from
// start() (a net::Timer); the dials have their own timeouts too.
//
// The ConnectHandler hears exactly once, unless cancel() (or destruction)
// comes first, possibly before start() returns; the owner may delete the
// ClientConnect inside that call. The connector's own reasons (the dial's,
// the deadline's, an end or error during the reply) are prefixed with
// |what| ("trojan server example.com: ", "proxy "); a protocol's reasons
// (ReplyStep, wrap) stand as they are.
//
// PendingOpens owns a Session's pending open_stream calls: open() starts a
// ClientConnect for an OpenHandler, which hears on_open exactly once unless
// cancel(h) forgets it first; fail_all() answers every pending open (Engine
// stop: "engine stopping"); destroying the list cancels what is pending
// without calling back.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/tls_context.hpp"
#include "net/dialer.hpp"
#include "net/timer.hpp"
#include "session/reality_dial.hpp"
#include "sluice/stream.hpp"
#include "transport/tls13_transport.hpp"
#include "transport/tls_dial.hpp"

namespace sluice {

// DialTarget: where and how to dial.
struct DialTarget {
  enum class Strategy : uint8_t { tcp, tls };
  Strategy strategy = Strategy::tcp;
  std::string host;
  uint16_t port = 0;
  net::DialOptions tcp;                                  // strategy tcp
  std::shared_ptr<const tls::TlsClientContext> tls_ctx;  // strategy tls
  TlsDialOptions tls;                                    // strategy tls
};

// ConnectProtocol: what a protocol does with a dialed connection.
class ConnectProtocol {
 public:
  // ReplyStep: what the server's bytes so far mean (reply phase).
  struct ReplyStep {
    enum Kind : uint8_t { need_more, done, fail };
    Kind kind = need_more;
    Errc error = Errc::ok;
    std::string reason;  // fail: why, in words (empty: the error's message)
  };

  virtual ~ConnectProtocol() = default;
  // request builds the first bytes; an empty Slice: none. |why| on failure
  // (as the handler will read it; empty: "out of memory" or "bad request").
  virtual Result<Slice> request(BufferPool& pool, std::string* why) noexcept {
    (void)pool;
    (void)why;
    return Slice{};
  }
  // reply_phase: the server's answer is read (on_reply) before wrap().
  virtual bool reply_phase() const noexcept { return false; }
  // on_reply: |in| holds what the server sent and was not consumed yet;
  // consume what was read (Chain::advance) and queue any answer in |out|.
  virtual ReplyStep on_reply(Chain& in, BufferPool& pool, Chain* out) noexcept {
    (void)in;
    (void)pool;
    (void)out;
    return {ReplyStep::done};
  }
  // deadline_ms: the whole connect's deadline from start (0: none).
  virtual uint64_t deadline_ms() const noexcept { return 0; }
  // wrap makes the Stream from |t| (reading stopped; a TlsTransport when
  // |tls|) and |request|; |why| says what failed. The default writes the
  // request (why: the transport's failure reason) and hands |t| over.
  virtual Result<std::unique_ptr<Transport>> wrap(std::unique_ptr<Transport> t, bool tls,
                                                  Slice&& request, std::string* why) noexcept;
};

class ConnectHandler {
 public:
  virtual ~ConnectHandler() = default;
  // on_connected: the Stream, or the error and its reason (borrowed).
  virtual void on_connected(Result<std::unique_ptr<Transport>> t, const char* reason) = 0;
};

class ClientConnect final : private net::DialHandler,
                            private TlsDialHandler,
                            private Tls13DialHandler,
                            private TransportHandler {
 public:
  ClientConnect() = default;
  ~ClientConnect() override;
  ClientConnect(const ClientConnect&) = delete;
  ClientConnect& operator=(const ClientConnect&) = delete;

  // start dials |to| and runs |p| (borrowed until the answer) for |h|.
  void start(Engine& e, const DialTarget& to, ConnectProtocol* p, ConnectHandler* h,
             std::string what) noexcept;
  // cancel stops the attempt; nothing is called back after.
  void cancel() noexcept;
  bool connecting() const noexcept {
    return tcp_dial_ != nullptr || tls_dial_ != nullptr || tls13_dial_ != nullptr ||
           reality_dial_ != nullptr || conn_ != nullptr;
  }

 private:
  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) override;
  void on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) override;
  void on_tls13_dial(Result<std::unique_ptr<Tls13Transport>> t, const char* reason) override;
  void dialed(std::unique_ptr<Transport> t, bool tls) noexcept;
  void failed(Errc e, const char* reason) noexcept;
  void hand_over(std::unique_ptr<Transport> t, Slice&& request) noexcept;
  // Reply phase: the server's bytes, end and errors while conn_ is read.
  void on_data(Slice&& data) override;
  void on_eof() override;
  void on_error(Errc e) override;
  static void on_deadline(void* self);

  Engine* engine_ = nullptr;
  ConnectProtocol* protocol_ = nullptr;
  ConnectHandler* handler_ = nullptr;
  std::string what_;
  net::Dial* tcp_dial_ = nullptr;
  TlsDial* tls_dial_ = nullptr;
  Tls13Dial* tls13_dial_ = nullptr;
  RealityDial* reality_dial_ = nullptr;  // answers through on_tls13_dial
  std::optional<net::Timer> deadline_;   // when the protocol has one
  std::unique_ptr<Transport> conn_;      // during the reply phase
  Chain in_;                             // reply bytes not consumed yet
  bool conn_tls_ = false;
  bool answered_ = false;
  // alive_ tells start() whether an early answer deleted this object.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// PendingOpen is one entry of a PendingOpens list.
class PendingOpen {
 public:
  virtual ~PendingOpen() = default;  // cancels what is in progress
  OpenHandler* handler = nullptr;
};

class PendingOpens {
 public:
  PendingOpens() = default;
  ~PendingOpens();
  PendingOpens(const PendingOpens&) = delete;
  PendingOpens& operator=(const PendingOpens&) = delete;

  // open connects for |h| with |p| (owned by the entry; nullptr: a plain
  // connection) and answers h->on_open once (possibly before open returns).
  void open(Engine& e, const DialTarget& to, std::unique_ptr<ConnectProtocol> p, OpenHandler* h,
            std::string what) noexcept;
  // add takes an entry whose work the caller started; it answers through
  // finish().
  PendingOpen* add(std::unique_ptr<PendingOpen> p) noexcept;
  // finish removes |p| and hands it back (nullptr if it was not here).
  std::unique_ptr<PendingOpen> finish(PendingOpen* p) noexcept;
  // cancel forgets |h|'s open; nothing is called back for it.
  void cancel(OpenHandler* h) noexcept;
  // fail_all answers every pending open with |e| and |reason|.
  void fail_all(Errc e, const char* reason) noexcept;
  // clear cancels everything pending without calling back.
  void clear() noexcept;
  size_t size() const noexcept { return entries_.size(); }
  bool contains(const PendingOpen* p) const noexcept;

 private:
  std::vector<std::unique_ptr<PendingOpen>> entries_;
};

}  // namespace sluice
