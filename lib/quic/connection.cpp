// connection.cpp: one QUIC connection: ngtcp2 callbacks, the write loop, timers, close.
#include "quic/connection.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

#include "core/check.hpp"
#include "crypto/tls_session_cache.hpp"
#include "quic/datagram.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_crypto.hpp"
#include "quic/quic_stream.hpp"
#include "sluice/log.hpp"
#include "sluice_ext.h"

namespace sluice::quic {

namespace {

uint64_t now_ns() noexcept { return uv_hrtime(); }

// Probe timeouts in a row after which full-sized packets count as lost to a
// shrunken path: the third PTO comes 7 PTOs after the last acknowledgement.
constexpr size_t kBlackHolePtos = 3;
// kCompactMinClosed: stream closes before maybe_compact looks at memory
// while other streams are still open: one block of ngtcp2's stream pool
// (64 streams) at least, so a handful of short flows beside long ones costs
// no walks.
constexpr uint64_t kCompactMinClosed = 64;

// shrink_table gives back an unordered_map's buckets when it holds a
// quarter of them or less (after a burst of streams), keeping small ones.
template <typename Map>
void shrink_table(Map& m) noexcept {
  if (m.bucket_count() <= 64 || m.bucket_count() < 4 * m.size()) return;
  try {
    m.rehash(0);
  } catch (...) {  // std::bad_alloc: keep the larger table
  }
}

Connection* self(void* user) noexcept { return static_cast<Connection*>(user); }

ngtcp2_cc_algo cc_algo(CongestionControl c) noexcept {
  switch (c) {
    case CongestionControl::reno:
      return NGTCP2_CC_ALGO_RENO;
    case CongestionControl::bbr:
      return NGTCP2_CC_ALGO_BBR;
    case CongestionControl::bbr2:
      return NGTCP2_CC_ALGO_BBR2;
    default:
      return NGTCP2_CC_ALGO_CUBIC;
  }
}

std::string cid_key(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

// The packet-protection update_key callback, wrapped to count key updates.
ngtcp2_update_key g_update_key = nullptr;

Errc errc_of_liberr(int rv) noexcept {
  switch (rv) {
    case NGTCP2_ERR_CRYPTO:
      return Errc::tls_handshake_failed;
    case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
    case NGTCP2_ERR_IDLE_CLOSE:
      return Errc::timed_out;
    case NGTCP2_ERR_NOMEM:
      return Errc::no_memory;
    case NGTCP2_ERR_CALLBACK_FAILURE:
      return Errc::callback_failure;
    default:
      return Errc::protocol_violation;
  }
}

}  // namespace

void ConnectionHandler::on_stream(Connection&, std::unique_ptr<QuicStream> s) {
  // Nobody wants peer streams here: refuse it (RESET_STREAM/STOP_SENDING).
  s->reset(0);
  close_and_delete(s.release());
}

Connection::Connection(Endpoint& ep, bool server, const ConnectionOptions& o) noexcept
    : ep_(ep),
      server_(server),
      opts_(o),
      timer_(ep.engine()),
      peer_bidi_limit_(o.max_streams_bidi) {}

BufferPool& Connection::pool() noexcept { return ep_.engine().pool(); }

Connection::~Connection() {
  for (auto& [id, s] : streams_) {
    (void)id;
    s->on_closed_by_conn(Errc::closed, "connection deleted");
  }
  if (conn_) ngtcp2_conn_del(conn_);
  if (tls_.ssl) SSL_free(tls_.ssl);
}

bool Connection::handshake_completed() const noexcept {
  return conn_ && ngtcp2_conn_get_handshake_completed(conn_);
}

void Connection::fill_settings(ngtcp2_settings& s, ngtcp2_transport_params& p) const noexcept {
  ngtcp2_settings_default(&s);
  s.initial_ts = now_ns();
  // A RateController takes over the table of the algorithm built here
  // (cc_hook.cpp), which it may fall back to; reno's table is incomplete,
  // so reno becomes cubic under a controller.
  s.cc_algo = opts_.rate_controller && opts_.cc == CongestionControl::reno ? NGTCP2_CC_ALGO_CUBIC
                                                                           : cc_algo(opts_.cc);
  s.max_tx_udp_payload_size = opts_.max_tx_udp_payload_size;
  if (opts_.fixed_udp_payload_size) {
    s.no_tx_udp_payload_size_shaping = 1;
    s.no_pmtud = 1;
  }
  s.max_window = opts_.max_conn_window;
  s.max_stream_window = opts_.max_stream_window;
  s.handshake_timeout = opts_.handshake_timeout_ms * NGTCP2_MILLISECONDS;
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = opts_.stream_window;
  p.initial_max_stream_data_bidi_remote = opts_.stream_window;
  p.initial_max_stream_data_uni = opts_.stream_window;
  p.initial_max_data = opts_.conn_window;
  p.initial_max_streams_bidi = opts_.max_streams_bidi;
  p.initial_max_streams_uni = opts_.max_streams_uni;
  p.max_idle_timeout = opts_.idle_timeout_ms * NGTCP2_MILLISECONDS;
  p.max_datagram_frame_size = opts_.max_datagram_frame_size;
}

Status Connection::make_rate_controller() noexcept {
  if (!opts_.rate_controller) return {};
  if (!cc_hook::available()) return Errc::not_supported;
  rate_ctl_ = opts_.rate_controller();
  if (!rate_ctl_) return Errc::invalid_argument;
  return {};
}

void Connection::set_path(const sockaddr* remote) noexcept {
  std::memcpy(&remote_, remote, sockaddr_len(remote));
  const auto& local = ep_.socket().local_address();
  std::memcpy(&local_, &local, sizeof local_);
  path_.local.addr = reinterpret_cast<ngtcp2_sockaddr*>(&local_);
  path_.local.addrlen = ep_.socket().local_address_len();
  path_.remote.addr = reinterpret_cast<ngtcp2_sockaddr*>(&remote_);
  path_.remote.addrlen = sockaddr_len(remote);
}

Status Connection::migrate() noexcept {
  if (state_ != State::open || server_ || !conn_) return Errc::invalid_state;
  sockaddr_storage local;
  std::memcpy(&local, &ep_.socket().local_address(), sizeof local);
  const ngtcp2_path* cur = ngtcp2_conn_get_path(conn_);
  ngtcp2_path np = *cur;  // the remote as ngtcp2 knows it now
  np.local.addr = reinterpret_cast<ngtcp2_sockaddr*>(&local);
  np.local.addrlen = ep_.socket().local_address_len();
  const int rv = ngtcp2_conn_initiate_immediate_migration(conn_, &np, now_ns());
  if (rv != 0) {
    SLUICE_LOG_DEBUG("quic: migration refused: %s", ngtcp2_strerror(rv));
    return rv == NGTCP2_ERR_NOMEM ? Errc::no_memory : Errc::invalid_state;
  }
  // Reads on the new socket now carry the new local address (ngtcp2 copied
  // the path; path_ points into our own storage).
  std::memcpy(&remote_, cur->remote.addr, cur->remote.addrlen);
  path_.remote.addrlen = cur->remote.addrlen;
  std::memcpy(&local_, &local, sizeof local_);
  path_.local.addrlen = np.local.addrlen;
  npending_ = 0;  // a run the old socket refused: loss recovery resends it
  schedule_write();
  return {};
}

Status Connection::init_client(const sockaddr* remote, const QuicTlsContext& tls,
                               const std::string& host, uint16_t port) noexcept {
  timer_open_ = true;
  set_path(remote);
  ngtcp2_cid dcid, scid;
  dcid.datalen = 18;  // >= 8 bytes of entropy (RFC 9000 §7.2)
  random_bytes({dcid.data, dcid.datalen});
  scid.datalen = ep_.opts_.scid_len;
  random_bytes({scid.data, scid.datalen});
  ngtcp2_settings s;
  ngtcp2_transport_params p;
  fill_settings(s, p);
  if (!opts_.initial_token.empty()) {
    // ngtcp2_conn_client_new copies it.
    s.token.base = reinterpret_cast<uint8_t*>(const_cast<char*>(opts_.initial_token.data()));
    s.token.len = opts_.initial_token.size();
  }
  ngtcp2_callbacks cb{};
  fill_callbacks(cb);
  if (Status st = make_rate_controller(); !st) return st;
  cc_hook::Scope cc_scope(opts_.cwnd_ceiling, rate_ctl_.get(), opts_.rate_controller_deferred);
  int rv = ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path_, NGTCP2_PROTO_VER_V1, &cb, &s, &p,
                                  nullptr, this);
  if (rv != 0) return rv == NGTCP2_ERR_NOMEM ? Errc::no_memory : Errc::internal;
  if (rate_ctl_ && !cc_scope.installed()) return Errc::not_supported;
  tls_.conn = conn_;
  tls_.loop = ep_.engine().loop();
  tls_.on_early_rejected = on_early_rejected;
  tls_.user = this;
  if (!new_quic_ssl(tls, tls_)) return Errc::crypto_failure;
  ngtcp2_conn_set_tls_native_handle(conn_, tls_.ssl);
  if (install_retry_aead(conn_) != 0) return Errc::no_memory;
  if (tls::TlsSessionCache* cache = ep_.session_cache_.get()) {
    // Resume with a remembered ticket; with the server's parameters from
    // that connection, 0-RTT too (streams may be opened right away).
    tls_.cache = cache;
    tls_.cache_key = tls.session_key(host, port);
    if (SSL_SESSION* sess = cache->take(tls_.cache_key, ep_.engine().now_ms())) {
      const EarlyTransportParams* ep = session_early_params(sess);
      const bool early =
          tls.options().enable_early_data && ep != nullptr && SSL_SESSION_early_data_capable(sess);
      SSL_set_session(tls_.ssl, sess);
      SSL_set_early_data_enabled(tls_.ssl, early ? 1 : 0);
      if (early) {
        apply_early_params(conn_, *ep);
        early_attempted_ = true;
      }
      SSL_SESSION_free(sess);
    }
  }
  const std::string key = cid_key(scid.data, scid.datalen);
  ep_.register_cid(key, this);
  cids_.push_back(key);
  if (opts_.keep_alive_ms)
    ngtcp2_conn_set_keep_alive_timeout(conn_, opts_.keep_alive_ms * NGTCP2_MILLISECONDS);
  return {};
}

Status Connection::init_server(const sockaddr* remote, const ngtcp2_pkt_hd& hd,
                               const QuicTlsContext& tls, const RetryInfo* retry,
                               bool token_validated) noexcept {
  timer_open_ = true;
  set_path(remote);
  ngtcp2_cid scid;
  scid.datalen = ep_.opts_.scid_len;
  random_bytes({scid.data, scid.datalen});
  ngtcp2_settings s;
  ngtcp2_transport_params p;
  fill_settings(s, p);
  p.original_dcid = hd.dcid;  // RFC 9000 §7.3
  if (retry) {
    // After a Retry the client's first DCID travelled in the token; this
    // Initial's DCID is the Retry's SCID (RFC 9000 §7.3). The validated
    // token also validates the address (no amplification limit, §8.1).
    p.original_dcid = retry->original_dcid;
    p.retry_scid = retry->retry_scid;
    p.retry_scid_present = 1;
    s.token = hd.token;
  } else if (token_validated) {
    s.token = hd.token;  // a NEW_TOKEN of ours: no amplification limit either
  }
  p.stateless_reset_token_present = 1;
  ep_.reset_key_.token({scid.data, scid.datalen}, p.stateless_reset_token);
  ngtcp2_callbacks cb{};
  fill_callbacks(cb);
  tls_.assume_peer_max_datagram_frame_size = opts_.assume_peer_max_datagram_frame_size;
  if (Status st = make_rate_controller(); !st) return st;
  cc_hook::Scope cc_scope(opts_.cwnd_ceiling, rate_ctl_.get(), opts_.rate_controller_deferred);
  int rv = ngtcp2_conn_server_new(&conn_, &hd.scid, &scid, &path_, hd.version, &cb, &s, &p, nullptr,
                                  this);
  if (rv != 0) return rv == NGTCP2_ERR_NOMEM ? Errc::no_memory : Errc::internal;
  if (rate_ctl_ && !cc_scope.installed()) return Errc::not_supported;
  tls_.conn = conn_;
  if (tls.options().enable_early_data) {
    // The 0-RTT context: every limit a client may rely on in 0-RTT
    // (RFC 9000 §7.4.1), so tickets from a more generous configuration get
    // their 0-RTT refused rather than overrunning today's limits.
    static const char kTag[] = "sluice-quic-0rtt-v2";
    tls_.early_data_context.assign(kTag, kTag + sizeof kTag - 1);
    const EarlyTransportParams e = remember_params(p);
    for (uint64_t v : {e.initial_max_streams_bidi, e.initial_max_streams_uni,
                       e.initial_max_stream_data_bidi_local, e.initial_max_stream_data_bidi_remote,
                       e.initial_max_stream_data_uni, e.initial_max_data,
                       e.active_connection_id_limit, e.max_datagram_frame_size}) {
      for (int i = 7; i >= 0; --i)
        tls_.early_data_context.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  if (!new_quic_ssl(tls, tls_)) return Errc::crypto_failure;
  ngtcp2_conn_set_tls_native_handle(conn_, tls_.ssl);
  // Route both our CID and the client's chosen DCID (its retransmitted
  // Initials still carry it) to this connection.
  for (const ngtcp2_cid* c : std::initializer_list<const ngtcp2_cid*>{&scid, &hd.dcid}) {
    const std::string key = cid_key(c->data, c->datalen);
    ep_.register_cid(key, this);
    cids_.push_back(key);
  }
  if (opts_.keep_alive_ms)
    ngtcp2_conn_set_keep_alive_timeout(conn_, opts_.keep_alive_ms * NGTCP2_MILLISECONDS);
  return {};
}

// --- reading ------------------------------------------------------------------

void Connection::read(const sockaddr* from, const uint8_t* data, size_t len) noexcept {
  if (state_ == State::dead || state_ == State::draining) return;
  if (state_ == State::closing) return;  // RFC 9000 §10.2.1 lets us stay quiet
  ngtcp2_path path = path_;
  path.remote.addr = const_cast<ngtcp2_sockaddr*>(reinterpret_cast<const ngtcp2_sockaddr*>(from));
  path.remote.addrlen = sockaddr_len(from);
  ngtcp2_pkt_info pi{};
  stats_.packets_read++;
  in_read_ = true;
  int rv =
      ngtcp2_conn_read_pkt(conn_, &path, &pi, data, len, ep_.in_rx_batch_ ? ep_.rx_ts_ : now_ns());
  in_read_ = false;
  if (!early_streams_.empty() && rv == 0 && ngtcp2_conn_get_handshake_completed(conn_))
    reopen_early_streams();
  if (close_deferred_) {
    // A handler asked to close from inside a callback of this packet.
    close_deferred_ = false;
    if (rv == 0 || rv == NGTCP2_ERR_DISCARD_PKT) {
      std::string reason = std::move(close_reason_);
      close(close_app_error_, reason);
      return;
    }
  }
  if (rv == 0) {
    // A new remote address (NAT rebinding, port hopping) becomes our path
    // once ngtcp2 has validated it; writes use ngtcp2's path anyway.
    ep_.mark_dirty(this);
    return;
  }
  switch (rv) {
    case NGTCP2_ERR_DRAINING:
      start_draining(Errc::closed);
      return;
    case NGTCP2_ERR_DROP_CONN:
    case NGTCP2_ERR_RETRY:
      close_error_ = Errc::connection_aborted;
      teardown();
      return;
    case NGTCP2_ERR_DISCARD_PKT:
      return;
    default:
      SLUICE_LOG_DEBUG("quic: read_pkt: %s", ngtcp2_strerror(rv));
      fail(rv);
  }
}

// --- writing ------------------------------------------------------------------

void Connection::schedule_write() noexcept {
  if (state_ == State::open) ep_.mark_dirty(this);
}

void Connection::enqueue(Ring<QuicStream*>& q, QuicStream* s) noexcept {
  const bool ok = q.push_back(s);
  SLUICE_CHECK(ok);  // adopt_stream reserved a place for every stream
}

void Connection::stream_wants_send(QuicStream* s) noexcept {
  if (!s->in_send_queue_) {
    s->in_send_queue_ = true;
    enqueue(send_queue_, s);
  }
  schedule_write();
}

void Connection::stream_rx_ready(QuicStream* s) noexcept {
  if (!s->in_rx_queue_) {
    s->in_rx_queue_ = true;
    enqueue(rx_ready_, s);
  }
  // Outside a receive batch (none today: ngtcp2 reports stream data only
  // from read_pkt, whose batch ends in Endpoint::on_batch_end) the idle
  // handle would flush it.
  ep_.mark_dirty(this);
}

void Connection::stream_low_ready(QuicStream* s) noexcept {
  if (!s->in_low_queue_) {
    s->in_low_queue_ = true;
    enqueue(low_ready_, s);
  }
}

void Connection::flush_low() noexcept {
  // As flush_rx: an owner may close any stream or the connection.
  while (!low_ready_.empty() && state_ == State::open) {
    QuicStream* s = low_ready_.front();
    low_ready_.pop_front();
    s->in_low_queue_ = false;
    s->check_low();
  }
}

void Connection::forget_queued(QuicStream* s) noexcept {
  if (s->in_send_queue_) {
    if (size_t i = send_queue_.find_index(s); i < send_queue_.size()) send_queue_.erase_at(i);
    s->in_send_queue_ = false;
  }
  if (s->in_rx_queue_) {
    if (size_t i = rx_ready_.find_index(s); i < rx_ready_.size()) rx_ready_.erase_at(i);
    s->in_rx_queue_ = false;
  }
  if (s->in_low_queue_) {
    if (size_t i = low_ready_.find_index(s); i < low_ready_.size()) low_ready_.erase_at(i);
    s->in_low_queue_ = false;
  }
}

void Connection::flush_rx() noexcept {
  // One at a time from the front: an owner may close (and forget) any
  // stream, or the whole connection, from on_data.
  while (!rx_ready_.empty()) {
    QuicStream* s = rx_ready_.front();
    rx_ready_.pop_front();
    s->in_rx_queue_ = false;
    s->deliver();
  }
}

bool Connection::send_run(const sockaddr* to, size_t off, size_t len, size_t segment) noexcept {
  const uint8_t* buf = sendbuf_.chunk()->base() + sendbuf_.headroom();
  size_t sent = 0;
  Status st = ep_.socket().send(to, buf + off, len, segment, &sent);
  stats_.send_batches++;
  if (st || st.error() != Errc::would_block) return true;  // sent, or lost (loss recovery)
  // Full socket buffer: keep what did not go out; the socket calls back
  // (Endpoint::on_writable) and write() sends it before anything new.
  if (npending_ == 0 && to != reinterpret_cast<const sockaddr*>(&pending_to_))
    std::memcpy(&pending_to_, to, sockaddr_len(to));
  SLUICE_CHECK(npending_ < 2);
  pending_[npending_++] = {off + sent, len - sent, segment};
  return false;
}

bool Connection::flush_pending() noexcept {
  while (npending_ > 0) {
    const PendingRun r = pending_[0];
    npending_--;
    if (npending_ > 0) pending_[0] = pending_[1];
    const size_t before = npending_;
    if (!send_run(reinterpret_cast<const sockaddr*>(&pending_to_), r.off, r.len, r.segment)) {
      // send_run appended the unsent tail: it goes back in front.
      if (before == 1) std::swap(pending_[0], pending_[1]);
      return false;
    }
  }
  return true;
}

void Connection::write() noexcept {
  if (state_ != State::open || in_write_ || conn_ == nullptr) return;
  if (npending_ > 0 && !flush_pending()) {
    arm_timer();
    return;  // still blocked: on_writable brings us back
  }
  in_write_ = true;
  stats_.write_calls++;
  // A path that shrank under the connection (sluice_ext.h): after
  // kBlackHolePtos probe timeouts in a row, or a persistent congestion,
  // packets go back to 1200 bytes and PMTUD searches again.
  if (sluice_ngtcp2_pmtu_black_hole(conn_, kBlackHolePtos) > 0) {
    stats_.pmtu_black_holes++;
    SLUICE_LOG_DEBUG("quic: packets go unacknowledged: path MTU back to 1200 bytes, probing again");
  }
  const uint64_t now = now_ns();
  bool more = true;
  bool ok = true;
  // Each batch is at most one send quantum; keep going while ngtcp2 has
  // more to send now (it returns 0 when congestion- or pacing-limited).
  // ngtcp2's pacer moves only at update_pkt_tx_time below, so with a
  // RateController (which owns pacing: Brutal) one write is one burst of
  // at most its send quantum, and the timer brings the next at the time
  // the controller's pacer sets.
  const int max_rounds = rate_ctl_ ? 1 : 16;
  for (int rounds = 0; more && ok && rounds < max_rounds && state_ == State::open; ++rounds) {
    ok = write_batch(now, &more);
  }
  in_write_ = false;
  if (state_ == State::open) {
    // Packets holding only DATAGRAM frames must arm the probe timeout like
    // any other ack-eliciting packet (sluice_ext.h), or their loss can
    // stall the connection with their bytes counted in flight for good.
    if (stats_.datagrams_sent != dgram_marked_sent_) {
      dgram_marked_sent_ = stats_.datagrams_sent;
      sluice_ngtcp2_datagrams_pto_eliciting(conn_, &dgram_marked_pkt_, now);
    }
    ngtcp2_conn_update_pkt_tx_time(conn_, now);
    arm_timer();
    maybe_compact();
  }
  flush_low();  // last: an owner may end the connection from on_write_low
}

void Connection::maybe_compact() noexcept {
  if (streams_closed_ == 0) return;
  const uint64_t kept = sluice_ngtcp2_num_streams(conn_);
  // Due after kCompactMinClosed closes, twice the streams kept; or, to take
  // the last of a burst too, when none is left and the stream pool had
  // grown: it grows only with more than 64 streams at once, so neither
  // rule can make a compaction per packet (TUIC's UDP over one stream per
  // packet closes streams at packet rate).
  const bool many = streams_closed_ >= kCompactMinClosed && streams_closed_ >= 2 * kept;
  if (!many && !(kept == 0 && sluice_ngtcp2_stream_pool_grown(conn_))) return;
  streams_closed_ = 0;
  sluice_ngtcp2_compact_stats st;
  sluice_ngtcp2_compact(conn_, &st);
  shrink_table(streams_);
  shrink_table(orphans_);
  // Every stream we hold may be in each queue once (adopt_stream).
  const size_t held = streams_.size() + early_streams_.size();
  send_queue_.shrink_to(held);  // each false only when out of memory: kept as is
  rx_ready_.shrink_to(held);
  low_ready_.shrink_to(held);
  stats_.compactions++;
  stats_.compacted_bytes += st.bytes_freed;
  if (st.bytes_freed != 0) {
    SLUICE_LOG_DEBUG(
        "quic: %zu bytes of closed streams freed (%zu blocks, %zu kept), %llu streams left",
        st.bytes_freed, st.blocks_freed, st.blocks_kept, static_cast<unsigned long long>(kept));
  }
}

bool Connection::write_batch(uint64_t now, bool* more) noexcept {
  *more = false;
  if (!sendbuf_.chunk()) {
    auto r = ep_.engine().pool().get(SizeClass::k64K);
    if (!r) return false;
    sendbuf_ = std::move(*r);
  }
  uint8_t* buf = sendbuf_.chunk()->base() + sendbuf_.headroom();
  const size_t cap = kClassPayload[2];
  const size_t max_udp = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
  const size_t quantum = std::min(ngtcp2_conn_get_send_quantum(conn_), cap);
  const size_t max_pkts =
      std::min({UdpSocket::kMaxGsoSegments, std::max<size_t>(1, quantum / max_udp), cap / max_udp});
  size_t off = 0, npkts = 0, segment = 0;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};

  // flush sends buf[0, len) as one run; false when the socket was full
  // (the rest is pending and the batch must stop).
  auto flush = [&](size_t len) {
    if (len == 0) return true;
    return send_run(reinterpret_cast<const sockaddr*>(ps.path.remote.addr), 0, len, segment);
  };

  while (npkts < max_pkts) {
    ngtcp2_ssize nwrite = 0;
    ngtcp2_ssize ndatalen = -1;
    QuicStream* s = nullptr;
    bool fin = false;
    size_t veclen = 0;
    if (!datagrams_.empty()) {
      Slice& d = datagrams_.front();
      ngtcp2_vec v{const_cast<uint8_t*>(d.data()), d.size()};
      int accepted = 0;
      nwrite = ngtcp2_conn_writev_datagram(conn_, &ps.path, &pi, buf + off, max_udp, &accepted,
                                           NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &v, 1, now);
      if (accepted) {
        stats_.datagrams_sent++;
        datagrams_.pop_front();
      }
      if (nwrite == NGTCP2_ERR_WRITE_MORE) continue;
      if (nwrite == NGTCP2_ERR_INVALID_ARGUMENT || nwrite == NGTCP2_ERR_INVALID_STATE) {
        // Too big for the peer's limit, or the peer takes none.
        stats_.datagrams_dropped++;
        if (!accepted) datagrams_.pop_front();
        continue;
      }
      if (nwrite == 0 && !accepted) {
        // Cannot fit now (congestion-limited); try again later.
        break;
      }
    } else {
      while (!send_queue_.empty() && !send_queue_.front()->wants_send()) {
        send_queue_.front()->in_send_queue_ = false;
        send_queue_.pop_front();
      }
      ngtcp2_vec vec[16];
      size_t nvec = 0;
      int64_t sid = -1;
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
      if (!send_queue_.empty()) {
        s = send_queue_.front();
        sid = s->id_;
        size_t skip = s->unsent_in_;
        for (size_t i = s->unsent_idx_; i < s->send_.count() && nvec < 16; ++i) {
          const Slice& sl = s->send_[i];
          vec[nvec].base = const_cast<uint8_t*>(sl.data()) + skip;
          vec[nvec].len = sl.size() - skip;
          veclen += vec[nvec].len;
          skip = 0;
          ++nvec;
        }
        if (s->fin_wanted_ && veclen == s->unsent()) {
          fin = true;
          flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        }
      }
      nwrite = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, buf + off, max_udp, &ndatalen, flags,
                                         sid, nvec ? vec : nullptr, nvec, now);
      if (s && ndatalen >= 0) {
        s->on_sent(static_cast<size_t>(ndatalen), fin && static_cast<size_t>(ndatalen) == veclen);
      }
      if (nwrite < 0) {
        switch (nwrite) {
          case NGTCP2_ERR_WRITE_MORE:
            if (s && s->wants_send()) {
              // Round robin: the next stream gets the rest of this packet.
              send_queue_.pop_front();
              enqueue(send_queue_, s);
            }
            continue;
          case NGTCP2_ERR_STREAM_DATA_BLOCKED:
          case NGTCP2_ERR_STREAM_SHUT_WR:
          case NGTCP2_ERR_STREAM_NOT_FOUND:
            // Blocked by flow control (extend_max_stream_data re-queues it)
            // or no longer writable.
            if (nwrite == NGTCP2_ERR_STREAM_DATA_BLOCKED) stats_.stream_blocked++;
            if (s) {
              s->in_send_queue_ = false;
              send_queue_.pop_front();
            }
            continue;
          default:
            fail(static_cast<int>(nwrite));
            return false;
        }
      }
      if (s && !send_queue_.empty() && send_queue_.front() == s) {
        send_queue_.pop_front();
        if (s->wants_send()) {
          enqueue(send_queue_, s);
        } else {
          s->in_send_queue_ = false;
        }
      }
    }
    if (nwrite < 0) {
      fail(static_cast<int>(nwrite));
      return false;
    }
    if (nwrite == 0) break;  // nothing more now: limited, or done
    const size_t n = static_cast<size_t>(nwrite);
    stats_.packets_written++;
    if (npkts == 0) {
      segment = n;
    } else if (n > segment) {
      // A GSO run needs equal sizes with only the last smaller: send what we
      // have and start a new run with this packet.
      if (!flush(off)) {
        // Blocked: this packet stays where it is, as a second pending run.
        pending_[npending_++] = {off, n, n};
        return false;
      }
      std::memmove(buf, buf + off, n);
      off = 0;
      npkts = 0;
      segment = n;
    }
    off += n;
    ++npkts;
    if (n < segment) {
      if (!flush(off)) return false;
      off = 0;
      npkts = 0;
      *more = true;
      return true;
    }
  }
  if (!flush(off)) return false;
  *more = npkts == max_pkts;
  return true;
}

void Connection::arm_timer(bool after_idle_fire) noexcept {
  if (!timer_open_ || conn_ == nullptr) return;
  const uint64_t expiry = ngtcp2_conn_get_expiry(conn_);
  const uint64_t now = now_ns();
  uint64_t ms = 0;
  if (expiry == UINT64_MAX) {
    timer_.stop();
    return;
  }
  if (expiry > now) ms = (expiry - now + NGTCP2_MILLISECONDS - 1) / NGTCP2_MILLISECONDS;
  // While the socket is full a past deadline (the pacer's) stays past until
  // something is sent: poll at 1 ms, the socket's POLLOUT wakes us first.
  if (ms == 0 && npending_ > 0) ms = 1;
  // A deadline still past after a fire that handled the expiry and sent
  // nothing is the pacer's release time (0.12.1's ngtcp2_conn_get_expiry
  // includes it even with nothing left to pace): every other timer would
  // have moved or made the write send. Without this the loop spins on
  // 0 ms timers until the next packet arrives. New data or an arriving
  // packet writes at once anyway; loss timers have 1 ms granularity.
  if (ms == 0 && after_idle_fire) ms = 1;
  if (ms == 0) stats_.timer_immediate++;
  timer_.start(ms, on_timer, this);
}

void Connection::on_timer(void* self) {
  auto* c = static_cast<Connection*>(self);
  if (c->state_ == State::closing || c->state_ == State::draining) {
    c->teardown();  // the closing/draining period (3 PTO) is over
    return;
  }
  if (c->state_ != State::open) return;
  c->stats_.timer_fires++;
  int rv = ngtcp2_conn_handle_expiry(c->conn_, now_ns());
  if (rv != 0) {
    if (rv == NGTCP2_ERR_IDLE_CLOSE) {
      // RFC 9000 §10.1: silently discard the state.
      c->close_error_ = Errc::timed_out;
      c->close_reason_ = "idle timeout";
      c->teardown();
      return;
    }
    c->fail(rv);
    return;
  }
  const uint64_t before = c->stats_.packets_written;
  c->write();
  if (c->stats_.packets_written == before) {
    c->stats_.timer_idle++;
    if (c->state_ == State::open) c->arm_timer(true);
  }
}

// --- closing ------------------------------------------------------------------

void Connection::fail(int rv) noexcept {
  if (state_ != State::open) return;
  if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    close_error_ = Errc::timed_out;
    close_reason_ = ngtcp2_strerror(rv);
    teardown();
    return;
  }
  ngtcp2_connection_close_error ccerr;
  if (rv == NGTCP2_ERR_CRYPTO) {
    ngtcp2_connection_close_error_set_transport_error_tls_alert(
        &ccerr, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
  } else {
    ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, rv, nullptr, 0);
  }
  close_error_ = errc_of_liberr(rv);
  close_reason_ = ngtcp2_strerror(rv);
  if (rv == NGTCP2_ERR_CRYPTO && tls_.verify_error != Errc::ok) {
    close_error_ = tls_.verify_error;  // pin_mismatch or cert_verify_failed
    close_reason_ = tls_.verify_reason;
  } else if (rv == NGTCP2_ERR_CRYPTO && tls_.tls_error == SSL_R_ECH_REJECTED) {
    close_error_ = Errc::ech_rejected;
    const uint8_t* rc = nullptr;
    size_t rc_len = 0;
    SSL_get0_ech_retry_configs(tls_.ssl, &rc, &rc_len);
    ech_retry_.assign(rc, rc + rc_len);
    close_reason_ = rc_len > 0 ? "ECH rejected by the server (it sent retry configs)"
                               : "ECH rejected by the server without retry configs";
  }
  npending_ = 0;  // closing: unsent packets no longer matter
  uint8_t* buf = sendbuf_.chunk() ? sendbuf_.chunk()->base() + sendbuf_.headroom() : nullptr;
  uint8_t local[1500];
  if (!buf) buf = local;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  ngtcp2_ssize n =
      ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, buf, 1500, &ccerr, now_ns());
  if (n > 0) {
    (void)ep_.socket().send(reinterpret_cast<const sockaddr*>(ps.path.remote.addr), buf,
                            static_cast<size_t>(n), 0);
  }
  state_ = State::closing;
  detach_streams(close_error_, close_reason_.c_str());
  if (timer_open_) {
    timer_.start(3 * ngtcp2_conn_get_pto(conn_) / NGTCP2_MILLISECONDS + 1, on_timer, this);
  } else {
    teardown();
  }
}

