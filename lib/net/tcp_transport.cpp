// tcp_transport.cpp: TcpTransport over uv_tcp_t.
#include "net/tcp_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>

#include "core/check.hpp"
#include "net/uv_error.hpp"

namespace sluice {

Status Transport::write(Slice&& data) noexcept {
  Chain c;
  SLUICE_TRY(c.push_back(std::move(data)));
  return write(std::move(c));
}

void close_and_delete(Transport* t) noexcept {
  t->set_handler(nullptr);
  t->close([](void* u) { delete static_cast<Transport*>(u); }, t);
}

namespace net {

namespace {
constexpr size_t kMaxIovPerWrite = 4;  // libuv keeps 4 bufs inline in uv_write_t

std::string format_addr(const sockaddr_storage& ss) {
  char ip[INET6_ADDRSTRLEN] = {0};
  char out[INET6_ADDRSTRLEN + 10];
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    uv_ip4_name(a, ip, sizeof ip);
    std::snprintf(out, sizeof out, "%s:%u", ip, ntohs(a->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    uv_ip6_name(a, ip, sizeof ip);
    std::snprintf(out, sizeof out, "[%s]:%u", ip, ntohs(a->sin6_port));
  } else {
    return {};
  }
  return out;
}
}  // namespace

TcpTransport::TcpTransport(Engine& e) noexcept : engine_(e) {}

Result<std::unique_ptr<TcpTransport>> TcpTransport::create(Engine& e, int family, int* uv_status) {
  std::unique_ptr<TcpTransport> t(new (std::nothrow) TcpTransport(e));
  if (!t) return Errc::no_memory;
  int rc = family == AF_UNSPEC ? uv_tcp_init(e.loop(), &t->tcp_)
                               : uv_tcp_init_ex(e.loop(), &t->tcp_, static_cast<unsigned>(family));
  if (rc != 0) {
    // uv_tcp_init_ex failed after marking the handle but before registering
    // it with the loop (e.g. EMFILE from socket()): plain delete is safe.
    t->closer_.begin(nullptr, nullptr);
    if (uv_status) *uv_status = rc;
    return errc_from_uv(rc);
  }
  t->tcp_.data = t.get();
  return t;
}

TcpTransport::~TcpTransport() {
  // The owner must have waited for the close callback.
  SLUICE_CHECK(tcp_.type == 0 || uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_)) ||
               closer_.closing());
}

void TcpTransport::set_options(bool nodelay, unsigned keepalive_s) noexcept {
  if (nodelay) uv_tcp_nodelay(&tcp_, 1);
  if (keepalive_s) uv_tcp_keepalive(&tcp_, 1, keepalive_s);
}

void TcpTransport::set_failure(const char* reason) { reason_ = reason; }

int TcpTransport::splice_read_fd() const noexcept {
  if (failed_ || eof_ || closer_.closing() || !unread_.empty() || read_buf_.size() != 0) return -1;
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return -1;
  return fd;
}

int TcpTransport::splice_write_fd(bool queued_ok) const noexcept {
  if (failed_ || shutdown_wanted_ || closer_.closing()) return -1;
  if (!queued_ok && (writing_ || !queued_.empty())) return -1;
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return -1;
  return fd;
}

std::string TcpTransport::local_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return format_addr(ss);
}

std::string TcpTransport::peer_address() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return format_addr(ss);
}

void TcpTransport::set_write_watermarks(size_t low, size_t high) noexcept {
  low_ = std::min(low, high);
  high_ = high;
  after_drain();
}

void TcpTransport::fail(int uv_status, const char* what) noexcept {
  if (failed_ || closer_.closing()) return;
  failed_ = true;
  error_ = errc_from_uv(uv_status);
  reason_ = std::string(what) + ": " + uv_strerror(uv_status);
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  if (handler_) handler_->on_error(error_);
}

Status TcpTransport::write(Chain&& data) noexcept {
  if (closer_.closing() || shutdown_wanted_) return Errc::closed;
  if (failed_) return error_;
  if (data.empty()) return {};
  if (!writing_ && queued_.empty()) {
    // Fast path: write what the socket takes now, without a request.
    struct iovec iov[16];
    const size_t n = data.iovecs(iov, 16);
    int rc = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_),
                          reinterpret_cast<const uv_buf_t*>(iov), static_cast<unsigned>(n));
    if (rc > 0) {
      stats_.bytes_written += static_cast<uint64_t>(rc);
      data.advance(static_cast<size_t>(rc));
      if (data.empty()) return {};
    } else if (rc != UV_EAGAIN && rc != UV_ENOSYS) {
      fail(rc, "write");
      return error_;
    }
  }
  SLUICE_TRY(queued_.append_compact(std::move(data)));
  if (!writing_) start_write();
  if (!above_high_ && write_buffered() > high_) {
    above_high_ = true;
    if (handler_) handler_->on_write_high();
  }
  return failed_ ? Status{error_} : Status{};
}

void TcpTransport::start_write() noexcept {
  if (queued_.empty() || writing_ || failed_ || closer_.closing()) return;
  size_t moved = 0;
  while (!queued_.empty() && moved < kMaxIovPerWrite) {
    (void)inflight_.push_back(queued_.pop_front());  // slots exist: <= 4 inline
    ++moved;
  }
  struct iovec iov[kMaxIovPerWrite];
  const size_t n = inflight_.iovecs(iov, kMaxIovPerWrite);
  wreq_.data = this;
  int rc = uv_write(&wreq_, reinterpret_cast<uv_stream_t*>(&tcp_),
                    reinterpret_cast<const uv_buf_t*>(iov), static_cast<unsigned>(n), on_write);
  if (rc != 0) {
    fail(rc, "write");
    return;
  }
  writing_ = true;
}

