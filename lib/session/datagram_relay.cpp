// session/datagram_relay.cpp: DatagramRelay and its two ports.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/datagram_relay.hpp"

#include <array>
#include <cstring>
#include <new>

#include "net/uv_error.hpp"
#include "proto/socks5/udp.hpp"
#include "sluice/log.hpp"

namespace sluice {

// --- FramedStreamPort ---------------------------------------------------------

FramedStreamPort::FramedStreamPort(Engine& e, std::unique_ptr<Transport> t,
                                   std::unique_ptr<DatagramFraming> framing, Chain&& received,
                                   size_t write_queue) noexcept
    : engine_(e),
      t_(std::move(t)),
      framing_(std::move(framing)),
      in_(std::move(received)),
      write_queue_(write_queue) {}

FramedStreamPort::~FramedStreamPort() {
  if (t_) close_and_delete(t_.release());
}

void FramedStreamPort::start(Handler* h) noexcept {
  h_ = h;
  t_->set_handler(this);
  t_->read_start();
  drain();  // datagrams that came with the request
}

void FramedStreamPort::on_data(Slice&& data) {
  if (ended_) return;
  if (!in_.push_back_compact(std::move(data))) {
    end(Errc::no_memory, "out of memory");
    return;
  }
  drain();
}

void FramedStreamPort::drain() noexcept {
  while (!ended_ && !in_.empty()) {
    FramedDatagram d;
    auto r = framing_->take(in_, engine_.pool(), &d);
    if (!r) {
      // eof: the framing's own end of the flow (XUDP End), a clean end.
      if (r.error() == Errc::eof)
        end(Errc::ok, "the client ended the flow");
      else
        end(r.error(), "malformed datagram frame", true);
      return;
    }
    if (!*r) return;
    h_->on_port_datagram(std::move(d));
  }
}

void FramedStreamPort::on_eof() {
  // The client ended the stream; a partial frame is a truncation.
  if (!in_.empty())
    end(Errc::truncated, "end of stream inside a datagram frame", true);
  else
    end(Errc::ok, "the client ended the stream");
}

void FramedStreamPort::on_error(Errc e) { end(e, "client stream failed"); }

void FramedStreamPort::end(Errc e, const char* why, bool malformed) noexcept {
  if (ended_) return;
  ended_ = true;
  in_.clear();
  if (h_) h_->on_port_end(e, why, malformed);
}

bool FramedStreamPort::deliver(const TargetAddress& from, Slice&& payload) noexcept {
  if (ended_ || t_->write_buffered() > write_queue_) return false;  // dropped, as UDP
  Chain framed;
  if (!framing_->frame(from, std::move(payload), engine_.pool(), &framed)) return false;
  Status st = t_->write(std::move(framed));
  if (!st) {
    end(st.error(), "write to the client failed");
    return false;
  }
  return true;
}

void FramedStreamPort::close(CloseCallback cb, void* user) noexcept {
  ended_ = true;
  h_ = nullptr;
  in_.clear();
  Transport* t = t_.release();
  if (t == nullptr) {
    if (cb) cb(user);
    return;
  }
  t->set_handler(nullptr);
  struct Done {
    Transport* t;
    CloseCallback cb;
    void* user;
  };
  auto* d = new (std::nothrow) Done{t, cb, user};
  if (d == nullptr) {  // no memory for the continuation: close without waiting
    close_and_delete(t);
    if (cb) cb(user);
    return;
  }
  t->close(
      [](void* u) {
        auto* d = static_cast<Done*>(u);
        delete d->t;
        CloseCallback cb = d->cb;
        void* user = d->user;
        delete d;
        if (cb) cb(user);
      },
      d);
}

// --- Socks5UdpPort -------------------------------------------------------------

namespace {

bool sockaddr_from(std::string_view host, uint16_t port, sockaddr_storage* ss) {
  std::string h(host);
  return uv_ip4_addr(h.c_str(), port, reinterpret_cast<sockaddr_in*>(ss)) == 0 ||
         uv_ip6_addr(h.c_str(), port, reinterpret_cast<sockaddr_in6*>(ss)) == 0;
}

// same_ip compares the address part of two socket addresses (v4-mapped
// IPv6 equals its IPv4 form).
bool same_ip(const sockaddr* a, const sockaddr* b) {
  auto v4 = [](const sockaddr* s, uint8_t out[4]) -> bool {
    if (s->sa_family == AF_INET) {
      std::memcpy(out, &reinterpret_cast<const sockaddr_in*>(s)->sin_addr, 4);
      return true;
    }
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(s);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(s6->sin6_addr.s6_addr, kMapped, 12) == 0) {
      std::memcpy(out, s6->sin6_addr.s6_addr + 12, 4);
      return true;
    }
    return false;
  };
  uint8_t x[4], y[4];
  bool xa = v4(a, x), ya = v4(b, y);
  if (xa && ya) return std::memcmp(x, y, 4) == 0;
  if (xa || ya) return false;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(b)->sin6_addr, 16) == 0;
}