void Connection::close(uint64_t app_error, std::string_view reason, Errc local) noexcept {
  if (state_ != State::open) return;
  if (in_read_) {
    // ngtcp2_conn_write_connection_close may not run inside a read callback:
    // read() closes once ngtcp2_conn_read_pkt has returned.
    if (!close_deferred_) {
      close_deferred_ = true;
      close_app_error_ = app_error;
      close_reason_ = std::string(reason);
    }
    return;
  }
  close_error_ = local;
  close_app_error_ = app_error;
  close_reason_ = std::string(reason);
  npending_ = 0;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_set_application_error(
      &ccerr, app_error, reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
  uint8_t buf[1500];
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  ngtcp2_ssize n =
      ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, buf, sizeof buf, &ccerr, now_ns());
  if (n > 0) {
    (void)ep_.socket().send(reinterpret_cast<const sockaddr*>(ps.path.remote.addr), buf,
                            static_cast<size_t>(n), 0);
  }
  state_ = State::closing;
  detach_streams(local, local == Errc::closed ? "connection closed" : errc_message(local));
  // RFC 9000 §10.2: stay in the closing state for three PTOs.
  if (timer_open_) {
    timer_.start(3 * ngtcp2_conn_get_pto(conn_) / NGTCP2_MILLISECONDS + 1, on_timer, this);
  } else {
    teardown();
  }
}