void TcpTransport::on_write(uv_write_t* req, int status) {
  auto* t = static_cast<TcpTransport*>(req->data);
  t->writing_ = false;
  if (status == 0) t->stats_.bytes_written += t->inflight_.size();
  t->inflight_.clear();
  if (t->closer_.closing()) return;
  if (status != 0) {
    t->fail(status, "write");
    return;
  }
  t->start_write();
  t->after_drain();
  t->maybe_shutdown();
  if (!t->failed_ && !t->closer_.closing() && t->write_buffered() == 0 && t->handler_)
    t->handler_->on_drained();
}

void TcpTransport::after_drain() noexcept {
  if (above_high_ && write_buffered() <= low_) {
    above_high_ = false;
    if (handler_ && !closer_.closing()) handler_->on_write_low();
  }
}

Status TcpTransport::shutdown() noexcept {
  if (closer_.closing()) return Errc::closed;
  if (failed_) return error_;
  shutdown_wanted_ = true;
  maybe_shutdown();
  return failed_ ? Status{error_} : Status{};
}

void TcpTransport::maybe_shutdown() noexcept {
  if (!shutdown_wanted_ || shutdown_sent_ || writing_ || !queued_.empty() || failed_ ||
      closer_.closing())
    return;
  shutdown_sent_ = true;
  sreq_.data = this;
  int rc = uv_shutdown(&sreq_, reinterpret_cast<uv_stream_t*>(&tcp_), on_shutdown);
  if (rc != 0) fail(rc, "shutdown");
}

void TcpTransport::on_shutdown(uv_shutdown_t* req, int status) {
  auto* t = static_cast<TcpTransport*>(req->data);
  if (t->closer_.closing()) return;
  if (status != 0 && status != UV_ENOTCONN) t->fail(status, "shutdown");
}

void TcpTransport::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* t = static_cast<TcpTransport*>(h->data);
  if (t->read_buf_.chunk() == nullptr) {
    auto r = t->engine_.pool().get(t->big_reads_ ? SizeClass::k64K : SizeClass::k16K);
    if (!r) {
      *buf = uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS to on_read
      return;
    }
    t->read_buf_ = std::move(*r);
  }
  // The read may fill the payload but not the tailroom: that stays free for
  // an AEAD tag if a layer above seals in place.
  const size_t room = t->read_buf_.tailroom() - kTailroom;
  buf->base = reinterpret_cast<char*>(const_cast<uint8_t*>(t->read_buf_.chunk()->base()) +
                                      t->read_buf_.headroom());
  buf->len = room;
}

void TcpTransport::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* t = static_cast<TcpTransport*>(s->data);
  if (nread > 0) {
    Slice data = std::move(t->read_buf_);
    data.append(static_cast<size_t>(nread));
    t->big_reads_ = static_cast<size_t>(nread) == buf->len;
    t->stats_.bytes_read += static_cast<uint64_t>(nread);
    if (t->handler_) t->handler_->on_data(std::move(data));
    return;
  }
  if (nread == 0) return;  // EAGAIN: keep the buffer for the next read
  t->read_buf_.reset();
  if (nread == UV_EOF) {
    t->eof_ = true;
    uv_read_stop(s);
    if (t->handler_) {
      t->eof_delivered_ = true;
      t->handler_->on_eof();
    }
    return;
  }
  t->fail(static_cast<int>(nread), "read");
}

void TcpTransport::deliver_unread() noexcept {
  if (delivering_) return;
  delivering_ = true;
  while (reading_ && !closer_.closing() && !unread_.empty()) {
    Slice s = unread_.pop_front();
    if (handler_) handler_->on_data(std::move(s));
  }
  delivering_ = false;
}

void TcpTransport::read_start() noexcept {
  if (closer_.closing() || failed_) return;
  reading_ = true;
  deliver_unread();
  if (!reading_ || closer_.closing() || failed_) return;
  if (eof_) {
    // End-of-stream arrived before this handler took over: tell it now.
    if (handler_ && !eof_delivered_ && unread_.empty()) {
      eof_delivered_ = true;
      handler_->on_eof();
    }
    return;
  }
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read);
  if (rc != 0 && rc != UV_EALREADY) fail(rc, "read");
}

void TcpTransport::read_stop() noexcept {
  reading_ = false;
  if (!closer_.closing()) uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

Status TcpTransport::unread(Chain&& data) noexcept {
  if (closer_.closing()) return Errc::closed;
  // Pushed-back bytes go in front of anything still waiting.
  SLUICE_TRY(data.append(std::move(unread_)));
  unread_ = std::move(data);
  if (reading_) deliver_unread();
  return {};
}

void TcpTransport::reset_on_close() noexcept {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return;
  linger l{};
  l.l_onoff = 1;
  l.l_linger = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

void TcpTransport::close(CloseCallback cb, void* user) noexcept {
  if (!closer_.begin(cb, user)) return;
  handler_ = nullptr;
  stats_.bytes_dropped_at_close += write_buffered();
  read_buf_.reset();
  unread_.clear();
  queued_.clear();
  // inflight_ is released by on_write (called with UV_ECANCELED before on_close).
  closer_.hold();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) {
    auto* t = static_cast<TcpTransport*>(h->data);
    t->inflight_.clear();
    t->closer_.release();  // may delete t
  });
  closer_.arm(engine_);
}

}  // namespace net
}  // namespace sluice