TargetAddress target_of(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
    std::array<uint8_t, 4> a;
    std::memcpy(a.data(), &s4->sin_addr, 4);
    return TargetAddress::from_ipv4(a, ntohs(s4->sin_port));
  }
  const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  std::array<uint8_t, 16> a;
  std::memcpy(a.data(), &s6->sin6_addr, 16);
  return TargetAddress::from_ipv6(a, ntohs(s6->sin6_port));
}

}  // namespace

Socks5UdpPort::~Socks5UdpPort() {
  if (control_) close_and_delete(control_.release());
}

Result<std::unique_ptr<Socks5UdpPort>> Socks5UdpPort::bind(Engine& e, const sockaddr_storage& peer,
                                                           std::string_view host,
                                                           TargetAddress* bound) {
  std::unique_ptr<Socks5UdpPort> p(new (std::nothrow) Socks5UdpPort(e, peer));
  if (!p) return Errc::no_memory;
  sockaddr_storage addr{};
  if (!sockaddr_from(host, 0, &addr)) sockaddr_from("0.0.0.0", 0, &addr);
  int rc = uv_udp_init(e.loop(), &p->udp_);
  if (rc != 0) return net::errc_from_uv(rc);
  p->udp_.data = p.get();
  p->udp_open_ = true;
  rc = uv_udp_bind(&p->udp_, reinterpret_cast<const sockaddr*>(&addr), 0);
  sockaddr_storage local{};
  int len = sizeof local;
  if (rc == 0) rc = uv_udp_getsockname(&p->udp_, reinterpret_cast<sockaddr*>(&local), &len);
  if (rc != 0) {
    // The handle must be closed before the port goes: hand it to close().
    Socks5UdpPort* raw = p.release();
    raw->close([](void* u) { delete static_cast<Socks5UdpPort*>(u); }, raw);
    return net::errc_from_uv(rc);
  }
  *bound = target_of(local);
  return p;
}

void Socks5UdpPort::start(Handler* h) noexcept {
  h_ = h;
  if (control_) {
    control_->set_handler(this);
    control_->read_start();
  }
  int rc = uv_udp_recv_start(&udp_, on_alloc, on_recv);
  if (rc != 0) {
    ended_ = true;
    h_->on_port_end(net::errc_from_uv(rc), "udp receive failed", false);
  }
}

void Socks5UdpPort::on_eof() {
  if (ended_) return;
  ended_ = true;
  if (h_) h_->on_port_end(Errc::ok, "the control connection ended", false);
}

void Socks5UdpPort::on_error(Errc e) {
  if (ended_) return;
  ended_ = true;
  if (h_) h_->on_port_end(e, "the control connection failed", false);
}