void Connection::start_draining(Errc e) noexcept {
  if (state_ != State::open) return;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_conn_get_connection_close_error(conn_, &ccerr);
  close_error_ = e;
  close_app_error_ = ccerr.error_code;
  if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT && ccerr.error_code != 0)
    close_error_ = ccerr.error_code == NGTCP2_CONNECTION_REFUSED ? Errc::connection_refused
                   : ccerr.error_code >= 0x100 && ccerr.error_code < 0x200
                       ? Errc::tls_alert
                       : Errc::protocol_violation;
  close_reason_.assign(reinterpret_cast<const char*>(ccerr.reason), ccerr.reasonlen);
  state_ = State::draining;
  detach_streams(Errc::connection_reset, "peer closed the connection");
  if (timer_open_) {
    timer_.start(3 * ngtcp2_conn_get_pto(conn_) / NGTCP2_MILLISECONDS + 1, on_timer, this);
  } else {
    teardown();
  }
}

void Connection::detach_streams(Errc e, const char* why) noexcept {
  // The streams forget the connection (conn_ = nullptr) and the connection
  // forgets them before anyone hears of it: an owner that closes and frees
  // its stream in on_error must leave no pointer behind here.
  auto streams = std::move(streams_);
  streams_.clear();
  send_queue_.clear();
  rx_ready_.clear();  // each stream delivers what it holds in on_closed_by_conn
  low_ready_.clear();
  for (QuicStream* s : early_streams_) streams[s->id_] = s;
  early_streams_.clear();
  for (auto& [id, s] : streams) {
    (void)id;
    s->on_closed_by_conn(e, why);
  }
}

