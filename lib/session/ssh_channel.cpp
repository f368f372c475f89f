// ssh_channel.cpp: a direct-tcpip channel as a Stream.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/ssh_channel.hpp"

#include <algorithm>
#include <cstring>

#include "session/ssh_session.hpp"

namespace sluice {

SshChannel::SshChannel(SshSession& s, std::string target)
    : session_(&s),
      engine_(s.loop_engine()),
      target_(std::move(target)),
      kick_(s.loop_engine()),
      rx_high_(s.options().read_queue_high),
      window_(s.options().read_window) {}

SshChannel::~SshChannel() {
  release_raw(true);
  if (session_) session_->forget(this);
}

bool SshChannel::init() noexcept {
  ch_ = ssh_channel_new(session_->raw());
  if (ch_ == nullptr) return false;
  cbs_ = {};
  cbs_.userdata = this;
  cbs_.channel_data_function = &SshChannel::on_data_cb;
  cbs_.channel_eof_function = &SshChannel::on_eof_cb;
  cbs_.channel_close_function = &SshChannel::on_close_cb;
  ssh_callbacks_init(&cbs_);
  if (ssh_set_channel_callbacks(ch_, &cbs_) != SSH_OK) {
    ssh_channel_free(ch_);
    ch_ = nullptr;
    return false;
  }
  return true;
}

void SshChannel::release_raw(bool close_it) noexcept {
  if (ch_ == nullptr) return;
  ssh_remove_channel_callbacks(ch_, &cbs_);
  if (close_it && session_ != nullptr) {
    // free sends CLOSE if still needed and releases the channel once the
    // server's CLOSE arrives (or with the session).
    if (ssh_channel_is_open(ch_)) ssh_channel_close(ch_);
    ssh_channel_free(ch_);
    session_->after_call();
  }
  ch_ = nullptr;
}

void SshChannel::opened() noexcept {
  since_grow_ = window_;  // the initial window is libssh's 64000 bytes
  maybe_grow();
}

// The data callback: runs inside libssh. Copy what the read queue may hold.
int SshChannel::on_data_cb(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr,
                           void* user) {
  auto* c = static_cast<SshChannel*>(user);
  if (is_stderr) return static_cast<int>(len);  // direct-tcpip has no extended data
  const size_t n = c->take(static_cast<const uint8_t*>(data), len);
  if (n < len) c->held_ = true;
  return static_cast<int>(n);
}

size_t SshChannel::take(const uint8_t* p, size_t n) noexcept {
  if (closer_.closing()) return n;  // nobody reads any more: drop
  size_t room = n;
  if (!accept_all_) {
    const size_t queued = rx_.size() + fill_.size();
    room = queued >= rx_high_ ? 0 : std::min(n, rx_high_ - queued);
  }
  size_t done = 0;
  BufferPool& pool = engine_.pool();
  while (done < room) {
    if (fill_.empty() || fill_.tailroom() == 0 || !fill_.unique()) {
      if (!fill_.empty()) (void)rx_.push_back(std::move(fill_));
      auto s = pool.get(kClassPayload[2]);
      if (!s) break;  // libssh keeps the rest
      fill_ = std::move(*s);
    }
    const size_t k = std::min(room - done, fill_.tailroom());
    std::memcpy(fill_.append(k), p + done, k);
    done += k;
  }
  since_grow_ += done;
  if (done > 0) mark();
  return done;
}

void SshChannel::on_eof_cb(ssh_session, ssh_channel, void* user) {
  auto* c = static_cast<SshChannel*>(user);
  c->remote_eof_ = true;
  c->mark();
}

void SshChannel::on_close_cb(ssh_session, ssh_channel, void* user) {
  auto* c = static_cast<SshChannel*>(user);
  c->remote_eof_ = true;
  c->remote_closed_ = true;
  c->mark();
}

void SshChannel::mark() noexcept {
  if (session_ == nullptr || closer_.closing()) return;
  if (!marked_) {
    marked_ = true;
    session_->mark(this);
  }
  if (!session_->pumping()) kick();  // no after-pump step follows
}

void SshChannel::kick() noexcept {
  if (!kick_.armed() && !closer_.closing()) kick_.start(0, &SshChannel::on_kick, this);
}

void SshChannel::on_kick(void* self) { static_cast<SshChannel*>(self)->service(); }

void SshChannel::service() noexcept {
  if (closer_.closing()) return;
  flush_tx();
  pull_held();
  maybe_grow();
  deliver();
}

Status SshChannel::write(Chain&& data) noexcept {
  if (failed_) return error_;
  if (closer_.closing() || shutdown_wanted_) return Errc::closed;
  if (remote_closed_) {
    fail(Errc::connection_reset, "the ssh server closed the channel to " + target_);
    return error_;
  }
  if (data.empty()) return {};
  Status st = tx_.append(std::move(data));
  if (!st) return st;
  flush_tx(true);
  if (!failed_ && !above_high_ && tx_.size() > high_) {
    above_high_ = true;
    if (handler_) handler_->on_write_high();
  }
  return failed_ ? Status(error_) : Status();
}

void SshChannel::flush_tx(bool hold_tail) noexcept {
  if (ch_ == nullptr || session_ == nullptr || failed_) return;
  const size_t before = tx_.size();
  bool wrote = false;
  while (!tx_.empty() && !session_->write_blocked()) {
    const uint32_t win = ssh_channel_window_size(ch_);
    if (win == 0) break;  // re-checked after every pump
    // A 64 KiB slice is two full packets and a 20-byte one, and every packet
    // costs libssh a gcry_randomize call for its padding (docs/protocols/ssh.md)
    // besides the framing. Such a short tail is kept back and moved into the
    // headroom of the slice after it, to go out in a full packet. When
    // write() brought the last slice, the tail waits for the next write of
    // the same loop turn (a relay reading a busy socket makes several); the
    // zero-delay kick sends it otherwise.
    if (tx_.count() > 1 && tx_.front().size() <= kHeadroom) {
      const Slice& next = tx_[1];
      if (next.unique() && next.headroom() >= tx_.front().size()) {
        Slice rest = tx_.pop_front();
        Slice merged = tx_.pop_front();
        std::memcpy(merged.prepend(rest.size()), rest.data(), rest.size());
        (void)tx_.push_front(std::move(merged));  // a slot was just freed: cannot fail
      }
    }
    const Slice& s = tx_.front();
    uint32_t n = static_cast<uint32_t>(std::min<size_t>(s.size(), win));
    bool keep_tail = false;
    if (n == s.size() && n > kPacketPayload && (hold_tail || tx_.count() > 1)) {
      const size_t tail = n % kPacketPayload;
      if (tail > 0 && tail <= kHeadroom) {
        n -= static_cast<uint32_t>(tail);
        keep_tail = true;
      }
    }
    const int w = ssh_channel_write(ch_, s.data(), n);
    wrote = true;
    if (w < 0) {
      fail(Errc::connection_reset, std::string("ssh channel to ") + target_ +
                                       ": write failed: " + ssh_get_error(session_->raw()));
      break;
    }
    tx_.advance(static_cast<size_t>(w));
    stats_.bytes_written += static_cast<size_t>(w);
    session_->note_written(static_cast<size_t>(w));
    if (static_cast<uint32_t>(w) < n) break;
    if (keep_tail && tx_.count() == 1) {
      kick();  // sends the tail unless a write brings more first
      break;
    }
    // Stop handing libssh more once it holds kOutBudget the socket did not take.
    session_->after_call();
    if (session_ == nullptr || ch_ == nullptr) break;
  }
  if (wrote && session_) session_->after_call();
  if (failed_) return;
  // Bytes wait for the server's window (no callback tells when it reopens in
  // libssh 0.10) or for the socket: look again after the next pump.
  if (!tx_.empty() && session_ != nullptr && !marked_) {
    marked_ = true;
    session_->mark(this);
  }
  if (shutdown_wanted_ && tx_.empty() && !eof_sent_ && ch_ != nullptr) {
    eof_sent_ = true;
    // SSH_AGAIN only says the packet waits in libssh's output buffer.
    if (ssh_channel_send_eof(ch_) == SSH_ERROR) {
      fail(Errc::connection_reset, std::string("ssh channel to ") + target_ +
                                       ": sending EOF failed: " + ssh_get_error(session_->raw()));
      return;
    }
    session_->after_call();
  }
  if (before > 0 && tx_.empty()) drained_pending_ = true;
  if (above_high_ && tx_.size() <= low_) {
    above_high_ = false;
    if (handler_ && !delivering_) {
      handler_->on_write_low();
    } else {
      write_low_pending_ = true;  // deliver() tells the handler
      kick();
    }
  }
  if (drained_pending_ && !delivering_) {
    drained_pending_ = false;
    if (handler_) handler_->on_drained();
  }
}

void SshChannel::pull_held() noexcept {
  if (!held_ || ch_ == nullptr || !reading_ || failed_) return;
  BufferPool& pool = engine_.pool();
  while (held_ && rx_.size() + fill_.size() < rx_high_) {
    const int avail = ssh_channel_poll(ch_, 0);
    if (avail <= 0) {
      held_ = false;  // drained (or EOF / error, which the callbacks report)
      break;
    }
    if (!fill_.empty()) (void)rx_.push_back(std::move(fill_));
    auto s = pool.get(kClassPayload[2]);
    if (!s) break;
    const uint32_t want = static_cast<uint32_t>(
        std::min<size_t>({static_cast<size_t>(avail), s->tailroom(), rx_high_ - rx_.size()}));
    // count <= buffered: libssh copies from its buffer without waiting.
    const int r = ssh_channel_read_nonblocking(ch_, s->append(0), want, 0);
    if (r <= 0) break;
    s->append(static_cast<size_t>(r));
    since_grow_ += static_cast<size_t>(r);
    (void)rx_.push_back(std::move(*s));
  }
  session_->after_call();
}

void SshChannel::maybe_grow() noexcept {
  // Top the window up to window_ once half of it was used, only while the
  // read queue is low and libssh holds nothing of ours.
  if (ch_ == nullptr || session_ == nullptr || failed_ || held_ || remote_eof_) return;
  if (since_grow_ < window_ / 2 || rx_.size() + fill_.size() > rx_high_ / 2) return;
  if (!ssh_channel_is_open(ch_) || session_->scratch() == nullptr) return;
  accept_all_ = true;
  // The count makes libssh raise the window to window_ (channels.c
  // grow_window); with the callback taking everything nothing is left to
  // copy into the scratch buffer, which is window_ bytes should it be.
  const int r = ssh_channel_read_timeout(ch_, session_->scratch(), window_, 0, 0);
  accept_all_ = false;
  since_grow_ = 0;
  if (r > 0) {
    // Bytes the callback did not take (pool exhausted): keep them in order.
    accept_all_ = true;
    const size_t kept = take(session_->scratch(), static_cast<size_t>(r));
    accept_all_ = false;
    if (kept < static_cast<size_t>(r)) {
      fail(Errc::no_memory, "ssh channel to " + target_ + ": buffer pool exhausted");
    }
  }
  session_->after_call();
}

void SshChannel::deliver() noexcept {
  if (delivering_ || closer_.closing()) return;
  delivering_ = true;
  if (!fill_.empty() && reading_) (void)rx_.push_back(std::move(fill_));
  while (reading_ && handler_ && !rx_.empty() && !closer_.closing()) {
    Slice s = rx_.pop_front();
    stats_.bytes_read += s.size();
    handler_->on_data(std::move(s));
    if (rx_.empty() && !fill_.empty() && reading_) (void)rx_.push_back(std::move(fill_));
  }
  if (closer_.closing()) {
    delivering_ = false;
    return;
  }
  if (held_ && reading_ && rx_.empty()) {
    delivering_ = false;
    pull_held();
    maybe_grow();
    if (!rx_.empty()) kick();
    delivering_ = true;
  } else if (rx_.empty() && fill_.empty()) {
    maybe_grow();
  }
  if (!failed_ && handler_ && write_low_pending_) {
    write_low_pending_ = false;
    if (!above_high_) handler_->on_write_low();
  }
  if (!closer_.closing() && !failed_ && above_high_ == false && handler_ && drained_pending_) {
    drained_pending_ = false;
    handler_->on_drained();
  }
  if (!closer_.closing() && !failed_ && reading_ && handler_ && rx_.empty() && fill_.empty() &&
      !held_ && remote_eof_ && !eof_delivered_) {
    eof_delivered_ = true;
    handler_->on_eof();
  }
  if (!closer_.closing() && !failed_ && remote_closed_ && !tx_.empty()) {
    fail(Errc::connection_reset, "the ssh server closed the channel to " + target_ + " with " +
                                     std::to_string(tx_.size()) + " bytes unsent");
  }
  if (!closer_.closing() && failed_ && !error_delivered_ && handler_) {
    error_delivered_ = true;
    handler_->on_error(error_);
  }
  delivering_ = false;
}

void SshChannel::fail(Errc e, std::string why) noexcept {
  if (failed_) return;
  failed_ = true;
  error_ = e;
  reason_ = std::move(why);
  kick();
}

void SshChannel::conn_lost(Errc e, const std::string& why) noexcept {
  release_raw(false);  // the session frees every libssh channel with itself
  session_ = nullptr;
  held_ = false;
  if (!eof_delivered_ || !tx_.empty() || !eof_sent_) fail(e, why);
  // A stream done both ways has nothing to lose; the relay closes it.
}

void SshChannel::read_start() noexcept {
  if (reading_) return;
  reading_ = true;
  kick();
}

Status SshChannel::unread(Chain&& data) noexcept {
  if (data.empty()) return {};
  if (!fill_.empty()) (void)rx_.push_back(std::move(fill_));
  Status st = data.append(std::move(rx_));
  if (!st) return st;
  rx_ = std::move(data);
  kick();
  return {};
}

Status SshChannel::shutdown() noexcept {
  if (failed_) return error_;
  if (closer_.closing()) return Errc::closed;
  if (shutdown_wanted_) return {};
  shutdown_wanted_ = true;
  if (session_ == nullptr) return {};
  flush_tx();
  return failed_ ? Status(error_) : Status();
}

void SshChannel::close(CloseCallback cb, void* user) noexcept {
  if (!closer_.begin(cb, user)) return;
  stats_.bytes_dropped_at_close = tx_.size();
  tx_.clear();
  rx_.clear();
  fill_.reset();
  kick_.stop();
  handler_ = nullptr;
  release_raw(true);
  if (session_) session_->forget(this);
  session_ = nullptr;
  closer_.arm(engine_);
}

}  // namespace sluice
