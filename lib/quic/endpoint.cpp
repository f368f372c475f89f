// endpoint.cpp: CID routing, accepting, version negotiation, stateless reset.
#include "quic/endpoint.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>

#include "core/check.hpp"
#include "net/engine_internal.hpp"
#include "quic/quic_stream.hpp"
#include "sluice/log.hpp"
#include "transport/tls_session_registry.hpp"

namespace sluice::quic {

namespace {

// NEW_TOKEN tokens carry wall-clock time: they outlive the loop's monotonic
// clock when a key is shared between restarts or servers.
uint64_t wall_ms() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

bool port_number(std::string_view s, uint16_t* out) noexcept {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

void bound_for_pool_cap(ConnectionOptions& o, uint64_t max_bytes) noexcept {
  if (max_bytes == 0) return;
  o.watermarks_count_unacked = true;
  o.stream_window = std::min(o.stream_window, kCappedStreamWindow);
  o.max_stream_window = std::min(o.max_stream_window, kCappedStreamWindow);
  const uint64_t conn = std::max(kCappedStreamWindow, max_bytes / 4);
  o.conn_window = std::min(o.conn_window, conn);
  o.max_conn_window = std::min(o.max_conn_window, conn);
}

Status parse_port_ranges(const std::vector<std::string>& items, const char* what,
                         std::vector<std::pair<uint16_t, uint16_t>>* out, std::string* why) {
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string_view s = items[i];
    const size_t sep = s.find_first_of(":-");
    uint16_t a = 0, b = 0;
    bool ok;
    if (sep == std::string_view::npos) {
      ok = port_number(s, &a);
      b = a;
    } else {
      ok = port_number(s.substr(0, sep), &a) && port_number(s.substr(sep + 1), &b) && a <= b;
    }
    if (!ok) {
      if (why)
        *why = std::string(what) + "[" + std::to_string(i) + "]: \"" + items[i] +
               "\" is not a port or a range \"first:last\" of ports 1-65535";
      return Errc::config_invalid;
    }
    out->emplace_back(a, b);
  }
  return {};
}

std::string format_port_ranges(const std::vector<std::pair<uint16_t, uint16_t>>& ranges) {
  std::string t;
  for (const auto& [first, last] : ranges) {
    if (!t.empty()) t += ',';
    t += std::to_string(first);
    if (last != first) t += '-' + std::to_string(last);
  }
  return t;
}

uint16_t random_port(const std::vector<std::pair<uint16_t, uint16_t>>& ranges) noexcept {
  uint64_t total = 0;
  for (const auto& [first, last] : ranges) total += uint64_t{last} - first + 1;
  if (total == 0) return 0;
  uint64_t r = 0;
  random_bytes({reinterpret_cast<uint8_t*>(&r), sizeof r});
  r %= total;
  for (const auto& [first, last] : ranges) {
    const uint64_t n = uint64_t{last} - first + 1;
    if (r < n) return static_cast<uint16_t>(first + r);
    r -= n;
  }
  return ranges.back().second;
}

Result<std::unique_ptr<Endpoint>> Endpoint::create(Engine& e, const EndpointOptions& o,
                                                   std::shared_ptr<QuicTlsContext> tls,
                                                   AcceptHandler* acceptor) {
  if (!tls || tls->server() != (acceptor != nullptr)) return Errc::invalid_argument;
  if (o.scid_len < 8 || o.scid_len > NGTCP2_MAX_CIDLEN) return Errc::invalid_argument;
  if (!o.token_key.empty() && o.token_key.size() != 32) return Errc::invalid_argument;
  std::unique_ptr<Endpoint> ep(new (std::nothrow) Endpoint(e, o));
  if (!ep) return Errc::no_memory;
  bound_for_pool_cap(ep->opts_.connection, e.pool().max_bytes());
  ep->tls_ = std::move(tls);
  ep->acceptor_ = acceptor;
  if (!o.token_key.empty() && !ep->retry_key_.set_key(o.token_key)) return Errc::crypto_failure;
  if (!acceptor && o.resume_sessions)
    ep->session_cache_ = o.session_cache ? o.session_cache : session_cache_for(e);
  if (!acceptor && o.use_new_tokens)
    ep->token_store_ = o.token_store ? o.token_store : token_store_for(e);
  sockaddr_storage ss{};
  if (uv_ip4_addr(o.bind_host.c_str(), o.bind_port, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
      uv_ip6_addr(o.bind_host.c_str(), o.bind_port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
    return Errc::invalid_argument;
  }
  auto s = UdpSocket::create(e.loop(), reinterpret_cast<sockaddr*>(&ss), ep.get(), o.allow_gso,
                             acceptor ? nullptr : &e);
  if (!s) return s.error();
  ep->socket_ = std::move(*s);
  if (o.transform) ep->socket_->set_transform(o.transform.get());
  for (uint16_t port : o.extra_ports) {
    sockaddr_storage extra = ss;
    if (extra.ss_family == AF_INET6)
      reinterpret_cast<sockaddr_in6*>(&extra)->sin6_port = htons(port);
    else
      reinterpret_cast<sockaddr_in*>(&extra)->sin_port = htons(port);
    if (Status st = ep->socket_->add_leg(reinterpret_cast<sockaddr*>(&extra)); !st) {
      // The socket is open: close the endpoint properly rather than delete it.
      Endpoint* raw = ep.release();
      raw->close([](void* u) { delete static_cast<Endpoint*>(u); }, raw);
      return st.error();
    }
  }
  if (!acceptor) {
    try {
      net::subscribe_network_changes(e, ep.get());
      ep->subscribed_ = true;
    } catch (...) {
      // No memory for the subscription: fail; the socket is open, so the
      // endpoint is closed properly rather than deleted.
      Endpoint* raw = ep.release();
      raw->close([](void* u) { delete static_cast<Endpoint*>(u); }, raw);
      return Errc::no_memory;
    }
  }
  return ep;
}

Endpoint::~Endpoint() {
  // The owner waited for close(); connections are gone by then.
  SLUICE_CHECK(conns_.empty());
  SLUICE_CHECK(closer_.closed() || !socket_);
  if (subscribed_) net::unsubscribe_network_changes(engine(), this);
  if (retry_aead_ready_) free_aead_ctx(retry_aead_ctx_);
}

uint16_t Endpoint::port() const noexcept {
  const auto& a = socket_->local_address();
  return a.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port)
                                 : ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
}

Result<Connection*> Endpoint::connect(const std::string& host, uint16_t port, ConnectionHandler* h,
                                      const ConnectionOptions* o) {
  if (closer_.closing() || tls_->server()) return Errc::invalid_state;
  sockaddr_storage ss{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
    return Errc::invalid_argument;
  }
  ConnectionOptions co = o ? *o : opts_.connection;
  bound_for_pool_cap(co, engine().pool().max_bytes());
  if (co.initial_token.empty() && token_store_) {
    // The newest NEW_TOKEN from this server, spent once (RFC 9000 §8.1.3:
    // a token reused on several connections would let them be linked).
    co.initial_token = token_store_->take(reinterpret_cast<sockaddr*>(&ss));
    if (!co.initial_token.empty()) stats_.new_tokens_used++;
  }
  std::unique_ptr<Connection> c(new (std::nothrow) Connection(*this, false, co));
  if (!c) return Errc::no_memory;
  Connection* raw = c.get();
  conns_.push_back(std::move(c));
  Status st = raw->init_client(reinterpret_cast<sockaddr*>(&ss), *tls_, host, port);
  if (!st) {
    raw->teardown();
    return st.error();
  }
  raw->set_handler(h);
  if (!opts_.hop.ranges.empty() && !socket_->hopping()) {
    // The server address stays the peer QUIC knows; the socket sends to
    // the port of the moment.
    std::memcpy(&hop_server_, &ss, sizeof hop_server_);
    socket_->set_hop_peer(reinterpret_cast<sockaddr*>(&ss));
    schedule_hop();
  }
  // The first write (later in this loop iteration) triggers client_initial:
  // keys, ClientHello, Initial. Deferred so that streams the caller opens
  // and writes right after connect() share the first datagram as 0-RTT:
  // the pacer would hold a second datagram until the handshake is over.
  raw->schedule_write();
  return raw;
}

void Endpoint::on_datagram(const sockaddr* from, const uint8_t* data, size_t len) {
  if (closer_.closing()) return;
  if (!in_rx_batch_) {
    rx_ts_ = uv_hrtime();
    in_rx_batch_ = true;
  }
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, opts_.scid_len);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(from, vc);
    return;
  }
  if (rv != 0) {
    stats_.unroutable++;
    return;
  }
  auto it = routes_.find(std::string_view(reinterpret_cast<const char*>(vc.dcid), vc.dcidlen));
  if (it != routes_.end()) {
    it->second->read(from, data, len);
    return;
  }
  if (acceptor_ && (data[0] & 0x80)) {
    accept(from, data, len);
    return;
  }
  if (acceptor_ && !(data[0] & 0x80)) {
    send_stateless_reset(from, vc, len);
    return;
  }
  stats_.unroutable++;
}

void Endpoint::accept(const sockaddr* from, const uint8_t* data, size_t len) noexcept {
  ngtcp2_pkt_hd hd;
  // ngtcp2_accept checks: a client Initial (or 0-RTT) of a supported version,
  // in a datagram of at least 1200 bytes (RFC 9000 §14.1).
  if (ngtcp2_accept(&hd, data, len) != 0) {
    stats_.unroutable++;
    return;
  }
  Connection::RetryInfo retry;
  bool retried = false;
  const bool initial = hd.type == NGTCP2_PKT_INITIAL;
  // A NEW_TOKEN of ours validates the address (RFC 9000 §8.1.3); one that
  // fails to open is as good as none: never a reason to close.
  bool validated = false;
  const bool new_token =
      initial && hd.token.len > 0 && hd.token.base[0] == RetryTokenKey::kNewTokenMagic;
  if (new_token) {
    validated = retry_key_
                    .open_new_token({hd.token.base, hd.token.len}, from, wall_ms(),
                                    opts_.new_token_lifetime_ms)
                    .has_value();
    if (validated)
      stats_.new_tokens_accepted++;
    else
      stats_.new_tokens_rejected++;
  }
  if (opts_.retry && initial && !validated) {
    if (hd.token.len == 0 || new_token) {
      send_retry(from, hd);
      return;
    }
    auto odcid = retry_key_.open({hd.token.base, hd.token.len}, from, hd.dcid, engine().now_ms(),
                                 opts_.retry_token_lifetime_ms);
    if (!odcid && odcid.error() == Errc::malformed) {
      // Not one of our Retry tokens (e.g. another server's NEW_TOKEN): as
      // if there were none (RFC 9000 §8.1.3).
      stats_.invalid_tokens++;
      send_retry(from, hd);
      return;
    }
    if (!odcid) {
      // Our Retry token, but forged, from another address or expired: the
      // client will not accept a second Retry (RFC 9000 §8.1.2).
      stats_.invalid_tokens++;
      send_stateless_close(from, hd, NGTCP2_INVALID_TOKEN, "invalid Retry token");
      return;
    }
    retry.original_dcid = *odcid;
    retry.retry_scid = hd.dcid;
    retried = true;
  } else if (opts_.retry && !initial) {
    stats_.unroutable++;  // 0-RTT before a validated Initial: the client resends it
    return;
  }
  if (half_open_ >= opts_.max_half_open) {
    stats_.connections_refused++;
    return;
  }
  if (const char* refusal = acceptor_->admit(from); refusal != nullptr) {
    stats_.admissions_refused++;
    send_stateless_close(from, hd, NGTCP2_CONNECTION_REFUSED, refusal);
    return;
  }
  std::unique_ptr<Connection> c(new (std::nothrow) Connection(*this, true, opts_.connection));
  if (!c) {
    acceptor_->admit_dropped();
    return;
  }
  Connection* raw = c.get();
  conns_.push_back(std::move(c));
  half_open_++;
  Status st = raw->init_server(from, hd, *tls_, retried ? &retry : nullptr, validated);
  if (!st) {
    stats_.connections_refused++;
    acceptor_->admit_dropped();
    raw->teardown();
    return;
  }
  stats_.connections_accepted++;
  net::count_accept(engine());
  acceptor_->on_connection(*raw);
  if (raw->state_ == Connection::State::open) raw->read(from, data, len);
}

void Endpoint::send_retry(const sockaddr* to, const ngtcp2_pkt_hd& hd) noexcept {
  // RFC 9000 §17.2.5: a Retry from a fresh SCID, with a token proving the
  // client's address and first DCID, and the integrity tag (RFC 9001 §5.8).
  if (!retry_aead_ready_) {
    if (!make_retry_aead_ctx(retry_aead_, retry_aead_ctx_)) return;
    retry_aead_ready_ = true;
  }
  ngtcp2_cid scid;
  scid.datalen = opts_.scid_len;
  random_bytes({scid.data, scid.datalen});
  uint8_t token[RetryTokenKey::kTokenLen];
  if (!retry_key_.seal(to, hd.dcid, scid, engine().now_ms(), token)) return;
  uint8_t buf[256];
  ngtcp2_ssize n =
      ngtcp2_pkt_write_retry(buf, sizeof buf, hd.version, &hd.scid, &scid, &hd.dcid, token,
                             sizeof token, encrypt_cb, &retry_aead_, &retry_aead_ctx_);
  if (n > 0) {
    stats_.retries_sent++;
    send_control(to, buf, static_cast<size_t>(n));
  }
}

void Endpoint::send_stateless_close(const sockaddr* to, const ngtcp2_pkt_hd& hd, uint64_t code,
                                    std::string_view reason) noexcept {
  // Close at once rather than let the client time out (INVALID_TOKEN: RFC
  // 9000 §8.1.2; CONNECTION_REFUSED: §20.1). One Initial packet under the
  // Initial keys of the DCID the client used, no connection state kept. The
  // phrase is cut to what fits the packet buffer.
  reason = reason.substr(0, std::min<size_t>(reason.size(), 128));
  uint8_t cs[kInitialSecretLen], ss[kInitialSecretLen];
  PacketKeys tx;
  const bool ok = derive_initial_secrets({hd.dcid.data, hd.dcid.datalen}, cs, ss).has_value() &&
                  derive_packet_keys(kSuiteAes128Gcm, ss, tx).has_value();
  secure_wipe(cs);
  secure_wipe(ss);
  if (!ok) return;
  ngtcp2_crypto_ctx ctx;
  fill_crypto_ctx(kSuiteAes128Gcm, ctx, true);
  ngtcp2_crypto_aead_ctx aead{};
  ngtcp2_crypto_cipher_ctx hp{};
  if (make_aead_ctx(kSuiteAes128Gcm, {tx.key, tx.key_len}, aead) &&
      make_cipher_ctx(kSuiteAes128Gcm, {tx.hp, tx.key_len}, hp)) {
    uint8_t buf[kControlMax];
    ngtcp2_ssize n = ngtcp2_pkt_write_connection_close(
        buf, sizeof buf, hd.version, &hd.scid, &hd.dcid, code,
        reinterpret_cast<const uint8_t*>(reason.data()), reason.size(), encrypt_cb, &ctx.aead,
        &aead, tx.iv, hp_mask_cb, &ctx.hp, &hp);
    if (n > 0) send_control(to, buf, static_cast<size_t>(n));
  }
  free_aead_ctx(aead);
  free_cipher_ctx(hp);
}

void Endpoint::send_version_negotiation(const sockaddr* to, const ngtcp2_version_cid& vc) noexcept {
  // RFC 9000 §6.1: answer with the versions we speak (and a reserved one,
  // §15, to keep clients honest about greasing).
  if (!acceptor_) return;
  uint8_t buf[256];
  uint8_t r;
  random_bytes({&r, 1});
  const uint32_t versions[] = {NGTCP2_PROTO_VER_V1, 0x1a2a3a4au};
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(buf, sizeof buf, r, vc.scid, vc.scidlen,
                                                        vc.dcid, vc.dcidlen, versions, 2);
  if (n > 0) {
    stats_.version_negotiations++;
    send_control(to, buf, static_cast<size_t>(n));
  }
}

void Endpoint::send_stateless_reset(const sockaddr* to, const ngtcp2_version_cid& vc,
                                    size_t len) noexcept {
  // RFC 9000 §10.3: smaller than what triggered it (so two endpoints can't
  // loop), at least 21 bytes, or stay silent (§10.3.3).
  if (len < 22 || vc.dcidlen == 0) {
    stats_.unroutable++;
    return;
  }
  uint8_t token[kStatelessResetTokenLen];
  reset_key_.token({vc.dcid, vc.dcidlen}, token);
  uint8_t rand[64];
  const size_t randlen = std::min<size_t>(sizeof rand, len - 1 - kStatelessResetTokenLen);
  random_bytes({rand, randlen});
  uint8_t buf[128];
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(buf, sizeof buf, token, rand, randlen);
  if (n > 0) {
    stats_.stateless_resets++;
    send_control(to, buf, static_cast<size_t>(n));
  }
}

void Endpoint::send_control(const sockaddr* to, const uint8_t* data, size_t len) noexcept {
  if (ctl_count_ == 0) {
    const Status st = socket_->send(to, data, len, 0);
    if (st || st.error() != Errc::would_block) return;  // sent, or lost like any datagram
    // Refused by a full buffer: the socket now waits for POLLOUT and calls
    // on_writable(), which flushes the queue.
  }
  // While packets wait, later ones queue behind them (in order; the socket
  // is still waiting for writability).
  if (ctl_count_ == kControlQueue || len > kControlMax) {
    stats_.control_dropped++;
    return;
  }
  ControlPacket& p = ctl_[(ctl_head_ + ctl_count_) % kControlQueue];
  std::memcpy(&p.to, to, sockaddr_len(to));
  p.len = static_cast<uint16_t>(len);
  std::memcpy(p.data, data, len);
  ctl_count_++;
  stats_.control_queued++;
}

void Endpoint::flush_control() noexcept {
  while (ctl_count_ > 0) {
    const ControlPacket& p = ctl_[ctl_head_];
    const Status st = socket_->send(reinterpret_cast<const sockaddr*>(&p.to), p.data, p.len, 0);
    if (!st && st.error() == Errc::would_block) return;  // on_writable() comes again
    ctl_head_ = (ctl_head_ + 1) % kControlQueue;
    ctl_count_--;
  }
  ctl_head_ = 0;
}

void Endpoint::issue_new_token(Connection& c) noexcept {
  // RFC 9000 §8.1.3: a token for the client's next connection, bound to the
  // address it completed this handshake from.
  if (!opts_.issue_new_tokens || closer_.closing()) return;
  const ngtcp2_path* path = ngtcp2_conn_get_path(c.native());
  uint8_t token[RetryTokenKey::kNewTokenLen];
  if (!retry_key_.seal_new_token(reinterpret_cast<const sockaddr*>(path->remote.addr), wall_ms(),
                                 token))
    return;
  if (ngtcp2_conn_submit_new_token(c.native(), token, sizeof token) == 0)
    stats_.new_tokens_issued++;
}

void Endpoint::store_new_token(const sockaddr* server, const uint8_t* token, size_t len) {
  if (token_store_ && token_store_->put(server, {reinterpret_cast<const char*>(token), len}))
    stats_.new_tokens_received++;
}

void Endpoint::mark_dirty(Connection* c) {
  if (c->write_scheduled_) return;
  c->write_scheduled_ = true;
  dirty_.push_back(c);
  if (!idle_started_) {
    // Writes requested outside a receive batch (the application wrote to a
    // stream) run once per loop iteration, batched.
    if (!idle_init_) {
      uv_idle_init(engine().loop(), &idle_);
      idle_.data = this;
      idle_init_ = true;
    }
    uv_idle_start(&idle_, [](uv_idle_t* i) { static_cast<Endpoint*>(i->data)->on_batch_end(); });
    idle_started_ = true;
  }
}

void Endpoint::on_batch_end() {
  in_rx_batch_ = false;  // the writes below read the clock afresh
  if (idle_started_) {
    uv_idle_stop(&idle_);
    idle_started_ = false;
  }
  // Writing may mark more connections dirty (or the same one again).
  for (size_t i = 0; i < dirty_.size(); ++i) {
    Connection* c = dirty_[i];
    if (!c) continue;
    c->write_scheduled_ = false;
    if (!c->has_rx_ready()) {
      c->write();
      continue;
    }
    // Acknowledge the batch before handing its bytes to the owners (their
    // writes to a socket take longer than an ACK): the peer's next window
    // of packets is on its way a little sooner, and on a short path that
    // time is most of the round trip. Then deliver, and write again for
    // the credit given back and the owners' own writes. A handler may end
    // the connection, which clears its slot in dirty_.
    c->write();
    if (dirty_[i] == nullptr) continue;
    c->write_scheduled_ = true;  // writes asked for while delivering come below
    c->flush_rx();
    if (dirty_[i] == nullptr) continue;
    c->write_scheduled_ = false;
    c->write();
  }
  dirty_.clear();
}

void Endpoint::on_writable() {
  // The socket takes data again: queued control packets go first (they are
  // small and answer peers that are waiting), then connections holding
  // refused packets send them (and whatever else is due) in this loop
  // iteration.
  flush_control();
  for (auto& c : conns_) {
    if (c->state_ == Connection::State::open && c->send_blocked()) mark_dirty(c.get());
  }
}

void Endpoint::connection_done(Connection* c) noexcept {
  for (auto& d : dirty_) {
    if (d == c) d = nullptr;
  }
  auto it = std::find_if(conns_.begin(), conns_.end(),
                         [c](const std::unique_ptr<Connection>& p) { return p.get() == c; });
  if (it != conns_.end()) conns_.erase(it);
  maybe_finish_close();
}

void Endpoint::close_all_for_network_change() noexcept {
  std::vector<Connection*> all;  // copy: closing a connection may end it at once
  try {
    for (auto& c : conns_) all.push_back(c.get());
  } catch (...) {
    return;
  }
  for (Connection* c : all)
    if (c->state_ == Connection::State::open) c->close(0, "network changed", Errc::network_changed);
}

void Endpoint::schedule_hop() noexcept {
  uint64_t wait = opts_.hop.interval_min_ms;
  if (opts_.hop.interval_max_ms > wait) {
    uint64_t r = 0;
    random_bytes({reinterpret_cast<uint8_t*>(&r), sizeof r});
    wait += r % (opts_.hop.interval_max_ms - wait + 1);
  }
  hop_timer_.start(wait, on_hop_timer, this);
}

void Endpoint::on_hop_timer(void* self) {
  auto* ep = static_cast<Endpoint*>(self);
  if (ep->closer_.closing()) return;
  ep->hop_now();
  ep->schedule_hop();
}

void Endpoint::hop_now() noexcept {
  // A random port of the ranges other than the current one (when there is
  // another): uniform over the ports, as the official client.
  if (opts_.hop.ranges.empty()) return;
  sockaddr_storage target = hop_server_;
  auto* port = target.ss_family == AF_INET6 ? &reinterpret_cast<sockaddr_in6*>(&target)->sin6_port
                                            : &reinterpret_cast<sockaddr_in*>(&target)->sin_port;
  const auto& cur = socket_->hop_target();
  const uint16_t now_port =
      ntohs(cur.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&cur)->sin6_port
                                      : reinterpret_cast<const sockaddr_in*>(&cur)->sin_port);
  const bool single =
      opts_.hop.ranges.size() == 1 && opts_.hop.ranges[0].first == opts_.hop.ranges[0].second;
  uint16_t pick = random_port(opts_.hop.ranges);
  for (int tries = 0; tries < 16 && pick == now_port && !single; ++tries)
    pick = random_port(opts_.hop.ranges);
  *port = htons(pick);
  if (Status st = socket_->hop(reinterpret_cast<sockaddr*>(&target)); !st) {
    // Keep the current socket; the next interval tries again.
    SLUICE_LOG_INFO("quic: port hopping: no new socket (%s)", errc_message(st.error()));
  }
}