void Connection::teardown() noexcept {
  if (teardown_done_) return;
  teardown_done_ = true;
  const State before = state_;
  state_ = State::dead;
  if (server_ && !handshake_reported_ && ep_.half_open_ > 0) ep_.half_open_--;
  for (const auto& c : cids_) ep_.unregister_cid(c);
  cids_.clear();
  // Streams hear about it before the handler (a relay closes them).
  detach_streams(close_error_ == Errc::ok ? Errc::closed : close_error_, close_reason_.c_str());
  datagrams_.clear();
  (void)before;
  if (handler_) {
    ConnectionHandler* h = handler_;
    handler_ = nullptr;
    h->on_closed(*this, close_error_ == Errc::ok ? Errc::closed : close_error_, close_app_error_,
                 close_reason_.c_str());
  }
  timer_.stop();
  if (timer_open_) {
    timer_open_ = false;
    // The endpoint deletes the connection: on the next loop turn, as the
    // callers of teardown() still use it on their way out.
    net::defer(
        ep_.engine(),
        [](void* u) {
          auto* c = static_cast<Connection*>(u);
          c->ep_.connection_done(c);
        },
        this);
  } else {
    ep_.connection_done(this);
  }
}

Status Connection::initiate_key_update() noexcept {
  if (state_ != State::open) return Errc::closed;
  int rv = ngtcp2_conn_initiate_key_update(conn_, now_ns());
  if (rv != 0) return Errc::invalid_state;
  schedule_write();
  return {};
}

