// ssh_session.hpp: SshSession, the `ssh` outbound: one SSH connection
// (libssh, non-blocking) shared by every Stream, each Stream a direct-tcpip
// channel (SshChannel).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Connection: opened on the first open_stream. sluice's dialer makes the TCP
// connection (Happy Eyeballs, connect_timeout); a dup of its socket is handed
// to libssh (SSH_OPTIONS_FD; libssh closes it) and the TCP transport is
// closed. One uv_poll_t on that socket and one net::Timer drive everything:
// readiness runs libssh (ssh_connect / ssh_userauth_* during the handshake,
// ssh_event_dopoll once ready), then the "after pump" step retries pending
// channel opens, moves data between channels and their Streams and re-arms
// the poll interest (UV_WRITABLE only while libssh has output queued,
// SSH_WRITE_PENDING). No thread, no blocking call: libssh's own timeouts do
// not apply in non-blocking mode, so the timer bounds the handshake
// (handshake_timeout_ms), each channel open (open_timeout_ms) and sends
// keepalive@openssh.com requests while the connection is quiet; with no
// byte from the server for keepalive_interval_ms × keepalive_max_missed the
// connection is declared dead. An idle connection (no channel, no open)
// closes after idle_timeout_ms.
//
// Failures: a handshake, host-key or authentication failure fails every
// waiting open with the specific reason; consecutive connect failures back
// off (backoff_min_ms doubling to backoff_max_ms), and opens asked for
// during the backoff fail at once with the last reason. A connection that
// dies fails every channel and pending open ("ssh connection to host:port
// lost: ..."); the next open_stream connects again at once. A network
// change the host reports drops the connection the same way (sing-box does
// too).
//
// libssh calls back (channel data, EOF, close) from inside its own calls;
// those callbacks only buffer and set flags. Streams hear their events from
// the after-pump step or their own zero-delay timer, never from inside a
// libssh call.
//
// Threads: the Engine's loop thread (a libssh session is single-threaded).
#pragma once

#include <libssh/libssh.h>

#include <memory>
#include <string>
#include <vector>

#include "net/dialer.hpp"
#include "net/host_hooks.hpp"
#include "net/timer.hpp"
#include "session/ssh_keys.hpp"
#include "sluice/session.hpp"

namespace sluice {

class SshChannel;

struct SshSessionOptions {
  std::string server;
  uint16_t server_port = 22;
  std::string user = "root";
  std::string password;
  SshKeyOptions keys;  // host/port are filled from server/server_port
  std::string client_version;
  // ciphers: SSH_OPTIONS_CIPHERS_C_S/S_C. "" = aes128-gcm@openssh.com first
  // where the CPU has AES-NI, else chacha20-poly1305@openssh.com first.
  std::string ciphers;
  net::DialOptions dial;
  uint64_t handshake_timeout_ms = 15000;   // key exchange + auth, after the TCP dial
  uint64_t open_timeout_ms = 10000;        // one channel open
  uint64_t keepalive_interval_ms = 15000;  // 0 = no keepalive
  uint32_t keepalive_max_missed = 3;
  uint64_t idle_timeout_ms = 300000;  // no channel: close the connection
  uint64_t backoff_min_ms = 1000;
  uint64_t backoff_max_ms = 30000;
  // read_window: the receive window each channel advertises (docs/protocols/ssh.md:
  // libssh's default tops out at 1.28 MB, which caps a channel's download at
  // window/RTT). 2 MiB is what OpenSSH grants per forwarded channel, so a
  // channel downloads as fast as through `ssh -L`. Per-channel memory is
  // bounded by it plus the Stream's read queue (read_queue_high): a stalled
  // reader holds at most that much per channel.
  uint32_t read_window = 2u << 20;
  size_t read_queue_high = 256 * 1024;
};

// SshSessionStats: counters for tests and benchmarks.
struct SshSessionStats {
  uint64_t connects = 0;          // handshakes completed
  uint64_t connect_failures = 0;  // dial, handshake or auth failures
  uint64_t connections_lost = 0;  // ready connections that died
  uint64_t keepalives_sent = 0;
  size_t channels = 0;  // live channels
  // out_unsent: payload handed to libssh that the socket has not taken
  // (the estimate SshSession::kOutBudget bounds).
  uint64_t out_unsent = 0;
  bool connected = false;
  std::string cipher_in, cipher_out;  // negotiated ("" when not connected)
};

class SshSession final : public Session,
                         private net::DialHandler,
                         private net::NetworkChangeListener {
 public:
  // create loads keys and pins (|why| names the field on failure).
  static Result<std::unique_ptr<SshSession>> create(Engine& e, std::string tag, SshSessionOptions o,
                                                    std::string* why);
  ~SshSession() override;

  const char* type() const noexcept override { return "ssh"; }
  void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept override;
  void cancel_open(OpenHandler* h) noexcept override;
  // close fails pending opens (Errc::canceled, "outbound closing" or
  // "engine stopping"), fails every live channel the same way, disconnects,
  // and calls |cb| once the poll handle has closed.
  void close(CloseCallback cb, void* user) noexcept override;

  SshSessionStats stats() const;
  const SshSessionOptions& options() const noexcept { return opts_; }

  // For SshChannel.
  ssh_session raw() const noexcept { return ssh_; }
  // write_blocked: libssh holds kOutBudget bytes or more that the socket did
  // not take; channels stop handing it more until the socket drains.
  bool write_blocked() const noexcept { return write_blocked_; }
  // note_written: |n| payload bytes went to ssh_channel_write (for the
  // estimate of what libssh still holds).
  void note_written(size_t n) noexcept { handed_ += n; }
  // kOutBudget bounds libssh's unbounded output buffer: the payload bytes
  // handed to it and not yet written to the socket (an estimate from below:
  // packet framing is not counted).
  static constexpr uint64_t kOutBudget = 256 * 1024;
  // after_call re-arms the poll interest after a libssh call made outside
  // the pump (a channel's write, EOF or close) and notices a dead session.
  void after_call() noexcept;
  void forget(SshChannel* c) noexcept;
  // mark: |c| has events or bytes waiting: service it after the pump (only
  // marked channels are, so idle channels cost nothing per packet).
  void mark(SshChannel* c) noexcept { marked_.push_back(c); }
  bool pumping() const noexcept { return pump_depth_ > 0; }
  uint8_t* scratch() noexcept;  // read_window bytes, for window growth
  Engine& loop_engine() noexcept { return engine(); }

  struct Open;
  struct PollBox;

 private:
  enum class State : uint8_t { idle, dialing, handshake, auth, ready };
  enum class AuthStep : uint8_t { none, key, password };

  SshSession(Engine& e, std::string tag, SshSessionOptions o, std::unique_ptr<SshKeys> k);

  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) override;
  // A changed network drops the connection (its path is gone; the next
  // open makes a new one at once); waking from sleep probes it with a
  // keepalive.
  void on_network_changed(unsigned flags) noexcept override;
  void start_connect() noexcept;
  Status setup_ssh(int fd, std::string* why) noexcept;
  void handshake_step() noexcept;
  void auth_step() noexcept;
  void became_ready() noexcept;
  void connect_failed(Errc e, const std::string& why) noexcept;
  void connection_lost(Errc e, const std::string& why) noexcept;
  void teardown(bool send_disconnect) noexcept;
  void start_open(Open& o) noexcept;
  void pump() noexcept;
  void after_pump() noexcept;
  void service_opens() noexcept;
  void deliver_opens() noexcept;
  void fail_opens(Errc e, const std::string& why) noexcept;
  void update_poll() noexcept;
  void close_poll() noexcept;
  void arm_timer() noexcept;
  bool check_alive() noexcept;
  bool socket_gone() const noexcept;
  static void on_poll(uv_poll_t* h, int status, int events);
  static void on_timer(void* self);
  static void on_flush(void* self);
  void tick() noexcept;
  std::string server_name() const;