void Endpoint::on_network_changed(unsigned) noexcept {
  if (closer_.closing() || acceptor_) return;
  if (socket_->hopping()) {
    // A hop is a new socket already: take one now.
    hop_now();
    schedule_hop();
    return;
  }
  // A new socket on the same bind address, any port.
  sockaddr_storage ss{};
  if (uv_ip4_addr(opts_.bind_host.c_str(), 0, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
      uv_ip6_addr(opts_.bind_host.c_str(), 0, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
    close_all_for_network_change();
    return;
  }
  auto s = UdpSocket::create(engine().loop(), reinterpret_cast<sockaddr*>(&ss), this,
                             opts_.allow_gso, &engine());
  if (!s) {
    SLUICE_LOG_INFO("quic: network change: no new socket (%s); closing connections",
                    errc_message(s.error()));
    close_all_for_network_change();
    return;
  }
  if (opts_.transform) (*s)->set_transform(opts_.transform.get());
  try {
    retired_.reserve(retired_.size() + 1);
  } catch (...) {
    UdpSocket* raw = s->release();
    raw->close([](void* u) { delete static_cast<UdpSocket*>(u); }, raw);
    close_all_for_network_change();
    return;
  }
  std::unique_ptr<UdpSocket> old = std::move(socket_);
  socket_ = std::move(*s);
  migrations_++;
  ctl_head_ = ctl_count_ = 0;  // control packets for the old path no longer matter
  retiring_++;
  UdpSocket* raw_old = old.get();
  retired_.push_back(std::move(old));
  raw_old->close(
      [](void* u) {
        auto* ep = static_cast<Endpoint*>(u);
        if (--ep->retiring_ > 0) return;
        ep->retired_.clear();
        if (ep->retire_held_) {
          ep->retire_held_ = false;
          ep->closer_.release();  // may end the close and delete the endpoint
        }
      },
      this);
  std::vector<Connection*> all;
  try {
    for (auto& c : conns_) all.push_back(c.get());
  } catch (...) {
    close_all_for_network_change();
    return;
  }
  for (Connection* c : all) {
    if (c->state_ != Connection::State::open) continue;
    if (!c->migrate()) c->close(0, "network changed", Errc::network_changed);
  }
}

void Endpoint::close(CloseCallback cb, void* user) noexcept {
  if (closer_.closing()) {
    // A second caller (an owner closing after the Engine's stop began)
    // still hears about the end: with it, or on the next turn if it is over.
    if (!cb) return;
    if (closer_.closed()) {
      net::defer(engine(), cb, user);
    } else if (!late_cb_) {
      late_cb_ = cb;
      late_user_ = user;
    }
    return;
  }
  close_cb_ = cb;
  close_user_ = user;
  (void)closer_.begin(&Endpoint::on_closed, this);
  hop_timer_.stop();
  closer_.detach_when_closed(this);
  if (subscribed_) {
    net::unsubscribe_network_changes(engine(), this);
    subscribed_ = false;
  }
  // Copy: closing a connection may end it at once.
  std::vector<Connection*> all;
  for (auto& c : conns_) all.push_back(c.get());
  for (Connection* c : all) {
    if (c->state_ == Connection::State::open) c->close(0, "endpoint closing");
    // Don't wait out three PTOs at shutdown: the peer learns from the
    // CONNECTION_CLOSE, and a retransmission would not reach a closed socket.
    if (c->state_ != Connection::State::dead) c->teardown();
  }
  maybe_finish_close();
}

void Endpoint::maybe_finish_close() noexcept {
  if (!closer_.closing() || !conns_.empty() || socket_closing_) return;
  socket_closing_ = true;
  if (idle_init_) {
    idle_init_ = false;
    closer_.close_handle<&Endpoint::closer_>(&idle_);
  }
  // Sockets retired by a network change that are still closing count as
  // one part of the close.
  if (retiring_ > 0) {
    retire_held_ = true;
    closer_.hold();
  }
  // The last part to close detaches the endpoint and calls back (which may
  // delete it).
  socket_->close(closer_.hold_callback(), &closer_);
  closer_.arm();
}

void Endpoint::on_closed(void* self) noexcept {
  // Both callbacks are taken first: either may delete the Endpoint.
  auto* ep = static_cast<Endpoint*>(self);
  CloseCallback late = ep->late_cb_;
  void* late_user = ep->late_user_;
  CloseCallback cb = ep->close_cb_;
  void* user = ep->close_user_;
  ep->late_cb_ = nullptr;
  ep->close_cb_ = nullptr;
  if (late) late(late_user);
  if (cb) cb(user);
}

void Endpoint::engine_close() noexcept { close(nullptr, nullptr); }

}  // namespace sluice::quic