ngtcp2_conn_stat Connection::conn_stat() const noexcept {
  ngtcp2_conn_stat st{};
  if (conn_) ngtcp2_conn_get_conn_stat(conn_, &st);
  return st;
}

std::string Connection::alpn() const { return tls_.ssl ? negotiated_alpn(tls_.ssl) : ""; }

bool Connection::session_resumed() const noexcept {
  return tls_.ssl && SSL_session_reused(tls_.ssl) == 1;
}

bool Connection::ech_accepted() const noexcept {
  return tls_.ssl && SSL_ech_accepted(tls_.ssl) == 1;
}

bool Connection::early_data_accepted() const noexcept {
  return tls_.ssl && SSL_early_data_accepted(tls_.ssl) == 1;
}

void Connection::on_early_rejected(void* self) noexcept {
  // Inside ngtcp2_conn_read_pkt, right before ngtcp2_conn_early_data_rejected
  // frees every stream: take ours back (nothing of 0-RTT was acknowledged,
  // so each still holds all it was given) and keep ngtcp2 away from them.
  auto* c = static_cast<Connection*>(self);
  for (auto& [id, s] : c->streams_) {
    ngtcp2_conn_set_stream_user_data(c->conn_, id, nullptr);
    c->forget_queued(s);
    c->early_streams_.push_back(s);
  }
  c->streams_.clear();
  c->orphans_.clear();
  std::sort(c->early_streams_.begin(), c->early_streams_.end(),
            [](const QuicStream* a, const QuicStream* b) { return a->id_ < b->id_; });
}

