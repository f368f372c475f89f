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
  s->loop_ = loop;
  s->outbound_ = outbound;
  s->allow_gso_ = allow_gso;
  try {
    s->legs_.reserve(2);
  } catch (...) {
    return Errc::no_memory;
  }
  auto l = s->open_leg(bind_addr);
  if (!l) {
    // A leg whose handles are closing calls back into the socket.
    if (s->closing_legs_ > 0) {
      UdpSocket* raw = s.release();
      raw->close([](void* u) { delete static_cast<UdpSocket*>(u); }, raw);
    }
    return l.error();
  }
  s->legs_.emplace_back(*l);
  std::memcpy(&s->local_, &(*l)->local, sizeof s->local_);
  s->local_len_ = (*l)->local_len;
  return s;
}

Result<UdpSocket::Leg*> UdpSocket::open_leg(const sockaddr* bind_addr) noexcept {
  Leg* l = new (std::nothrow) Leg;
  if (l == nullptr) return Errc::no_memory;
  l->owner = this;
  int rc = uv_udp_init_ex(loop_, &l->udp, bind_addr->sa_family);
  if (rc != 0) {
    delete l;
    return net::errc_from_uv(rc);
  }
  l->udp.data = l;
  l->udp_init = true;
  // From here the leg's handles exist: a failure closes them (the leg
  // deletes itself), and the socket's close waits for that.
  auto fail = [&](Errc e) -> Errc {
    close_leg(l);
    return e;
  };
  if (outbound_) {
    const Status hooked = net::socket_created(*outbound_, reinterpret_cast<uv_handle_t*>(&l->udp),
                                              net::SocketKind::quic, bind_addr->sa_family);
    if (!hooked) return fail(hooked.error());
  }
  rc = uv_udp_bind(&l->udp, bind_addr, 0);
  if (rc != 0) return fail(net::errc_from_uv(rc));
  uv_os_fd_t fd;
  uv_fileno(reinterpret_cast<uv_handle_t*>(&l->udp), &fd);
  l->fd = fd;
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
  if (allow_gso_ && legs_.empty()) {
    // Probe (once: every leg is on the same kernel): the kernel accepts a
    // UDP_SEGMENT socket option only if it has GSO for UDP; 0 clears it
    // again (segment size comes per call).
    int seg = 1200;
    if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0) {
      seg = 0;
      setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
      gso_ = true;
    }
  }
  // Receive runs of datagrams as one message (split again in receive()).
  int on = 1;
  l->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  int len = sizeof l->local;
  uv_udp_getsockname(&l->udp, reinterpret_cast<sockaddr*>(&l->local), &len);
  l->local_len = static_cast<socklen_t>(len);
  // The uv_udp_t never reads: a poll on a second fd for the same socket
  // does (libuv keeps one watcher per fd).
  l->poll_fd = ::dup(fd);
  if (l->poll_fd < 0) return fail(net::errc_from_uv(uv_translate_sys_error(errno)));
  rc = uv_poll_init(loop_, &l->poll, l->poll_fd);
  if (rc != 0) {
    ::close(l->poll_fd);
    l->poll_fd = -1;
    return fail(net::errc_from_uv(rc));
  }
  l->poll.data = l;
  l->poll_init = true;
  rc = uv_poll_start(&l->poll, UV_READABLE, on_poll);
  if (rc != 0) return fail(net::errc_from_uv(rc));
  return l;
}

void UdpSocket::close_leg(Leg* l) noexcept {
  closing_legs_++;
  if (l->poll_init) {
    uv_poll_stop(&l->poll);
    l->closing_parts++;
    uv_close(reinterpret_cast<uv_handle_t*>(&l->poll), on_leg_handle_closed);
  }
  if (l->udp_init) {
    l->closing_parts++;
    uv_close(reinterpret_cast<uv_handle_t*>(&l->udp), on_leg_handle_closed);
  }
}

void UdpSocket::on_leg_handle_closed(uv_handle_t* h) {
  auto* l = static_cast<Leg*>(h->data);
  if (h == reinterpret_cast<uv_handle_t*>(&l->poll) && l->poll_fd >= 0) {
    ::close(l->poll_fd);  // the poll handle no longer watches it
    l->poll_fd = -1;
  }
  if (--l->closing_parts > 0) return;
  UdpSocket* s = l->owner;
  delete l;
  s->closing_legs_--;
  // The socket's close counted every leg still closing when it began.
  if (s->closer_.closing()) s->closer_.release();  // may end the close
}

