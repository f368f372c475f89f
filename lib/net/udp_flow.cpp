// udp_flow.cpp: direct UDP for datagram flows.
#include "net/udp_flow.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "core/check.hpp"
#include "net/host_hooks.hpp"
#include "net/uv_error.hpp"

namespace sluice::net {

namespace {
constexpr size_t kCacheMax = 32;

Endpoint endpoint_of(const sockaddr* a) {
  Endpoint ep;
  char ip[INET6_ADDRSTRLEN] = {0};
  if (a->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a);
    uv_ip4_name(in, ip, sizeof ip);
    ep.port = ntohs(in->sin_port);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a);
    uv_ip6_name(in6, ip, sizeof ip);
    ep.port = ntohs(in6->sin6_port);
    // Report v4-mapped sources as plain IPv4, as the sender addressed them.
    if (std::strncmp(ip, "::ffff:", 7) == 0 && std::strchr(ip + 7, '.')) {
      std::memmove(ip, ip + 7, std::strlen(ip + 7) + 1);
    }
  }
  ep.host = ip;
  return ep;
}

// to_v6 maps an IPv4 address into the dual-stack socket's family.
sockaddr_in6 to_v6(const sockaddr_storage& ss, uint16_t port) {
  sockaddr_in6 out{};
  out.sin6_family = AF_INET6;
  out.sin6_port = htons(port);
  if (ss.ss_family == AF_INET6) {
    out.sin6_addr = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
  } else {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    out.sin6_addr.s6_addr[10] = 0xff;
    out.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&out.sin6_addr.s6_addr[12], &in->sin_addr, 4);
  }
  return out;
}
}  // namespace

struct UdpFlow::Resolve {
  UdpFlow* flow;
  uv_getaddrinfo_t req{};
  Endpoint to;
  Slice payload;
};

Result<std::unique_ptr<DatagramFlow>> UdpFlow::create(Engine& e, DatagramHandler* h) {
  std::unique_ptr<UdpFlow> f(new (std::nothrow) UdpFlow(e, h));
  if (!f) return Errc::no_memory;
  int rc = uv_udp_init_ex(e.loop(), &f->udp_, AF_INET6);
  if (rc != 0) return errc_from_uv(rc);
  f->udp_.data = f.get();
  f->open_ = 1;
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_any;
  const Status hooked =
      socket_created(e, reinterpret_cast<const uv_handle_t*>(&f->udp_), SocketKind::udp, AF_INET6);
  rc = hooked ? uv_udp_bind(&f->udp_, reinterpret_cast<const sockaddr*>(&any), 0) : 0;
  if (rc == 0 && hooked) rc = uv_udp_recv_start(&f->udp_, on_alloc, on_recv);
  if (rc != 0 || !hooked) {
    UdpFlow* raw = f.release();
    raw->close([](void* u) { delete static_cast<UdpFlow*>(u); }, raw);
    return hooked ? errc_from_uv(rc) : hooked.error();
  }
  return std::unique_ptr<DatagramFlow>(f.release());
}

UdpFlow::~UdpFlow() { SLUICE_CHECK(closing_ && open_ == 0); }