void Socks5UdpPort::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* p = static_cast<Socks5UdpPort*>(h->data);
  if (!p->buf_.chunk()) {
    auto r = p->engine_.pool().get(SizeClass::k64K);
    if (!r) {
      *buf = uv_buf_init(nullptr, 0);
      return;
    }
    p->buf_ = std::move(*r);
  }
  buf->base = reinterpret_cast<char*>(p->buf_.chunk()->base() + p->buf_.headroom());
  buf->len = kClassPayload[2];
}

void Socks5UdpPort::on_recv(uv_udp_t* u, ssize_t nread, const uv_buf_t*, const sockaddr* addr,
                            unsigned flags) {
  auto* p = static_cast<Socks5UdpPort*>(u->data);
  if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL) || p->ended_ || !p->h_) return;
  // Only the client that owns the control connection may use the relay.
  if (!same_ip(addr, reinterpret_cast<const sockaddr*>(&p->peer_))) return;
  if (!p->client_known_) {
    std::memcpy(&p->client_udp_, addr,
                addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    p->client_known_ = true;
  }
  Slice data = std::move(p->buf_);
  data.append(static_cast<size_t>(nread));
  auto d = socks5::decode_udp(data.span());
  if (!d) {
    SLUICE_LOG_DEBUG("socks5 udp: dropped datagram: %s", errc_message(d.error()));
    return;
  }
  const size_t header = static_cast<size_t>(nread) - d->payload.size();
  FramedDatagram fd;
  fd.address = d->target;
  data.advance(header);
  fd.payload = std::move(data);
  p->h_->on_port_datagram(std::move(fd));
}

bool Socks5UdpPort::deliver(const TargetAddress& from, Slice&& payload) noexcept {
  if (!client_known_ || ended_) return false;
  const size_t hlen = socks5::udp_header_size(from);
  Slice out;
  if (uint8_t* h = payload.prepend(hlen)) {
    (void)socks5::encode_udp_header(from, {h, hlen});
    out = std::move(payload);
  } else {
    auto r = engine_.pool().get(hlen + payload.size());
    if (!r) return false;
    out = std::move(*r);
    uint8_t* p = out.append(hlen + payload.size());
    (void)socks5::encode_udp_header(from, {p, hlen});
    std::memcpy(p + hlen, payload.data(), payload.size());
  }
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(out.data())),
                           static_cast<unsigned>(out.size()));
  return uv_udp_try_send(&udp_, &b, 1, reinterpret_cast<const sockaddr*>(&client_udp_)) >= 0;
}

void Socks5UdpPort::close(CloseCallback cb, void* user) noexcept {
  ended_ = true;
  h_ = nullptr;
  cb_ = cb;
  user_ = user;
  buf_.reset();
  closing_ = 1;  // released below, after both closes started
  if (control_) {
    closing_++;
    Transport* c = control_.release();
    c->set_handler(nullptr);
    struct Done {
      Socks5UdpPort* port;
      Transport* t;
    };
    auto* d = new (std::nothrow) Done{this, c};
    if (d == nullptr) {
      close_and_delete(c);
      closing_--;
    } else {
      c->close(
          [](void* u) {
            auto* d = static_cast<Done*>(u);
            delete d->t;
            Socks5UdpPort* p = d->port;
            delete d;
            p->closed_one();
          },
          d);
    }
  }
  if (udp_open_) {
    udp_open_ = false;
    closing_++;
    uv_close(reinterpret_cast<uv_handle_t*>(&udp_),
             [](uv_handle_t* h) { static_cast<Socks5UdpPort*>(h->data)->closed_one(); });
  }
  closed_one();
}

void Socks5UdpPort::closed_one() noexcept {
  if (--closing_ > 0) return;
  CloseCallback cb = cb_;
  cb_ = nullptr;
  if (cb) cb(user_);
}

// --- DatagramRelay ---------------------------------------------------------------