UdpSocket::~UdpSocket() = default;

uint16_t UdpSocket::leg_port(size_t i) const noexcept {
  const auto& a = legs_[i]->local;
  return a.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port)
                                 : ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
}

Status UdpSocket::add_leg(const sockaddr* bind_addr) noexcept {
  if (closer_.closing() || hopping_) return Errc::invalid_state;
  try {
    legs_.reserve(legs_.size() + 1);
  } catch (...) {
    return Errc::no_memory;
  }
  auto l = open_leg(bind_addr);
  if (!l) return l.error();
  legs_.emplace_back(*l);
  return {};
}

void UdpSocket::set_hop_peer(const sockaddr* peer) noexcept {
  hopping_ = true;
  std::memcpy(&hop_peer_, peer, sockaddr_len(peer));
  std::memcpy(&hop_target_, peer, sockaddr_len(peer));
}

Status UdpSocket::hop(const sockaddr* target) noexcept {
  if (closer_.closing() || !hopping_) return Errc::invalid_state;
  try {
    legs_.reserve(legs_.size() + 1);
  } catch (...) {
    return Errc::no_memory;
  }
  // Same address as the first leg, any port.
  sockaddr_storage bind = local_;
  if (bind.ss_family == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(&bind)->sin6_port = 0;
  else
    reinterpret_cast<sockaddr_in*>(&bind)->sin_port = 0;
  auto l = open_leg(reinterpret_cast<const sockaddr*>(&bind));
  if (!l) return l.error();
  legs_.emplace_back(*l);
  std::memcpy(&hop_target_, target, sockaddr_len(target));
  stats_.hops++;
  // Keep the leg that was current (late datagrams); close the older ones.
  while (legs_.size() > 2) {
    Leg* old = legs_.front().release();
    legs_.erase(legs_.begin());
    close_leg(old);
  }
  return {};
}

UdpSocket::PeerKey UdpSocket::peer_key(const sockaddr* a) noexcept {
  PeerKey k;
  if (a->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a);
    std::memcpy(&k.a, v6->sin6_addr.s6_addr, 8);
    std::memcpy(&k.b, v6->sin6_addr.s6_addr + 8, 8);
    k.c = (uint64_t{v6->sin6_scope_id} << 32) | (uint64_t{v6->sin6_port} << 16) | AF_INET6;
  } else {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(a);
    k.a = v4->sin_addr.s_addr;
    k.c = (uint64_t{v4->sin_port} << 16) | AF_INET;
  }
  return k;
}

UdpSocket::Leg* UdpSocket::leg_for(const sockaddr* to) noexcept {
  if (legs_.size() == 1) return legs_[0].get();
  if (hopping_) return legs_.back().get();
  const PeerKey k = peer_key(to);
  for (const PeerRoutes& r : {std::cref(routes_[cur_route_]), std::cref(routes_[cur_route_ ^ 1])}) {
    if (auto it = r.find(k); it != r.end()) return it->second;
  }
  return legs_[0].get();
}

void UdpSocket::note_peer(const sockaddr* from, Leg* l) noexcept {
  const PeerKey k = peer_key(from);
  PeerRoutes& cur = routes_[cur_route_];
  if (auto it = cur.find(k); it != cur.end()) {
    it->second = l;
    return;
  }
  if (cur.size() >= kPeerRoutes) {
    // A new generation: the older one is forgotten.
    cur_route_ ^= 1;
    routes_[cur_route_].clear();
  }
  try {
    routes_[cur_route_].emplace(k, l);
  } catch (...) {
    // No memory: this peer is answered from the first leg.
  }
}