  SshSessionOptions opts_;
  std::unique_ptr<SshKeys> keys_;
  State state_ = State::idle;
  net::Dial* dial_ = nullptr;
  ssh_session ssh_ = nullptr;
  ssh_event event_ = nullptr;
  PollBox* poll_ = nullptr;  // owns the uv_poll_t; deletes itself after uv_close
  int poll_events_ = 0;
  net::Timer timer_;
  uint64_t hs_deadline_ = 0;
  AuthStep auth_step_ = AuthStep::none;
  size_t auth_key_ = 0;
  int auth_methods_ = 0;
  std::string auth_rejected_;  // what the server refused so far, for the message
  bool write_blocked_ = false;
  // Output accounting: payload handed to libssh since out_base_ (the socket
  // byte count when libssh's output was last known to be empty).
  uint64_t handed_ = 0;
  uint64_t out_base_ = 0;
  net::Timer flush_;                 // settles libssh's "maybe pending" output flag (update_poll)
  uint64_t flush_out_ = UINT64_MAX;  // socket bytes written when flush_ last ran
  int pump_depth_ = 0;               // inside pump()/after_pump(): teardown waits
  bool dead_pending_ = false;
  Errc dead_error_ = Errc::ok;
  std::string dead_why_;
  // ssh_set_counters: bytes read from and written to the socket (progress,
  // liveness, output accounting), and SSH payload of whole packets.
  struct ssh_counter_struct sock_counter_ {};
  struct ssh_counter_struct raw_counter_ {};
  uint64_t last_rx_bytes_ = 0;
  uint64_t last_rx_ms_ = 0;  // when bytes last arrived
  uint64_t next_keepalive_ms_ = 0;
  uint64_t idle_since_ms_ = 0;
  uint32_t failures_ = 0;  // consecutive connect failures
  uint64_t backoff_until_ms_ = 0;
  Errc last_error_ = Errc::ok;
  std::string last_why_;
  std::vector<std::unique_ptr<Open>> opens_;            // waiting or opening
  std::vector<std::unique_ptr<Open>> answering_;        // answered in deliver_opens
  std::vector<std::unique_ptr<SshChannel>> abandoned_;  // canceled while opening
  std::vector<SshChannel*> channels_;                   // live Streams (owned by takers)
  std::vector<SshChannel*> marked_;                     // to service after the pump
  std::vector<SshChannel*> servicing_;                  // marked_ being serviced
  std::unique_ptr<uint8_t[]> scratch_;
  SshSessionStats stats_;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
  bool closing_ = false;
  bool warned_version_ = false;
};

}  // namespace sluice