void Connection::reopen_early_streams() noexcept {
  // RFC 9001 §4.6.2: rejected 0-RTT data is sent again in 1-RTT, on fresh
  // streams; opened in the old order they get the old IDs.
  auto streams = std::move(early_streams_);
  early_streams_.clear();
  for (QuicStream* s : streams) {
    int64_t id;
    const int rv = s->bidi() ? ngtcp2_conn_open_bidi_stream(conn_, &id, s)
                             : ngtcp2_conn_open_uni_stream(conn_, &id, s);
    if (rv != 0) {
      s->on_closed_by_conn(Errc::limit_exceeded,
                           "0-RTT rejected and the stream cannot be reopened");
      continue;
    }
    s->id_ = id;
    s->rewind_unsent();
    s->fin_sent_ = false;
    streams_[id] = s;
    if (s->wants_send()) stream_wants_send(s);
  }
}

// --- streams and datagrams ----------------------------------------------------

Result<std::unique_ptr<QuicStream>> Connection::adopt_stream(int64_t id) noexcept {
  // Every stream may be in each queue once: the open ones, those waiting
  // to be reopened after a 0-RTT rejection, and this one.
  const size_t n = streams_.size() + early_streams_.size() + 1;
  if (!send_queue_.reserve(n) || !rx_ready_.reserve(n) || !low_ready_.reserve(n))
    return Errc::no_memory;
  std::unique_ptr<QuicStream> s(new (std::nothrow) QuicStream(this, id));
  if (!s) return Errc::no_memory;
  s->engine_ = &ep_.engine();
  s->count_unacked_ = opts_.watermarks_count_unacked;
  streams_[id] = s.get();
  ngtcp2_conn_set_stream_user_data(conn_, id, s.get());
  return s;
}

