// udp_socket.cpp: recvmmsg through libuv, GSO or sendmmsg on the fd.
#include "quic/udp_socket.hpp"

#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "net/uv_error.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h; glibc 2.36's netinet/udp.h has it
#endif

namespace sluice::quic {

namespace {
// libuv's slot size for recvmmsg (UV__UDP_DGRAM_MAXSIZE in 1.44).
constexpr size_t kSlot = 64 * 1024;

void raise_buffer(int fd, int opt_force, int opt, int size) {
  if (setsockopt(fd, SOL_SOCKET, opt_force, &size, sizeof size) == 0) return;
  setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);  // capped by rmem/wmem_max
}
}  // namespace

Result<std::unique_ptr<UdpSocket>> UdpSocket::create(uv_loop_t* loop, const sockaddr* bind_addr,
                                                     UdpSocketHandler* h, bool allow_gso) {
  std::unique_ptr<UdpSocket> s(new (std::nothrow) UdpSocket);
  if (!s) return Errc::no_memory;
  s->rbuf_.reset(new (std::nothrow) uint8_t[kSlot * kRecvBatch]);
  if (!s->rbuf_) return Errc::no_memory;
  s->handler_ = h;
  int rc = uv_udp_init_ex(loop, &s->udp_, bind_addr->sa_family | UV_UDP_RECVMMSG);
  if (rc != 0) return net::errc_from_uv(rc);
  s->udp_.data = s.get();
  auto fail = [&](int code) -> Errc {
    UdpSocket* raw = s.release();
    raw->close([](void* u) { delete static_cast<UdpSocket*>(u); }, raw);
    return net::errc_from_uv(code);
  };
  rc = uv_udp_bind(&s->udp_, bind_addr, 0);
  if (rc != 0) return fail(rc);
  uv_os_fd_t fd;
  uv_fileno(reinterpret_cast<uv_handle_t*>(&s->udp_), &fd);
  s->fd_ = fd;
  raise_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, kSocketBuffer);
  raise_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, kSocketBuffer);
  if (allow_gso) {
    // Probe: the kernel accepts a UDP_SEGMENT socket option only if it has
    // GSO for UDP; 0 clears it again (segment size comes per call).
    int seg = 1200;
    if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0) {
      seg = 0;
      setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
      s->gso_ = true;
    }
  }
  int len = sizeof s->local_;
  uv_udp_getsockname(&s->udp_, reinterpret_cast<sockaddr*>(&s->local_), &len);
  s->local_len_ = static_cast<socklen_t>(len);
  rc = uv_udp_recv_start(&s->udp_, on_alloc, on_recv);
  if (rc != 0) return fail(rc);
  return s;
}

UdpSocket::~UdpSocket() = default;

void UdpSocket::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* s = static_cast<UdpSocket*>(h->data);
  // One buffer for the whole batch; libuv gives it back (UV_UDP_MMSG_FREE)
  // before it asks again.
  s->rbuf_lent_ = true;
  *buf = uv_buf_init(reinterpret_cast<char*>(s->rbuf_.get()),
                     static_cast<unsigned>(kSlot * kRecvBatch));
}

void UdpSocket::on_recv(uv_udp_t* u, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned flags) {
  auto* s = static_cast<UdpSocket*>(u->data);
  if (s->closing_) return;
  if (flags & UV_UDP_MMSG_FREE) {
    s->rbuf_lent_ = false;
    if (s->batch_had_data_) {
      s->batch_had_data_ = false;
      s->stats_.recv_batches++;
      s->handler_->on_batch_end();
    }
    return;
  }
  if (nread < 0 || (nread == 0 && addr == nullptr)) {
    // Nothing more to read (EAGAIN) or a transient error (ICMP unreachable
    // surfaces as ECONNREFUSED on Linux): end the batch, keep receiving.
    if (s->batch_had_data_) {
      s->batch_had_data_ = false;
      s->stats_.recv_batches++;
      s->handler_->on_batch_end();
    }
    return;
  }
  if (addr == nullptr || (flags & UV_UDP_PARTIAL)) return;  // truncated: not a QUIC packet
  s->stats_.datagrams_received++;
  s->batch_had_data_ = true;
  s->handler_->on_datagram(addr, reinterpret_cast<const uint8_t*>(buf->base),
                           static_cast<size_t>(nread));
  if (!(flags & UV_UDP_MMSG_CHUNK) && !s->closing_) {
    // Not from recvmmsg (libuv fell back to recvmsg): one datagram per batch.
    s->batch_had_data_ = false;
    s->stats_.recv_batches++;
    s->handler_->on_batch_end();
  }
}

