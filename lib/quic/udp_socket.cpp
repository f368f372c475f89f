// udp_socket.cpp: recvmmsg (with GRO where the kernel has it), GSO or sendmmsg, on the fd.
#include "quic/udp_socket.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "net/host_hooks.hpp"
#include "net/uv_error.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h; glibc 2.36's netinet/udp.h has it
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace sluice::quic {

namespace {
// One receive slot: the largest UDP payload (a GRO run is at most this too).
constexpr size_t kSlot = 64 * 1024;

void raise_buffer(int fd, int opt_force, int opt, int size) {
  if (setsockopt(fd, SOL_SOCKET, opt_force, &size, sizeof size) == 0) return;
  setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);  // capped by rmem/wmem_max
}
}  // namespace

Result<std::unique_ptr<UdpSocket>> UdpSocket::create(uv_loop_t* loop, const sockaddr* bind_addr,
                                                     UdpSocketHandler* h, bool allow_gso,
                                                     Engine* outbound) {
  std::unique_ptr<UdpSocket> s(new (std::nothrow) UdpSocket);
  if (!s) return Errc::no_memory;
  s->rbuf_.reset(new (std::nothrow) uint8_t[kSlot * kRecvBatch]);
  if (!s->rbuf_) return Errc::no_memory;
  s->handler_ = h;
  int rc = uv_udp_init_ex(loop, &s->udp_, bind_addr->sa_family);
  if (rc != 0) return net::errc_from_uv(rc);
  s->udp_.data = s.get();
  auto fail = [&](int code) -> Errc {
    UdpSocket* raw = s.release();
    raw->close([](void* u) { delete static_cast<UdpSocket*>(u); }, raw);
    return net::errc_from_uv(code);
  };
  if (outbound) {
    const Status hooked = net::socket_created(*outbound, reinterpret_cast<uv_handle_t*>(&s->udp_),
                                              net::SocketKind::quic, bind_addr->sa_family);
    if (!hooked) {
      (void)fail(0);
      return hooked.error();
    }
  }
  rc = uv_udp_bind(&s->udp_, bind_addr, 0);
  if (rc != 0) return fail(rc);
  uv_os_fd_t fd;
  uv_fileno(reinterpret_cast<uv_handle_t*>(&s->udp_), &fd);
  s->fd_ = fd;
  raise_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, kSocketBuffer);
  raise_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, kSocketBuffer);
  // RFC 9000 §14: QUIC datagrams are never fragmented (DF set). Without
  // this the kernel fragments a PMTUD probe larger than the link, the probe
  // arrives and "validates" a size the path cannot carry, and every later
  // full-sized GSO batch fails with EMSGSIZE: the connection stalls. PROBE,
  // not DO: QUIC runs its own PMTUD and ignores unauthenticated ICMP
  // (§14.2.1); an oversized datagram fails locally and counts as lost.
  int pmtud = IP_PMTUDISC_PROBE;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtud, sizeof pmtud);
  if (bind_addr->sa_family == AF_INET6) {
    pmtud = IPV6_PMTUDISC_PROBE;
    setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtud, sizeof pmtud);
  }
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
  // Receive runs of datagrams as one message (split again in receive()).
  int on = 1;
  s->gro_ = setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  int len = sizeof s->local_;
  uv_udp_getsockname(&s->udp_, reinterpret_cast<sockaddr*>(&s->local_), &len);
  s->local_len_ = static_cast<socklen_t>(len);
  // The uv_udp_t never reads: a poll on a second fd for the same socket
  // does (libuv keeps one watcher per fd).
  s->poll_fd_ = ::dup(fd);
  if (s->poll_fd_ < 0) return fail(uv_translate_sys_error(errno));
  rc = uv_poll_init(loop, &s->poll_, s->poll_fd_);
  if (rc != 0) {
    ::close(s->poll_fd_);
    s->poll_fd_ = -1;
    return fail(rc);
  }
  s->poll_.data = s.get();
  s->poll_init_ = true;
  rc = uv_poll_start(&s->poll_, UV_READABLE, on_poll);
  if (rc != 0) return fail(rc);
  return s;
}

UdpSocket::~UdpSocket() = default;

