// tls_transport.cpp: TlsTransport, TlsConnection driven over an inner Transport.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "transport/tls_transport.hpp"

#include <uv.h>

#include <algorithm>
#include <mutex>

#include "sluice/log.hpp"

namespace sluice {

TlsTransport::TlsTransport(Engine& e, std::unique_ptr<Transport> inner) noexcept
    : engine_(e), inner_(std::move(inner)) {}

namespace {
std::mutex g_totals_mu;
TlsTransport::TlsTotals g_totals;  // guarded by g_totals_mu
}  // namespace

// The destructor folds this transport's counters into the process totals
// (once per connection, so the lock costs nothing on the data path).
TlsTransport::~TlsTransport() {
  if (!conn_) return;
  const tls::TlsConnection::RecordStats& r = conn_->record_stats();
  std::lock_guard<std::mutex> lock(g_totals_mu);
  TlsTotals& t = g_totals;
  ++t.transports;
  if (conn_->in_place()) ++t.in_place;
  t.io.raw_reads += counters_.raw_reads;
  t.io.raw_read_bytes += counters_.raw_read_bytes;
  t.io.raw_writes += counters_.raw_writes;
  t.io.raw_write_bytes += counters_.raw_write_bytes;
  t.io.read_batches += counters_.read_batches;
  t.io.write_batches += counters_.write_batches;
  t.records.records_sealed += r.records_sealed;
  t.records.sealed_in_place += r.sealed_in_place;
  t.records.seal_batches += r.seal_batches;
  t.records.records_opened += r.records_opened;
  t.records.opened_gathered += r.opened_gathered;
  t.records.opened_moved += r.opened_moved;
  t.records.key_updates_received += r.key_updates_received;
  t.records.key_updates_sent += r.key_updates_sent;
  t.records.tickets_forwarded += r.tickets_forwarded;
}

TlsTransport::TlsTotals TlsTransport::process_totals() noexcept {
  std::lock_guard<std::mutex> lock(g_totals_mu);
  return g_totals;
}

Result<std::unique_ptr<TlsTransport>> TlsTransport::client(
    Engine& e, std::unique_ptr<Transport> inner, std::shared_ptr<const tls::TlsClientContext> ctx,
    tls::TlsClientParams params) {
  params.now_ms = e.now_ms();
  auto c = tls::TlsConnection::client(std::move(ctx), e.pool(), std::move(params));
  if (!c) {
    close_and_delete(inner.release());
    return c.error();
  }
  std::unique_ptr<TlsTransport> t(new (std::nothrow) TlsTransport(e, std::move(inner)));
  if (!t) return Errc::no_memory;
  t->conn_ = std::move(*c);
  t->inner_->set_handler(t.get());
  return t;
}

Result<std::unique_ptr<TlsTransport>> TlsTransport::server(
    Engine& e, std::unique_ptr<Transport> inner, std::shared_ptr<tls::TlsServerContext> ctx) {
  auto c = tls::TlsConnection::server(std::move(ctx), e.pool());
  if (!c) {
    close_and_delete(inner.release());
    return c.error();
  }
  std::unique_ptr<TlsTransport> t(new (std::nothrow) TlsTransport(e, std::move(inner)));
  if (!t) return Errc::no_memory;
  t->conn_ = std::move(*c);
  t->inner_->set_handler(t.get());
  return t;
}

void TlsTransport::start_handshake(TlsHandshakeHandler* h) noexcept {
  if (closing_ || handshaking_ || conn_->handshake_done()) return;
  hs_handler_ = h;
  handshaking_ = true;
  hs_start_us_ = uv_hrtime() / 1000;
  // Admission under the pool cap: refuse before sending or reading a byte,
  // rather than break the handshake half-way when a buffer is refused.
  std::string why;
  auto res = engine_.pool().reserve(SizeClass::k16K, kHandshakeBlocks, &why);
  if (!res) {
    const PoolStats ps = engine_.pool().stats();
    // One warning when refusals start (and at each power of two after), not one per peer.
    if ((ps.refused & (ps.refused - 1)) == 0) {
      SLUICE_LOG_WARN("tls: %s handshake refused (%llu so far): %s",
                      conn_->is_server() ? "incoming" : "outgoing",
                      static_cast<unsigned long long>(ps.refused), why.c_str());
    }
    failed_ = true;
    error_ = res.error();
    reason_ = std::move(why);
    handshaking_ = false;
    hs_handler_ = nullptr;
    if (h) h->on_handshake(error_, reason_.c_str());
    return;
  }
  hs_reservation_ = std::move(*res);
  inner_->read_start();
  drive_handshake();
}

Status TlsTransport::flush() noexcept {
  if (!conn_->has_output()) return {};
  Chain out = conn_->take_output();
  ++counters_.raw_writes;
  counters_.raw_write_bytes += out.size();
  return inner_->write(std::move(out));
}

void TlsTransport::drive_handshake() noexcept {
  conn_->set_now(engine_.now_ms());
  const tls::HandshakeProgress p = conn_->handshake();
  // Alerts describing a failure are flushed too, so the peer learns why.
  Status st = flush();
  if (closing_) return;
  if (p == tls::HandshakeProgress::failed) {
    finish_handshake(conn_->error());
    return;
  }
  if (!st) {
    finish_handshake(st.error());
    return;
  }
  if (p == tls::HandshakeProgress::done) finish_handshake(Errc::ok);
}

void TlsTransport::finish_handshake(Errc e) noexcept {
  handshaking_ = false;
  hs_reservation_.reset();
  TlsHandshakeHandler* h = hs_handler_;
  hs_handler_ = nullptr;
  if (e == Errc::ok) {
    info_.version = conn_->version();
    info_.cipher = conn_->cipher();
    info_.alpn = conn_->alpn();
    info_.server_name = conn_->is_server() ? conn_->server_name() : "";
    info_.resumed = conn_->session_reused();
    info_.ech_accepted = conn_->ech_accepted();
    info_.handshake_us = uv_hrtime() / 1000 - hs_start_us_;
    // Received application data waits for read_start(); the inner transport
    // pauses until then so nothing piles up.
    if (!reading_) inner_->read_stop();
    if (!plain_out_.empty()) {
      Chain q = std::move(plain_out_);
      Status st = encrypt(std::move(q));
      if (!st) {
        fail(st.error(),
             conn_->failure_reason().empty() ? "write failed" : conn_->failure_reason());
        e = st.error();
      }
    }
    if (e == Errc::ok) maybe_shutdown();
  } else {
    failed_ = true;
    error_ = e;
    reason_ = conn_->failure_reason().empty() ? std::string(inner_->failure_reason())
                                              : conn_->failure_reason();
    if (reason_.empty()) reason_ = errc_message(e);
    inner_->read_stop();
  }
  if (h) h->on_handshake(e, reason_.c_str());
}

// --- inner events -------------------------------------------------------

void TlsTransport::on_data(Slice&& data) {
  if (closing_) return;
  ++counters_.raw_reads;
  counters_.raw_read_bytes += data.size();
  Status st = conn_->feed(std::move(data));
  if (!st) {
    fail(st.error(), "out of memory");
    return;
  }
  if (handshaking_) {
    drive_handshake();
    if (closing_ || failed_ || handshaking_) return;
  }
  if (conn_->handshake_done() && reading_) process_reads();
}

void TlsTransport::on_eof() {
  if (closing_) return;
  conn_->feed_eof();
  if (handshaking_) {
    drive_handshake();
    return;
  }
  if (reading_) process_reads();
}

void TlsTransport::on_error(Errc e) {
  if (closing_) return;
  const std::string why = inner_->failure_reason();
  if (handshaking_) {
    failed_ = true;
    reason_ = why.empty() ? errc_message(e) : why;
    handshaking_ = false;
    hs_reservation_.reset();
    error_ = e;
    TlsHandshakeHandler* h = hs_handler_;
    hs_handler_ = nullptr;
    if (h) h->on_handshake(e, reason_.c_str());
    return;
  }
  fail(e, why);
}

void TlsTransport::on_write_high() {
  if (handler_ && !closing_) handler_->on_write_high();
}
void TlsTransport::on_write_low() {
  if (handler_ && !closing_) handler_->on_write_low();
}
void TlsTransport::on_drained() {
  if (handler_ && !closing_ && plain_out_.empty()) handler_->on_drained();
}

void TlsTransport::fail(Errc e, const std::string& reason) noexcept {
  if (failed_ || closing_) return;
  failed_ = true;
  error_ = e;
  reason_ = reason.empty() ? errc_message(e) : reason;
  inner_->read_stop();
  if (handler_) handler_->on_error(e);
}

// process_reads delivers pushed-back bytes, then one record at a time while
// the owner wants data. A handler that calls read_stop() (or close())
// inside on_data stops it at that record boundary.
void TlsTransport::process_reads() noexcept {
  if (processing_) return;
  processing_ = true;
  while (reading_ && !closing_ && !detached_ && !unread_.empty()) {
    Slice s = unread_.pop_front();
    stats_.bytes_read += s.size();
    if (handler_) handler_->on_data(std::move(s));
  }
  while (reading_ && !closing_ && !detached_ && !failed_ && !eof_ && conn_->in_place()) {
    conn_->set_now(engine_.now_ms());
    // One record per on_data, or every complete record of the reads so far
    // (at most kReadBatch, the Slices a Chain keeps without allocating).
    Result<size_t> r = conn_->open_records(batch_, one_record_ ? 1 : kReadBatch);
    // A KeyUpdate or an alert may have queued a record to send.
    Status fst = flush();
    if (!r) {
      if (r.error() == Errc::eof) {
        eof_ = true;
        if (conn_->truncated()) SLUICE_LOG_DEBUG("tls: peer ended the stream without close_notify");
        break;
      }
      fail(r.error(), conn_->failure_reason());
      break;
    }
    if (!fst) {
      fail(fst.error(), inner_->failure_reason());
      break;
    }
    if (*r == 0) break;  // need more raw bytes
    ++counters_.read_batches;
    deliver_batch();
  }
  while (reading_ && !closing_ && !detached_ && !failed_ && !eof_ && !conn_->in_place()) {
    conn_->set_now(engine_.now_ms());
    Result<Slice> r = one_record_ ? conn_->read() : read_coalesced();
    // Post-handshake messages (a KeyUpdate) may have queued a reply.
    Status fst = flush();
    if (!r) {
      if (r.error() == Errc::eof) {
        eof_ = true;
        if (conn_->truncated()) SLUICE_LOG_DEBUG("tls: peer ended the stream without close_notify");
        break;
      }
      fail(r.error(), conn_->failure_reason());
      break;
    }
    if (!fst) {
      fail(fst.error(), inner_->failure_reason());
      break;
    }
    if (r->empty()) break;  // need more raw bytes
    stats_.bytes_read += r->size();
    if (handler_) handler_->on_data(std::move(*r));
  }
  if (eof_ && !eof_delivered_ && reading_ && !closing_ && !detached_ && unread_.empty()) {
    eof_delivered_ = true;
    if (handler_) handler_->on_eof();
  }
  processing_ = false;
}

// deliver_batch hands the opened records to the owner: in one call when it
// takes Chains (a Relay: one socket write per read), else one on_data per
// record, stopping where the owner stops reading; the rest then waits in
// unread_, delivered first on the next read_start (or given to detach()).
void TlsTransport::deliver_batch() noexcept {
  if (handler_ && !one_record_ && handler_->wants_data_chain()) {
    stats_.bytes_read += batch_.size();
    handler_->on_data_chain(std::move(batch_));
    batch_.clear();
    return;
  }
  while (!batch_.empty()) {
    if (closing_) {
      batch_.clear();
      return;
    }
    if (!reading_ || detached_ || handler_ == nullptr) {
      // After anything the owner pushed back inside on_data.
      (void)unread_.append(std::move(batch_));
      batch_.clear();
      return;
    }
    Slice s = batch_.pop_front();
    stats_.bytes_read += s.size();
    handler_->on_data(std::move(s));
  }
}

Status TlsTransport::key_update(bool request_peer) noexcept {
  if (closing_ || detached_) return Errc::closed;
  if (failed_) return error_;
  Status st = conn_->key_update(request_peer);
  if (st) st = flush();
  if (!st) fail(st.error(), conn_->failure_reason());
  return st;
}

// read_coalesced opens every complete record already received into one pool
// chunk (up to 64 KiB), so the owner sees one on_data, and typically makes
// one socket write, per inner read instead of one per 16 KiB record. The
// chunk is sized by what could come out: small records get a small chunk.
Result<Slice> TlsTransport::read_coalesced() noexcept {
  if (!conn_->record_ready()) return Slice();  // no chunk taken for a partial record
  const size_t avail = conn_->raw_unconsumed().size() + conn_->pending_plaintext();
  auto s = engine_.pool().get(std::clamp(avail, size_t{1}, kClassPayload[2]));
  if (!s) return s.error();
  const size_t room = s->tailroom() - kTailroom;
  auto n = conn_->read_into({s->append(room), room});
  if (!n) return n.error();
  s->truncate(*n);
  return std::move(*s);
}

// --- Transport ----------------------------------------------------------

Status TlsTransport::encrypt(Chain&& plain) noexcept {
  ++counters_.write_batches;
  SLUICE_TRY(conn_->write(std::move(plain)));
  return flush();
}

Status TlsTransport::write(Chain&& data) noexcept {
  if (closing_ || shutdown_wanted_ || detached_) return Errc::closed;
  if (failed_) return error_;
  if (data.empty()) return {};
  stats_.bytes_written += data.size();
  if (!conn_->handshake_done()) return plain_out_.append(std::move(data));
  Status st = encrypt(std::move(data));
  if (!st) {
    const std::string why =
        conn_->failure_reason().empty() ? inner_->failure_reason() : conn_->failure_reason();
    fail(st.error(), why);
    return st;
  }
  return {};
}

size_t TlsTransport::write_buffered() const noexcept {
  return plain_out_.size() + (inner_ ? inner_->write_buffered() : 0);
}

void TlsTransport::set_write_watermarks(size_t low, size_t high) noexcept {
  if (inner_) inner_->set_write_watermarks(low, high);
}

void TlsTransport::read_start() noexcept {
  if (closing_ || failed_ || detached_) return;
  reading_ = true;
  if (handshaking_ || !conn_->handshake_done()) return;
  process_reads();
  if (reading_ && !closing_ && !failed_ && !eof_ && !detached_) inner_->read_start();
}

void TlsTransport::read_stop() noexcept {
  reading_ = false;
  if (!closing_ && !detached_ && !handshaking_) inner_->read_stop();
}

Status TlsTransport::unread(Chain&& data) noexcept {
  if (closing_ || detached_) return Errc::closed;
  SLUICE_TRY(data.append(std::move(unread_)));
  unread_ = std::move(data);
  if (reading_ && conn_->handshake_done()) process_reads();
  return {};
}

void TlsTransport::maybe_shutdown() noexcept {
  if (!shutdown_wanted_ || shutdown_sent_ || !conn_->handshake_done() || failed_ || closing_)
    return;
  shutdown_sent_ = true;
  Status st = conn_->send_close_notify();
  if (st) st = flush();
  if (st) st = inner_->shutdown();
  if (!st) fail(st.error(), inner_->failure_reason());
}

Status TlsTransport::shutdown() noexcept {
  if (closing_ || detached_) return Errc::closed;
  if (failed_) return error_;
  shutdown_wanted_ = true;
  maybe_shutdown();
  return failed_ ? Status{error_} : Status{};
}

void TlsTransport::close(CloseCallback cb, void* user) noexcept {
  if (closing_) return;
  closing_ = true;
  handler_ = nullptr;
  hs_handler_ = nullptr;
  close_cb_ = cb;
  close_user_ = user;
  hs_reservation_.reset();
  stats_.bytes_dropped_at_close += write_buffered();
  plain_out_.clear();
  unread_.clear();
  batch_.clear();
  if (!inner_) {
    if (cb) cb(user);  // detached: nothing left to close
    return;
  }
  inner_->set_handler(nullptr);
  inner_->close(
      [](void* u) {
        auto* self = static_cast<TlsTransport*>(u);
        self->inner_.reset();
        CloseCallback c = self->close_cb_;
        void* cu = self->close_user_;
        if (c) c(cu);  // may delete self
      },
      this);
}

Result<TlsTransport::Detached> TlsTransport::detach() noexcept {
  if (closing_ || detached_ || handshaking_ || !conn_->handshake_done() || !plain_out_.empty())
    return Errc::invalid_state;
  Detached d;
  d.plaintext = std::move(unread_);
  SLUICE_TRY(d.plaintext.append(std::move(batch_)));
  while (conn_->pending_plaintext() > 0) {
    auto s = conn_->read_pending_plaintext();
    if (!s) return s.error();
    if (s->empty()) break;
    SLUICE_TRY(d.plaintext.push_back(std::move(*s)));
  }
  d.raw = conn_->take_raw_unconsumed();
  inner_->read_stop();
  inner_->set_handler(nullptr);
  d.inner = std::move(inner_);
  detached_ = true;
  reading_ = false;
  return d;
}

}  // namespace sluice