Status UdpSocket::would_block(size_t* sent, size_t n) noexcept {
  stats_.send_would_block++;
  if (sent) *sent = n;
  if (poll_active_) return Errc::would_block;
  if (!poll_init_) {
    // A second fd for the same socket: libuv keeps one watcher per fd and
    // the uv_udp_t already has fd_.
    poll_fd_ = ::dup(fd_);
    if (poll_fd_ < 0 || uv_poll_init(udp_.loop, &poll_, poll_fd_) != 0) {
      if (poll_fd_ >= 0) ::close(poll_fd_);
      poll_fd_ = -1;
      return Errc::would_block;  // the caller's timers retry instead
    }
    poll_.data = this;
    poll_init_ = true;
  }
  if (uv_poll_start(&poll_, UV_WRITABLE, on_poll) == 0) {
    poll_active_ = true;
    stats_.writable_waits++;
  }
  return Errc::would_block;
}

void UdpSocket::on_poll(uv_poll_t* p, int, int) {
  auto* s = static_cast<UdpSocket*>(p->data);
  uv_poll_stop(p);
  s->poll_active_ = false;
  if (!s->closing_) s->handler_->on_writable();
}

Status UdpSocket::send(const sockaddr* to, const uint8_t* data, size_t len, size_t segment,
                       size_t* sent) noexcept {
  if (closing_) return Errc::closed;
  if (sent) *sent = 0;
  if (inject_eagain_ > 0) {
    inject_eagain_--;
    return would_block(sent, 0);
  }
  const socklen_t tolen = sockaddr_len(to);
  if (segment == 0 || segment >= len || !gso_) {
    if (segment == 0 || segment >= len) segment = len;
    return send_mmsg(to, tolen, data, len, segment, sent);
  }
  iovec iov{const_cast<uint8_t*>(data), len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to);
  msg.msg_namelen = tolen;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  const uint16_t seg = static_cast<uint16_t>(segment);
  std::memcpy(CMSG_DATA(cm), &seg, sizeof seg);
  ssize_t n;
  do {
    n = ::sendmsg(fd_, &msg, 0);
  } while (n < 0 && errno == EINTR);
  stats_.send_calls++;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return would_block(sent, 0);
    if (errno == EIO || errno == EINVAL) {
      // The device cannot segment (e.g. checksum offload off): fall back for good.
      gso_ = false;
      return send_mmsg(to, tolen, data, len, segment, sent);
    }
    stats_.send_errors++;
    return Errc::io_error;
  }
  stats_.datagrams_sent += (len + segment - 1) / segment;
  if (sent) *sent = len;
  return {};
}

Status UdpSocket::send_mmsg(const sockaddr* to, socklen_t tolen, const uint8_t* data, size_t len,
                            size_t segment, size_t* sent_bytes) noexcept {
  mmsghdr msgs[kMaxGsoSegments];
  iovec iov[kMaxGsoSegments];
  size_t n = 0;
  for (size_t off = 0; off < len && n < kMaxGsoSegments; off += segment, ++n) {
    iov[n].iov_base = const_cast<uint8_t*>(data + off);
    iov[n].iov_len = std::min(segment, len - off);
    msgs[n] = {};
    msgs[n].msg_hdr.msg_name = const_cast<sockaddr*>(to);
    msgs[n].msg_hdr.msg_namelen = tolen;
    msgs[n].msg_hdr.msg_iov = &iov[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
  }
  size_t sent = 0;
  while (sent < n) {
    int r = ::sendmmsg(fd_, msgs + sent, static_cast<unsigned>(n - sent), 0);
    stats_.send_calls++;
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // What went out went out; the caller keeps the rest for on_writable.
        return would_block(sent_bytes, std::min(len, sent * segment));
      }
      stats_.send_errors++;
      return Errc::io_error;
    }
    sent += static_cast<size_t>(r);
    stats_.datagrams_sent += static_cast<uint64_t>(r);
  }
  if (sent_bytes) *sent_bytes = len;
  return {};
}

void UdpSocket::close(CloseCallback cb, void* user) noexcept {
  if (closing_) return;
  closing_ = true;
  close_cb_ = cb;
  close_user_ = user;
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&udp_))) uv_udp_recv_stop(&udp_);
  open_handles_ = poll_init_ ? 2 : 1;
  if (poll_init_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
      auto* s = static_cast<UdpSocket*>(h->data);
      ::close(s->poll_fd_);  // the poll handle no longer watches it
      s->poll_fd_ = -1;
      s->maybe_closed();
    });
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&udp_),
           [](uv_handle_t* h) { static_cast<UdpSocket*>(h->data)->maybe_closed(); });
}

void UdpSocket::maybe_closed() noexcept {
  if (--open_handles_ > 0) return;
  if (close_cb_) close_cb_(close_user_);
}

}  // namespace sluice::quic
