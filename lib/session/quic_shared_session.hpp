// quic_shared_session.hpp: QuicSharedSession, the base of the outbounds
// that carry every flow of a Session over one QUIC connection (Hysteria v1
// and v2).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// One QUIC connection per Session, opened on first use and shared by all
// flows. The base owns the connection's life: connect() dials (QuicDial)
// with the options the protocol fills in (configure_dial), hands the new
// connection to the protocol's handshake (on_connected), which ends in
// handshake_done() or handshake_failed(); a handshake deadline
// (start_handshake_deadline) bounds it. Opens made while the connection is
// dialed or shaking hands, or while the server's stream limit holds them,
// wait (StreamOpen); once ready each open writes the protocol's request on
// its own bidirectional stream, reads the response and hands the stream
// over.
//
// Reconnect: when the connection ends its streams and flows fail with the
// reason ("connection lost: ..."); the next open dials again. Consecutive
// failed attempts (a dial, a refused or timed-out handshake, a connection
// closed before it was ready) back off: the next attempt waits 0.5 s,
// doubling up to 16 s, and opens made meanwhile wait for it.
//
// Errors reach the handlers with the prefix given at construction
// ("hysteria server host:port: ") and a specific reason.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/timer.hpp"
#include "quic/quic_dial.hpp"
#include "quic/quic_tls.hpp"
#include "session/client_connect.hpp"
#include "sluice/config.hpp"
#include "sluice/session.hpp"