void UdpSocket::receive() noexcept {
  mmsghdr msgs[kRecvBatch];
  iovec iov[kRecvBatch];
  sockaddr_storage from[kRecvBatch];
  alignas(cmsghdr) char control[kRecvBatch][CMSG_SPACE(sizeof(int))];
  for (size_t round = 0; round < kRecvRounds && !closer_.closing(); ++round) {
    for (size_t i = 0; i < kRecvBatch; ++i) {
      iov[i] = {rbuf_.get() + i * kSlot, kSlot};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      if (gro_) {
        msgs[i].msg_hdr.msg_control = control[i];
        msgs[i].msg_hdr.msg_controllen = sizeof control[i];
      }
    }
    int n;
    do {
      n = ::recvmmsg(fd_, msgs, kRecvBatch, MSG_DONTWAIT, nullptr);
    } while (n < 0 && errno == EINTR);
    // EAGAIN: drained. Other errors are transient for UDP (an ICMP
    // unreachable surfaces as ECONNREFUSED on Linux): try again next time.
    if (n <= 0) return;
    // A batch ends (the connections write, so acknowledge) after every
    // kRecvBatch datagrams, as without GRO: a full recvmmsg of GRO runs can
    // hold hundreds, and the peer's window should not wait for all of them.
    size_t pending = 0;
    for (int i = 0; i < n && !closer_.closing(); ++i) {
      const msghdr& h = msgs[i].msg_hdr;
      size_t len = msgs[i].msg_len;
      if (h.msg_flags & MSG_TRUNC) continue;  // cannot be a QUIC packet of ours
      size_t seg = len;
      if (gro_) {
        for (cmsghdr* cm = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); cm != nullptr;
             cm = CMSG_NXTHDR(const_cast<msghdr*>(&h), cm)) {
          if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
            int v = 0;
            std::memcpy(&v, CMSG_DATA(cm), sizeof v);
            if (v > 0) seg = static_cast<size_t>(v);
          }
        }
      }
      if (seg < len) stats_.gro_messages++;
      uint8_t* p = rbuf_.get() + static_cast<size_t>(i) * kSlot;
      const auto* addr = reinterpret_cast<const sockaddr*>(&from[i]);
      while (len > 0 && !closer_.closing()) {
        const size_t k = std::min(seg, len);
        stats_.datagrams_received++;
        if (transform_ == nullptr) {
          handler_->on_datagram(addr, p, k);
        } else if (const size_t m = transform_->decode(p, k); m > 0) {
          handler_->on_datagram(addr, p + transform_->overhead(), m);
        } else {
          stats_.transform_dropped++;
        }
        p += k;
        len -= k;
        if (++pending == kRecvBatch && !closer_.closing()) {
          pending = 0;
          stats_.recv_batches++;
          handler_->on_batch_end();
        }
      }
    }
    if (pending > 0 && !closer_.closing()) {
      stats_.recv_batches++;
      handler_->on_batch_end();
    }
    if (static_cast<size_t>(n) < kRecvBatch) return;  // the queue is empty
  }
}

void UdpSocket::update_poll() noexcept {
  if (!poll_init_ || closer_.closing()) return;
  (void)uv_poll_start(&poll_, UV_READABLE | (want_writable_ ? UV_WRITABLE : 0), on_poll);
}

Status UdpSocket::would_block(size_t* sent, size_t n) noexcept {
  stats_.send_would_block++;
  if (sent) *sent = n;
  if (!want_writable_) {
    want_writable_ = true;
    stats_.writable_waits++;
    update_poll();
  }
  return Errc::would_block;
}

void UdpSocket::on_poll(uv_poll_t* p, int status, int events) {
  auto* s = static_cast<UdpSocket*>(p->data);
  if (s->closer_.closing()) return;
  if (status < 0) {
    // POLLERR (a pending socket error, e.g. from ICMP): libuv has stopped
    // the poll. Reading clears the error; then watch the fd again.
    s->receive();
    if (!s->closer_.closing()) s->update_poll();
    return;
  }
  if ((events & UV_WRITABLE) && s->want_writable_) {
    s->want_writable_ = false;
    s->update_poll();
    s->handler_->on_writable();
    if (s->closer_.closing()) return;
  }
  if (events & UV_READABLE) s->receive();
}

void UdpSocket::set_transform(PacketTransform* t) {
  transform_ = t;
  if (t == nullptr || tbuf_) return;
  // One send is at most one connection's 64 KiB run (or kMaxGsoSegments
  // packets), each growing by the overhead.
  tbuf_cap_ = kSlot + kMaxGsoSegments * t->overhead();
  tbuf_.reset(new uint8_t[tbuf_cap_]);
}

Status UdpSocket::send(const sockaddr* to, const uint8_t* data, size_t len, size_t segment,
                       size_t* sent) noexcept {
  if (closer_.closing()) return Errc::closed;
  if (sent) *sent = 0;
  if (inject_eagain_ > 0) {
    inject_eagain_--;
    return would_block(sent, 0);
  }
  if (transform_ == nullptr || len == 0) return send_raw(to, data, len, segment, sent);
  const size_t ov = transform_->overhead();
  if (segment == 0 || segment >= len) segment = len;
  const size_t count = (len + segment - 1) / segment;
  if (count > kMaxGsoSegments || len + count * ov > tbuf_cap_) {
    stats_.send_errors++;
    return Errc::invalid_argument;
  }
  uint8_t* out = tbuf_.get();
  for (size_t off = 0; off < len; off += segment) {
    const size_t k = std::min(segment, len - off);
    transform_->encode(data + off, k, out);
    out += k + ov;
  }
  size_t tsent = 0;
  Status st = send_raw(to, tbuf_.get(), len + count * ov, segment + ov, &tsent);
  // Whole packets went out: report them in the caller's (untransformed) bytes.
  if (sent) *sent = std::min(len, tsent / (segment + ov) * segment);
  return st;
}

Status UdpSocket::send_raw(const sockaddr* to, const uint8_t* data, size_t len, size_t segment,
                           size_t* sent) noexcept {
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
  if (!closer_.begin(cb, user)) return;
  if (poll_init_) {
    uv_poll_stop(&poll_);
    closer_.hold();
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
      auto* s = static_cast<UdpSocket*>(h->data);
      ::close(s->poll_fd_);  // the poll handle no longer watches it
      s->poll_fd_ = -1;
      s->closer_.release();
    });
  }
  closer_.close_handle<&UdpSocket::closer_>(&udp_);
  closer_.arm();
}

}  // namespace sluice::quic