void UdpSocket::receive(Leg& l) noexcept {
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
      if (l.gro) {
        msgs[i].msg_hdr.msg_control = control[i];
        msgs[i].msg_hdr.msg_controllen = sizeof control[i];
      }
    }
    int n;
    do {
      n = ::recvmmsg(l.fd, msgs, kRecvBatch, MSG_DONTWAIT, nullptr);
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
      if (l.gro) {
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
      const sockaddr* addr = reinterpret_cast<const sockaddr*>(&from[i]);
      if (hopping_) {
        addr = reinterpret_cast<const sockaddr*>(&hop_peer_);
      } else if (legs_.size() > 1) {
        note_peer(addr, &l);
      }
      while (len > 0 && !closer_.closing()) {
        const size_t k = std::min(seg, len);
        stats_.datagrams_received++;
        l.received++;
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

void UdpSocket::update_poll(Leg& l) noexcept {
  if (!l.poll_init || closer_.closing()) return;
  (void)uv_poll_start(&l.poll, UV_READABLE | (l.want_writable ? UV_WRITABLE : 0), on_poll);
}

Status UdpSocket::would_block(Leg& l, size_t* sent, size_t n) noexcept {
  stats_.send_would_block++;
  if (sent) *sent = n;
  if (!l.want_writable) {
    l.want_writable = true;
    stats_.writable_waits++;
    update_poll(l);
  }
  return Errc::would_block;
}

void UdpSocket::on_poll(uv_poll_t* p, int status, int events) {
  auto* l = static_cast<Leg*>(p->data);
  UdpSocket* s = l->owner;
  if (s->closer_.closing()) return;
  // A leg retired by a hop inside a handler below is closing but not yet
  // freed (its handles close on a later turn): it is still safe to read.
  if (status < 0) {
    // POLLERR (a pending socket error, e.g. from ICMP): libuv has stopped
    // the poll. Reading clears the error; then watch the fd again.
    s->receive(*l);
    if (!s->closer_.closing() && !uv_is_closing(reinterpret_cast<uv_handle_t*>(p)))
      s->update_poll(*l);
    return;
  }
  if ((events & UV_WRITABLE) && l->want_writable) {
    l->want_writable = false;
    s->update_poll(*l);
    s->handler_->on_writable();
    if (s->closer_.closing()) return;
  }
  if ((events & UV_READABLE) && !uv_is_closing(reinterpret_cast<uv_handle_t*>(p))) s->receive(*l);
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
  Leg& l = *leg_for(to);
  if (hopping_) to = reinterpret_cast<const sockaddr*>(&hop_target_);
  if (inject_eagain_ > 0) {
    inject_eagain_--;
    return would_block(l, sent, 0);
  }
  if (transform_ == nullptr || len == 0) return send_raw(l, to, data, len, segment, sent);
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
  Status st = send_raw(l, to, tbuf_.get(), len + count * ov, segment + ov, &tsent);
  // Whole packets went out: report them in the caller's (untransformed) bytes.
  if (sent) *sent = std::min(len, tsent / (segment + ov) * segment);
  return st;
}

Status UdpSocket::send_raw(Leg& l, const sockaddr* to, const uint8_t* data, size_t len,
                           size_t segment, size_t* sent) noexcept {
  const socklen_t tolen = sockaddr_len(to);
  if (segment == 0 || segment >= len || !gso_) {
    if (segment == 0 || segment >= len) segment = len;
    return send_mmsg(l, to, tolen, data, len, segment, sent);
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
    n = ::sendmsg(l.fd, &msg, 0);
  } while (n < 0 && errno == EINTR);
  stats_.send_calls++;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return would_block(l, sent, 0);
    if (errno == EIO || errno == EINVAL) {
      // The device cannot segment (e.g. checksum offload off): fall back for good.
      gso_ = false;
      return send_mmsg(l, to, tolen, data, len, segment, sent);
    }
    stats_.send_errors++;
    return Errc::io_error;
  }
  stats_.datagrams_sent += (len + segment - 1) / segment;
  if (sent) *sent = len;
  return {};
}

Status UdpSocket::send_mmsg(Leg& l, const sockaddr* to, socklen_t tolen, const uint8_t* data,
                            size_t len, size_t segment, size_t* sent_bytes) noexcept {
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
    int r = ::sendmmsg(l.fd, msgs + sent, static_cast<unsigned>(n - sent), 0);
    stats_.send_calls++;
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // What went out went out; the caller keeps the rest for on_writable.
        return would_block(l, sent_bytes, std::min(len, sent * segment));
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
  for (auto& l : legs_) close_leg(l.release());
  legs_.clear();
  // Every leg still closing (these and those retired by hops) holds the
  // close until its handles are gone (on_leg_handle_closed).
  for (int i = 0; i < closing_legs_; ++i) closer_.hold();
  closer_.arm();
}

}  // namespace sluice::quic