Result<std::unique_ptr<QuicStream>> Connection::open_bidi_stream() noexcept {
  if (state_ != State::open) return Errc::closed;
  int64_t id;
  int rv = ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) return Errc::limit_exceeded;
  if (rv != 0) return Errc::invalid_state;
  return adopt_stream(id);
}

Result<std::unique_ptr<QuicStream>> Connection::open_uni_stream() noexcept {
  if (state_ != State::open) return Errc::closed;
  int64_t id;
  int rv = ngtcp2_conn_open_uni_stream(conn_, &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) return Errc::limit_exceeded;
  if (rv != 0) return Errc::invalid_state;
  return adopt_stream(id);
}

void Connection::stream_closing(QuicStream* s) noexcept {
  auto e = std::find(early_streams_.begin(), early_streams_.end(), s);
  if (e != early_streams_.end()) {
    early_streams_.erase(e);
    orphans_.erase(s->id_);  // ngtcp2 no longer knows it: nothing to retransmit
    return;
  }
  streams_.erase(s->id_);
  forget_queued(s);
  if (state_ == State::open && conn_) {
    ngtcp2_conn_set_stream_user_data(conn_, s->id_, nullptr);
    schedule_write();
  }
}

void Connection::extend_credit(QuicStream* s, size_t n) noexcept {
  if (state_ != State::open || n == 0) return;
  ngtcp2_conn_extend_max_stream_offset(conn_, s->id_, n);
  ngtcp2_conn_extend_max_offset(conn_, n);
  schedule_write();
}

size_t Connection::max_datagram_payload() const noexcept {
  if (state_ != State::open || conn_ == nullptr) return 0;
  const ngtcp2_transport_params* rp = ngtcp2_conn_get_remote_transport_params(conn_);
  if (rp == nullptr) return 0;
  const ngtcp2_cid* dcid = ngtcp2_conn_get_dcid(conn_);
  return quic::max_datagram_payload(rp->max_datagram_frame_size,
                                    ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_),
                                    dcid ? dcid->datalen : NGTCP2_MAX_CIDLEN);
}

Status Connection::send_datagram(const uint8_t* data, size_t len) noexcept {
  return send_datagram({data, len}, {});
}

Status Connection::send_datagram(std::span<const uint8_t> head,
                                 std::span<const uint8_t> body) noexcept {
  const size_t len = head.size() + body.size();
  if (state_ != State::open) return Errc::closed;
  // The checks of the Slice form, before the copy.
  const ngtcp2_transport_params* rp = ngtcp2_conn_get_remote_transport_params(conn_);
  if (rp == nullptr || rp->max_datagram_frame_size == 0) return Errc::not_supported;
  if (len > max_datagram_payload() || datagrams_.size() >= opts_.datagram_queue_max) {
    stats_.datagrams_dropped++;
    return len > max_datagram_payload() ? Errc::frame_too_large : Errc::limit_exceeded;
  }
  auto r = ep_.engine().pool().get(len);
  if (!r) {
    stats_.datagrams_dropped++;
    return r.error();
  }
  uint8_t* dst = r->append(len);
  if (!head.empty()) std::memcpy(dst, head.data(), head.size());
  if (!body.empty()) std::memcpy(dst + head.size(), body.data(), body.size());
  return send_datagram(std::move(*r));
}

Status Connection::send_datagram(Slice&& payload) noexcept {
  if (state_ != State::open) return Errc::closed;
  const ngtcp2_transport_params* rp = ngtcp2_conn_get_remote_transport_params(conn_);
  if (rp == nullptr || rp->max_datagram_frame_size == 0) return Errc::not_supported;
  if (payload.size() > max_datagram_payload()) {
    stats_.datagrams_dropped++;
    return Errc::frame_too_large;
  }
  if (datagrams_.size() >= opts_.datagram_queue_max) {
    stats_.datagrams_dropped++;
    return Errc::limit_exceeded;
  }
  if (!datagrams_.push_back(std::move(payload))) {
    stats_.datagrams_dropped++;
    return Errc::no_memory;
  }
  schedule_write();
  return {};
}

// --- ngtcp2 callbacks -----------------------------------------------------------