DatagramRelay::DatagramRelay(Engine& e, DatagramFlowOpener* opener,
                             std::unique_ptr<DatagramPort> port, const DatagramRelayOptions& o,
                             DatagramRelayOwner* owner) noexcept
    : engine_(e), opener_(opener), port_(std::move(port)), opts_(o), owner_(owner), timer_(e) {}

DatagramRelay::~DatagramRelay() = default;

Status DatagramRelay::open(const TargetAddress& target) noexcept {
  auto f = opener_->open_flow(target, this);
  if (!f) return f.error();
  flow_ = std::move(*f);
  return {};
}

void DatagramRelay::start() noexcept {
  last_activity_ = engine_.now_ms();
  if (opts_.idle_timeout_ms > 0 && port_->idle_expiry()) arm(opts_.idle_timeout_ms);
  port_->start(this);
}

void DatagramRelay::arm(uint64_t ms) noexcept { timer_.start(ms, on_timer, this); }

void DatagramRelay::on_timer(void* self) {
  auto* r = static_cast<DatagramRelay*>(self);
  if (r->finished_) return;
  // Activity only notes the time; the timer re-arms for what is left.
  const uint64_t idle = r->engine_.now_ms() - r->last_activity_;
  if (idle < r->opts_.idle_timeout_ms) {
    r->arm(r->opts_.idle_timeout_ms - idle);
    return;
  }
  r->finish(Errc::timed_out, "idle");
}

void DatagramRelay::on_port_datagram(FramedDatagram&& d) {
  if (finished_) return;
  if (!flow_) {
    Status st = open(d.address);
    if (!st) {
      finish(st.error(), "open failed");
      return;
    }
  }
  last_activity_ = engine_.now_ms();
  result_.to_target++;
  // A failed send drops the datagram, as UDP would.
  (void)flow_->send(Endpoint{d.address.host(), d.address.port()}, std::move(d.payload));
}

void DatagramRelay::on_port_end(Errc e, const char* why, bool malformed) {
  if (malformed) result_.malformed = true;
  finish(e, why);
}

void DatagramRelay::on_datagram(const Endpoint& from, Slice&& payload) {
  if (finished_) return;
  last_activity_ = engine_.now_ms();
  auto src = TargetAddress::from_host(from.host, from.port);
  if (!src || !port_->deliver(*src, std::move(payload))) {
    result_.dropped++;
    return;
  }
  result_.to_client++;
}

void DatagramRelay::on_error(Errc e) { finish(e, "the outbound flow failed"); }

void DatagramRelay::finish(Errc e, const char* why) noexcept {
  if (finished_) return;
  finished_ = true;
  result_.error = e;
  result_.reason = why;
  timer_.stop();
  if (owner_) owner_->on_datagram_relay_done(result_);
}

void DatagramRelay::close(CloseCallback cb, void* user) noexcept {
  if (closing_) return;
  closing_ = true;
  finished_ = true;
  owner_ = nullptr;
  cb_ = cb;
  user_ = user;
  open_ = 1;
  if (flow_) {
    open_++;
    DatagramFlow* f = flow_.release();
    struct Done {
      DatagramRelay* r;
      DatagramFlow* f;
    };
    auto* d = new (std::nothrow) Done{this, f};
    if (d == nullptr) {
      f->close([](void* u) { delete static_cast<DatagramFlow*>(u); }, f);
      open_--;
    } else {
      f->close(
          [](void* u) {
            auto* d = static_cast<Done*>(u);
            delete d->f;
            DatagramRelay* r = d->r;
            delete d;
            r->closed_one();
          },
          d);
    }
  }
  timer_.stop();
  open_++;
  port_->close([](void* u) { static_cast<DatagramRelay*>(u)->closed_one(); }, this);
  closed_one();
}

void DatagramRelay::closed_one() noexcept {
  if (--open_ > 0) return;
  CloseCallback cb = cb_;
  cb_ = nullptr;
  if (cb) cb(user_);
}

}  // namespace sluice
