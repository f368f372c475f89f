// ssh_channel.hpp: SshChannel, one direct-tcpip channel of an SshSession as
// a Stream.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Receiving: libssh hands channel data to a callback from inside its own
// calls; the callback copies it into pool chunks (the read queue) while the
// queue is under read_queue_high, and otherwise consumes nothing, so the
// bytes stay in libssh's channel buffer and hold the SSH window shut: that is
// the backpressure towards the server. Each channel advertises a window of
// read_window bytes (topped up once half of it was used, and only while the
// read queue is low), instead of libssh's 1.28 MB ceiling, so one channel's
// download is not capped at ~1.28 MB per round trip. Memory per
// channel is therefore bounded by read_window + read_queue_high.
//
// Sending: write() queues Slices (write queue with the usual watermarks);
// they are handed to libssh (ssh_channel_write copies and encrypts them)
// only up to the server's remaining window, and not while libssh holds
// SshSession::kOutBudget bytes the socket did not take
// (SshSession::write_blocked), since libssh's output buffer itself has no
// bound. The server's window may reopen without any
// callback in libssh 0.10, so the session re-checks after every pump.
//
// Half-close: shutdown() sends CHANNEL_EOF once the queue has gone to
// libssh; the server's EOF arrives as on_eof once the data before it was
// delivered. The server closing the channel while bytes are still queued,
// or the connection dying, is on_error with the reason.
//
// Threads: the Engine's loop thread.
#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include <string>

#include "net/closer.hpp"
#include "net/timer.hpp"
#include "sluice/stream.hpp"

namespace sluice {

class SshSession;

class SshChannel final : public Stream {
 public:
  SshChannel(SshSession& s, std::string target);
  ~SshChannel() override;

  // Session side.
  // init creates the libssh channel with this object's callbacks.
  bool init() noexcept;
  ssh_channel raw() const noexcept { return ch_; }
  const std::string& target() const noexcept { return target_; }
  // opened: the server confirmed the channel; grow the window.
  void opened() noexcept;
  // service: after a pump: flush what the window allows, pull held data,
  // deliver events to the handler.
  void service() noexcept;
  // release_raw: forget the libssh channel (closing it if |close_it|);
  // used for abandoned opens and when the session goes.
  void release_raw(bool close_it) noexcept;
  // conn_lost: the connection died or the session closed: fail with |e|.
  void conn_lost(Errc e, const std::string& why) noexcept;
  // kick_if_pending: bytes wait for the session's socket: retry soon.
  void kick_if_pending() noexcept {
    if (!tx_.empty()) kick();
  }
  // unmark: the session took this channel off its list of channels to
  // service after the pump.
  void unmark() noexcept { marked_ = false; }

  // Transport.
  void set_handler(TransportHandler* h) noexcept override { handler_ = h; }
  Status write(Chain&& data) noexcept override;
  size_t write_buffered() const noexcept override { return tx_.size(); }
  void set_write_watermarks(size_t low, size_t high) noexcept override {
    low_ = low;
    high_ = high;
  }
  void read_start() noexcept override;
  void read_stop() noexcept override { reading_ = false; }
  Status unread(Chain&& data) noexcept override;
  Status shutdown() noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  const char* failure_reason() const noexcept override { return reason_.c_str(); }
  TransportStats stats() const noexcept override { return stats_; }

  using Transport::write;

 private:
  // kPacketPayload: the data a CHANNEL_DATA packet carries with a 32 KiB
  // maximum packet (what OpenSSH, Go and Dropbear advertise for forwarded
  // channels; libssh 0.10 does not expose the server's value), less the 10
  // bytes libssh keeps for headers. Only used to avoid short packets.
  static constexpr size_t kPacketPayload = 32768 - 10;

  static int on_data_cb(ssh_session s, ssh_channel c, void* data, uint32_t len, int is_stderr,
                        void* user);
  static void on_eof_cb(ssh_session s, ssh_channel c, void* user);
  static void on_close_cb(ssh_session s, ssh_channel c, void* user);
  static void on_kick(void* self);
  size_t take(const uint8_t* p, size_t n) noexcept;
  // flush_tx hands libssh what the window and the output budget allow;
  // |hold_tail| (from write()) may keep a short last tail for the next write.
  void flush_tx(bool hold_tail = false) noexcept;
  void pull_held() noexcept;
  void maybe_grow() noexcept;
  void deliver() noexcept;
  void fail(Errc e, std::string why) noexcept;
  void kick() noexcept;
  void mark() noexcept;

  SshSession* session_;  // null once the connection is gone
  Engine& engine_;
  std::string target_;  // "host:port", for messages
  ssh_channel ch_ = nullptr;
  struct ssh_channel_callbacks_struct cbs_ {};
  TransportHandler* handler_ = nullptr;
  net::Timer kick_;  // zero-delay delivery outside libssh calls
  Chain rx_;         // received, not yet delivered
  Slice fill_;       // chunk the data callback is filling
  Chain tx_;         // accepted by write(), not yet given to libssh
  size_t low_ = 128 * 1024;
  size_t high_ = 512 * 1024;
  size_t rx_high_;
  uint32_t window_;          // read_window
  uint64_t since_grow_ = 0;  // bytes received since the window was last set to window_
  bool accept_all_ = false;  // inside a window-growing read: the callback takes everything
  bool held_ = false;        // libssh holds data the callback refused
  bool reading_ = false;
  bool above_high_ = false;
  bool remote_eof_ = false;
  bool remote_closed_ = false;
  bool eof_delivered_ = false;
  bool shutdown_wanted_ = false;
  bool eof_sent_ = false;
  bool failed_ = false;
  bool error_delivered_ = false;
  bool delivering_ = false;
  bool drained_pending_ = false;
  bool write_low_pending_ = false;  // on_write_low owed from inside deliver()
  bool marked_ = false;             // on the session's list to service after the pump
  Errc error_ = Errc::ok;
  std::string reason_;
  net::Closer closer_;
  TransportStats stats_;
};

}  // namespace sluice