int Connection::cb_recv_stream_data(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t,
                                    const uint8_t* data, size_t len, void* user,
                                    void* stream_user) {
  Connection* c = self(user);
  auto* s = static_cast<QuicStream*>(stream_user);
  if (s == nullptr) {
    // The owner closed it: discard, but keep the connection's window open.
    if (len) {
      ngtcp2_conn_extend_max_stream_offset(c->conn_, id, len);
      ngtcp2_conn_extend_max_offset(c->conn_, len);
    }
    return 0;
  }
  s->on_recv(data, len, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  return 0;
}

int Connection::cb_stream_open(ngtcp2_conn*, int64_t id, void* user) {
  Connection* c = self(user);
  auto r = c->adopt_stream(id);
  if (!r) return NGTCP2_ERR_CALLBACK_FAILURE;
  if (c->handler_) {
    c->handler_->on_stream(*c, std::move(*r));
  } else {
    ConnectionHandler dflt;
    dflt.on_stream(*c, std::move(*r));
  }
  return 0;
}

int Connection::cb_stream_close(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t app_error,
                                void* user, void* stream_user) {
  Connection* c = self(user);
  auto* s = static_cast<QuicStream*>(stream_user);
  if (s) {
    if ((flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) && !(s->rx_fin_ && s->fin_sent_))
      s->on_peer_reset(app_error);
    s->on_stream_closed();
  }
  c->orphans_.erase(id);
  c->streams_closed_++;
  // Give the peer its stream back (RFC 9000 §4.6): ngtcp2 leaves MAX_STREAMS to us.
  if (!ngtcp2_conn_is_local_stream(c->conn_, id)) {
    if (ngtcp2_is_bidi_stream(id)) {
      ngtcp2_conn_extend_max_streams_bidi(c->conn_, 1);
      c->peer_bidi_limit_++;
    } else {
      ngtcp2_conn_extend_max_streams_uni(c->conn_, 1);
    }
  }
  return 0;
}

int Connection::cb_stream_reset(ngtcp2_conn*, int64_t, uint64_t, uint64_t app_error, void*,
                                void* stream_user) {
  if (auto* s = static_cast<QuicStream*>(stream_user)) s->on_peer_reset(app_error);
  return 0;
}

int Connection::cb_stream_stop_sending(ngtcp2_conn*, int64_t, uint64_t app_error, void*,
                                       void* stream_user) {
  if (auto* s = static_cast<QuicStream*>(stream_user)) s->on_peer_reset(app_error);
  return 0;
}

int Connection::cb_acked_stream_data_offset(ngtcp2_conn*, int64_t id, uint64_t, uint64_t datalen,
                                            void* user, void* stream_user) {
  Connection* c = self(user);
  if (auto* s = static_cast<QuicStream*>(stream_user)) {
    s->on_acked(datalen);
    return 0;
  }
  auto it = c->orphans_.find(id);
  if (it != c->orphans_.end()) {
    it->second.advance(std::min<size_t>(datalen, it->second.size()));
    if (it->second.empty()) c->orphans_.erase(it);
  }
  return 0;
}

int Connection::cb_extend_max_stream_data(ngtcp2_conn*, int64_t, uint64_t, void* user,
                                          void* stream_user) {
  Connection* c = self(user);
  if (auto* s = static_cast<QuicStream*>(stream_user); s && s->wants_send())
    c->stream_wants_send(s);
  return 0;
}

int Connection::cb_extend_max_streams(ngtcp2_conn*, uint64_t, void* user) {
  Connection* c = self(user);
  if (c->handler_ && c->state_ == State::open) c->handler_->on_streams_available(*c);
  return 0;
}

int Connection::cb_handshake_completed(ngtcp2_conn*, void* user) {
  Connection* c = self(user);
  if (c->server_ && c->ep_.half_open_ > 0) c->ep_.half_open_--;
  c->handshake_reported_ = true;
  if (c->server_) c->ep_.issue_new_token(*c);  // RFC 9000 §8.1.3
  if (c->handler_) c->handler_->on_handshake_done(*c);
  return 0;
}

int Connection::cb_recv_new_token(ngtcp2_conn*, const ngtcp2_vec* token, void* user) {
  // Client: keep it for the next connection to this server (remote_ is the
  // address connect() was given).
  Connection* c = self(user);
  if (!c->server_)
    c->ep_.store_new_token(reinterpret_cast<const sockaddr*>(&c->remote_), token->base, token->len);
  return 0;
}

int Connection::cb_recv_datagram(ngtcp2_conn*, uint32_t, const uint8_t* data, size_t len,
                                 void* user) {
  Connection* c = self(user);
  c->stats_.datagrams_received++;
  if (c->handler_) c->handler_->on_datagram(*c, data, len);
  return 0;
}

int Connection::cb_get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token,
                                         size_t cidlen, void* user) {
  Connection* c = self(user);
  cid->datalen = cidlen;
  random_bytes({cid->data, cidlen});
  c->ep_.reset_key_.token({cid->data, cidlen}, token);
  std::string key = cid_key(cid->data, cidlen);
  c->ep_.register_cid(key, c);
  c->cids_.push_back(std::move(key));
  return 0;
}

int Connection::cb_remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
  Connection* c = self(user);
  const std::string key = cid_key(cid->data, cid->datalen);
  c->ep_.unregister_cid(key);
  auto it = std::find(c->cids_.begin(), c->cids_.end(), key);
  if (it != c->cids_.end()) c->cids_.erase(it);
  return 0;
}

int Connection::cb_update_key(ngtcp2_conn* conn, uint8_t* a, uint8_t* b, ngtcp2_crypto_aead_ctx* c,
                              uint8_t* d, ngtcp2_crypto_aead_ctx* e, uint8_t* f, const uint8_t* g,
                              const uint8_t* h, size_t len, void* user) {
  self(user)->stats_.key_updates++;
  return g_update_key(conn, a, b, c, d, e, f, g, h, len, user);
}

void Connection::fill_callbacks(ngtcp2_callbacks& cb) noexcept {
  set_packet_protection_callbacks(cb);
  set_tls_callbacks(cb);
  g_update_key = cb.update_key;
  cb.update_key = cb_update_key;
  cb.recv_stream_data = cb_recv_stream_data;
  cb.stream_open = cb_stream_open;
  cb.stream_close = cb_stream_close;
  cb.stream_reset = cb_stream_reset;
  cb.stream_stop_sending = cb_stream_stop_sending;
  cb.acked_stream_data_offset = cb_acked_stream_data_offset;
  cb.extend_max_stream_data = cb_extend_max_stream_data;
  cb.extend_max_local_streams_bidi = cb_extend_max_streams;
  cb.extend_max_local_streams_uni = cb_extend_max_streams;
  cb.handshake_completed = cb_handshake_completed;
  cb.recv_new_token = cb_recv_new_token;
  cb.recv_datagram = cb_recv_datagram;
  cb.get_new_connection_id = cb_get_new_connection_id;
  cb.remove_connection_id = cb_remove_connection_id;
}

}  // namespace sluice::quic