uint16_t UdpFlow::local_port() const noexcept {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_udp_getsockname(&udp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

void UdpFlow::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* f = static_cast<UdpFlow*>(h->data);
  if (!f->read_buf_.chunk()) {
    auto r = f->engine_.pool().get(SizeClass::k64K);
    if (!r) {
      *buf = uv_buf_init(nullptr, 0);
      return;
    }
    f->read_buf_ = std::move(*r);
  }
  buf->base = reinterpret_cast<char*>(f->read_buf_.chunk()->base() + f->read_buf_.headroom());
  buf->len = kClassPayload[2];
}

void UdpFlow::on_recv(uv_udp_t* u, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags) {
  auto* f = static_cast<UdpFlow*>(u->data);
  (void)buf;
  // With recvmmsg libuv hands out slices of one big buffer and signals its
  // release with UV_UDP_MMSG_FREE; we lent one chunk, so nothing to do there.
  if (flags & UV_UDP_MMSG_FREE) return;
  if (nread < 0) {
    f->read_buf_.reset();
    if (f->handler_ && !f->closing_) f->handler_->on_error(errc_from_uv(static_cast<int>(nread)));
    return;
  }
  if (addr == nullptr) return;  // nothing more to read now
  if (flags & UV_UDP_PARTIAL) {
    f->stats_.dropped++;
    return;
  }
  // Copy the datagram out of the shared receive chunk only when it is small;
  // otherwise hand the chunk itself up and take a fresh one next time.
  Slice data;
  if (static_cast<size_t>(nread) <= 2048) {
    auto r = f->engine_.pool().copy_from(buf->base, static_cast<size_t>(nread));
    if (!r) {
      f->stats_.dropped++;
      return;
    }
    data = std::move(*r);
  } else {
    data = std::move(f->read_buf_);
    data.append(static_cast<size_t>(nread));
  }
  f->stats_.received++;
  if (f->handler_ && !f->closing_) f->handler_->on_datagram(endpoint_of(addr), std::move(data));
}

void UdpFlow::send_to(const sockaddr_storage& ss, uint16_t port, const Slice& payload) noexcept {
  sockaddr_in6 dst = to_v6(ss, port);
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(payload.data())),
                           static_cast<unsigned>(payload.size()));
  int rc = uv_udp_try_send(&udp_, &b, 1, reinterpret_cast<const sockaddr*>(&dst));
  if (rc >= 0)
    stats_.sent++;
  else
    stats_.dropped++;
}

Status UdpFlow::send(const Endpoint& to, Slice&& payload) noexcept {
  if (closing_) return Errc::closed;
  if (to.port == 0) return Errc::invalid_argument;
  sockaddr_storage ss{};
  if (uv_ip4_addr(to.host.c_str(), to.port, reinterpret_cast<sockaddr_in*>(&ss)) == 0 ||
      uv_ip6_addr(to.host.c_str(), to.port, reinterpret_cast<sockaddr_in6*>(&ss)) == 0) {
    send_to(ss, to.port, payload);
    return {};
  }
  for (const auto& c : cache_) {
    if (c.host == to.host) {
      send_to(c.addr, to.port, payload);
      return {};
    }
  }
  auto* r = new (std::nothrow) Resolve{this, {}, to, std::move(payload)};
  if (!r) return Errc::no_memory;
  r->req.data = r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  int rc = uv_getaddrinfo(
      engine_.loop(), &r->req,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* rs = static_cast<Resolve*>(req->data);
        UdpFlow* f = rs->flow;
        f->resolving_.erase(std::find(f->resolving_.begin(), f->resolving_.end(), rs));
        f->open_--;
        if (status == 0 && res && !f->closing_) {
          CacheEntry ce;
          ce.host = rs->to.host;
          std::memset(&ce.addr, 0, sizeof ce.addr);
          std::memcpy(&ce.addr, res->ai_addr, res->ai_addrlen);
          if (f->cache_.size() >= kCacheMax) f->cache_.erase(f->cache_.begin());
          f->cache_.push_back(ce);
          f->send_to(ce.addr, rs->to.port, rs->payload);
        } else {
          f->stats_.dropped++;
        }
        uv_freeaddrinfo(res);
        delete rs;
        if (f->closing_ && f->open_ == 0 && f->close_cb_) f->close_cb_(f->close_user_);
      },
      to.host.c_str(), nullptr, &hints);
  if (rc != 0) {
    delete r;
    stats_.dropped++;
    return {};
  }
  resolving_.push_back(r);
  open_++;
  return {};
}

void UdpFlow::close(CloseCallback cb, void* user) noexcept {
  if (closing_) return;
  closing_ = true;
  handler_ = nullptr;
  close_cb_ = cb;
  close_user_ = user;
  read_buf_.reset();
  for (Resolve* r : resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(&r->req));
  uv_close(reinterpret_cast<uv_handle_t*>(&udp_), [](uv_handle_t* h) {
    auto* f = static_cast<UdpFlow*>(h->data);
    f->open_--;
    if (f->open_ == 0 && f->close_cb_) f->close_cb_(f->close_user_);
  });
}

}  // namespace sluice::net