namespace sluice {

// quic_client_tls converts an outbound's "tls" section into QUIC client
// options: server_name (default |server|), alpn (default |default_alpn|),
// verification, CA, pins and ECH; config_invalid or config_io with |why|
// for a section it cannot use.
Result<quic::QuicTlsOptions> quic_client_tls(const TlsClientOptions& t, const std::string& server,
                                             std::string_view default_alpn, std::string* why);

struct QuicSessionStats {
  uint64_t dials = 0;
  uint64_t dial_failures = 0;
  uint64_t auth_failures = 0;
  uint64_t connections = 0;  // connections that completed the protocol's handshake
  uint64_t streams = 0;      // TCP streams handed out
  uint64_t udp_flows = 0;
  uint64_t send_bps = 0;  // Brutal's rate on the current connection (0: BBR, or none yet)
};

class QuicSharedSession : public Session,
                          private quic::QuicDialHandler,
                          protected quic::ConnectionHandler {
 public:
  ~QuicSharedSession() override;

  void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept final;
  void cancel_open(OpenHandler* h) noexcept final;
  void close(CloseCallback cb, void* user) noexcept final;

  bool ready() const noexcept { return state_ == State::ready; }
  // connection: the current connection (nullptr when none).
  quic::Connection* connection() const noexcept { return conn_; }
  const QuicSessionStats& stats() const noexcept { return stats_; }
  // hops: port hops of every connection so far (port hopping).
  uint64_t hops() const noexcept { return past_hops_ + (ep_ ? ep_->hops() : 0); }

  // StreamOpen: one open_stream. start() opens a bidirectional stream and
  // writes the protocol's request; the response is read, and the stream
  // (with any bytes after the response pushed back into it) answers the
  // open.
  class StreamOpen : public PendingOpen, private TransportHandler {
   public:
    explicit StreamOpen(QuicSharedSession& s) noexcept : s_(s) {}
    ~StreamOpen() override;  // cancelled or answered: leaves the wait, drops the stream

    // start: false while the server's stream limit holds it back (it stays
    // waiting); an error answers it.
    bool start(quic::Connection& c) noexcept;
    // answer removes this open from the Session and tells its handler.
    void answer(Result<std::unique_ptr<Stream>> r, const std::string& why) noexcept;

   protected:
    // Response: what read_response made of the bytes so far.
    struct Response {
      enum class Kind : uint8_t { need_more, ok, malformed, refused } kind = Kind::need_more;
      size_t consumed = 0;           // ok: the response's length
      Errc error = Errc::malformed;  // malformed
      std::string why;               // malformed, refused: the reason for the handler

      static Response ok(size_t consumed) noexcept;
      static Response malformed(Errc e, const char* why) noexcept;
      // refused: "the server could not connect: <message>".
      static Response refused(std::string_view message) noexcept;
    };
    // write_request writes the protocol's request to |s|; on failure *why
    // names what failed.
    virtual Status write_request(quic::QuicStream& s, BufferPool& pool,
                                 const char** why) noexcept = 0;
    // read_response parses the response from |in| (not consumed).
    virtual Response read_response(Chain& in, BufferPool& pool) noexcept = 0;

   private:
    void on_data(Slice&& d) override;
    void on_eof() override;
    void on_error(Errc e) override;

    QuicSharedSession& s_;
    std::unique_ptr<quic::QuicStream> stream_;
    Chain in_;  // response bytes so far
  };

 protected:
  enum class State : uint8_t { idle, dialing, handshake, ready };

  // |prefix| starts every reason ("hysteria server host:port: ").
  QuicSharedSession(Engine& e, std::string tag, std::string prefix, std::string server,
                    uint16_t server_port, uint64_t handshake_timeout_ms,
                    std::shared_ptr<quic::QuicTlsContext> tls);

  // --- the protocol's part ---
  // new_open makes the open for host:port: invalid_argument for a target
  // the protocol cannot carry, no_memory.
  virtual Result<std::unique_ptr<StreamOpen>> new_open(std::string_view host,
                                                       uint16_t port) noexcept = 0;
  // configure_dial fills in the connection options (windows, congestion
  // control, obfuscation); an error fails the waiting opens with *why.
  virtual Status configure_dial(quic::QuicDialOptions& d, std::string* why) noexcept = 0;
  // on_connected starts the handshake on conn_ (state handshake); it ends
  // in handshake_done() or handshake_failed() (or the connection closing).
  virtual void on_connected(quic::QuicDialed& r) noexcept = 0;
  // on_handshake_timeout: the deadline passed in state handshake.
  virtual void on_handshake_timeout() noexcept = 0;
  // connection_gone drops the protocol's state of the ended connection;
  // it may change the error and the reason's beginning (|why|).
  virtual void connection_gone(State was, uint64_t app_error, Errc& err, std::string& why) noexcept;
  // has_flows: UDP flows that want a connection (for the backoff's end).
  virtual bool has_flows() const noexcept = 0;
  // fail_flows: every flow fails (its handler hears e once).
  virtual void fail_flows(Errc e) noexcept = 0;
  // on_ready: the connection just became ready (after the waiting opens
  // started): the flows may go.
  virtual void on_ready() noexcept {}
  // on_closing: close() began; the protocol drops its connection state.
  virtual void on_closing() noexcept {}

  // --- for the protocol ---
  // connect starts a dial unless one runs, the connection is up, or the
  // backoff holds it (then its timer does).
  void connect() noexcept;
  void start_handshake_deadline() noexcept;
  // handshake_done: the connection is ready; waiting opens start.
  void handshake_done() noexcept;
  // handshake_failed: the waiting opens and the flows fail with |e| and
  // |why|, the next attempt backs off, and the connection is closed with
  // application error |code| and |reason|.
  void handshake_failed(Errc e, const std::string& why, uint64_t code,
                        std::string_view reason) noexcept;
  void fail_waiting(Errc e, const std::string& why) noexcept;
  void start_waiting() noexcept;
  const std::string& prefix() const noexcept { return prefix_; }
  State state() const noexcept { return state_; }

  quic::Connection* conn_ = nullptr;
  QuicSessionStats stats_;

 private:
  void lost(Errc e, const std::string& why) noexcept;  // the connection is gone
  void note_failure() noexcept;                        // one more failed attempt: back off
  void retire_endpoint() noexcept;
  void close_endpoint(quic::Endpoint* ep) noexcept;
  void maybe_closed() noexcept;
  // release_waiting frees waiting_'s array once it is empty and larger than
  // kKeptWaiting: a burst of opens over the stream limit does not keep it.
  void release_waiting() noexcept;
  static constexpr size_t kKeptWaiting = 64;
  static void on_backoff(void* self);
  static void on_deadline(void* self);

  // QuicDialHandler
  void on_quic_dial(Result<quic::QuicDialed> r, const char* reason) override;
  // ConnectionHandler
  void on_streams_available(quic::Connection& c) override;
  void on_closed(quic::Connection& c, Errc e, uint64_t app_error, const char* reason) override;

  std::string prefix_;
  std::string server_;
  uint16_t server_port_;
  uint64_t handshake_timeout_ms_;
  std::shared_ptr<quic::QuicTlsContext> tls_;
  State state_ = State::idle;
  quic::QuicDial* dial_ = nullptr;
  std::unique_ptr<quic::Endpoint> ep_;
  uint64_t past_hops_ = 0;  // hops of the endpoints retired so far
  // waiting_ outlives pending_: destroying an open takes it out of waiting_.
  std::vector<StreamOpen*> waiting_;  // opens without a stream yet
  PendingOpens pending_;              // every open_stream not answered yet
  net::Timer backoff_;
  net::Timer deadline_;
  unsigned failures_ = 0;      // consecutive failed connection attempts
  uint64_t next_attempt_ = 0;  // Engine::now_ms before which no dial starts
  int retiring_ = 0;           // endpoints still closing
  bool close_done_ = false;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
};

}  // namespace sluice
