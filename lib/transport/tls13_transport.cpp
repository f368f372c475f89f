// tls13_transport.cpp: Tls13Records (the record layer on pool Chunks),
// Tls13Transport and Tls13Dial.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "transport/tls13_transport.hpp"

#include <uv.h>

#include <algorithm>
#include <cstring>

#include "crypto/tls_context.hpp"
#include "crypto/tls_verify.hpp"
#include "net/timer.hpp"
#include "proto/tls13/messages.hpp"
#include "sluice/log.hpp"

namespace sluice {

using tls13::Alert;
using tls13::ContentType;
using tls13::Outcome;

namespace {

// Post-handshake messages (NewSessionTicket, KeyUpdate) are small; a
// declared length past this is refused rather than buffered.
constexpr size_t kMaxPostHandshakeMessage = 64 * 1024;
// Whole records opened in one pass over one read buffer.
constexpr size_t kBatch = 64;
constexpr const char* kPeerAlert = "the peer sent a fatal alert";

// header_check validates a protected record's header (RFC 8446 §5.1, §5.2).
Outcome header_check(const uint8_t* h) noexcept {
  const auto type = static_cast<ContentType>(h[0]);
  if (type != ContentType::application_data) {
    if (type == ContentType::alert || type == ContentType::handshake ||
        type == ContentType::change_cipher_spec)
      return Outcome::fail(Alert::unexpected_message, "unprotected record after the handshake");
    return Outcome::fail(Alert::unexpected_message, "unknown record type");
  }
  if (h[1] != 3) return Outcome::fail(Alert::protocol_version, "bad record version");
  const size_t len = (size_t{h[3]} << 8) | h[4];
  if (len > tls13::kMaxCiphertext)
    return Outcome::fail(Alert::record_overflow, "record longer than 2^14 + 256 bytes");
  return Outcome::success();
}

size_t record_total(const uint8_t* h) noexcept {
  return tls13::kRecordHeaderLen + ((size_t{h[3]} << 8) | h[4]);
}

std::string describe(const Outcome& o) {
  if (std::string_view(o.what()) == kPeerAlert)
    return std::string("tls13: the peer sent alert ") + tls13::alert_name(o.alert());
  return std::string("tls13: ") + o.what() + " (alert " + tls13::alert_name(o.alert()) + ")";
}

Errc errc_of(const Outcome& o) {
  return std::string_view(o.what()) == kPeerAlert ? Errc::tls_alert : o.errc();
}

// sealable_in_place: |s| can become one record where it is.
bool sealable_in_place(const Slice& s, size_t padding) {
  return s.size() <= tls13::kMaxPlaintext && s.unique() &&
         s.headroom() >= tls13::kRecordHeaderLen && s.tailroom() >= tls13::kSealOverhead + padding;
}

// sealable_without_copy: |s| becomes records in place or straight out of
// itself (Tls13Records::write).
bool sealable_without_copy(const Slice& s) {
  return sealable_in_place(s, 0) ||
         (s.unique() && (s.size() > tls13::kMaxPlaintext || s.tailroom() >= 1));
}

Result<Chain> copy_to_chain(BufferPool& pool, std::span<const uint8_t> bytes) {
  Chain c;
  while (!bytes.empty()) {
    const size_t n = std::min(bytes.size(), kClassPayload[2]);
    auto s = pool.copy_from(bytes.data(), n);
    if (!s) return s.error();
    SLUICE_TRY(c.push_back(std::move(*s)));
    bytes = bytes.subspan(n);
  }
  return c;
}

}  // namespace

// --- Tls13Records ----------------------------------------------------------

Errc Tls13Records::fail(const Outcome& o, bool send_alert) noexcept {
  if (error_ != Errc::ok) return error_;
  error_ = errc_of(o);
  reason_ = describe(o);
  if (send_alert && write_.active() && !close_sent_) {
    const uint8_t a[2] = {static_cast<uint8_t>(tls13::AlertLevel::fatal),
                          static_cast<uint8_t>(o.alert())};
    (void)seal_copy(a, ContentType::alert);
    close_sent_ = true;
  }
  return error_;
}

Outcome Tls13Records::on_handshake(std::span<const uint8_t> content) noexcept {
  hs_.insert(hs_.end(), content.begin(), content.end());
  size_t off = 0;
  Outcome result;
  while (hs_.size() - off >= 4) {
    const uint8_t* m = hs_.data() + off;
    const size_t len = (size_t{m[1]} << 16) | (size_t{m[2]} << 8) | m[3];
    if (len > kMaxPostHandshakeMessage) {
      result = Outcome::fail(Alert::decode_error, "post-handshake message too long");
      break;
    }
    if (hs_.size() - off < 4 + len) break;
    const std::span<const uint8_t> body(m + 4, len);
    const auto type = static_cast<tls13::HandshakeType>(m[0]);
    off += 4 + len;
    if (type == tls13::HandshakeType::key_update) {
      bool requested = false;
      if (result = tls13::parse_key_update(body, requested); !result) break;
      // A KeyUpdate ends its record: nothing may follow it under the old keys.
      if (off != hs_.size()) {
        result = Outcome::fail(Alert::unexpected_message, "data after a KeyUpdate in its record");
        break;
      }
      if (!read_.update()) {
        result = Outcome::fail(Alert::internal_error, "read key update failed");
        break;
      }
      ++key_updates_in_;
      if (requested && !close_sent_) {
        const uint8_t ku[5] = {static_cast<uint8_t>(tls13::HandshakeType::key_update), 0, 0, 1, 0};
        if (!seal_copy(ku, ContentType::handshake) || !write_.update()) {
          result = Outcome::fail(Alert::internal_error, "write key update failed");
          break;
        }
        ++key_updates_out_;
      }
    } else if (type == tls13::HandshakeType::new_session_ticket && !server_) {
      tls13::NewSessionTicket t;
      if (result = tls13::parse_new_session_ticket(body, t); !result) break;
      ++tickets_;
    } else {
      result = Outcome::fail(Alert::unexpected_message, "unexpected post-handshake message");
      break;
    }
  }
  hs_.erase(hs_.begin(), hs_.begin() + static_cast<ptrdiff_t>(off));
  return result;
}

Outcome Tls13Records::on_inner(ContentType type, std::span<const uint8_t> content) noexcept {
  switch (type) {
    case ContentType::handshake:
      return on_handshake(content);
    case ContentType::alert: {
      bool close_notify = false;
      Outcome o = tls13::parse_alert(content, close_notify);
      if (close_notify) peer_closed_ = true;
      if (!o && std::string_view(o.what()) == kPeerAlert) {
        // The peer's fatal alert: reported, not answered.
        (void)fail(o, false);
      }
      return o;
    }
    default:
      if (!hs_.empty())
        return Outcome::fail(Alert::unexpected_message, "handshake message interrupted");
      return Outcome::fail(Alert::unexpected_message, "unexpected record content type");
  }
}

// open_next opens the next record(s): true when it made progress (plaintext,
// a control record, end of stream), false when more raw bytes are needed.
Result<bool> Tls13Records::open_next(bool batch) noexcept {
  uint8_t h[tls13::kRecordHeaderLen];
  if (raw_.size() < sizeof h) {
    if (!raw_eof_) return false;
    if (!raw_.empty()) {
      return fail(Outcome::fail(Alert::decode_error, "the stream ended inside a TLS record"),
                  false);
    }
    truncated_ = true;  // end of stream without close_notify
    peer_closed_ = true;
    return true;
  }
  raw_.copy_out(h, sizeof h);
  if (Outcome o = header_check(h); !o) return fail(o, true);
  size_t total = record_total(h);
  if (raw_.size() < total) {
    if (!raw_eof_) return false;
    return fail(Outcome::fail(Alert::decode_error, "the stream ended inside a TLS record"), false);
  }

  Slice& f = raw_.front();
  if (f.size() >= total && f.unique()) {
    // Open every whole record of this buffer in place while it is ours
    // alone, then hand the plaintexts on as Slices sharing it.
    uint8_t* p = f.mutable_data();
    struct Ent {
      uint32_t off, len;
    };
    Ent ents[kBatch];
    size_t n = 0, off = 0;
    Outcome failure;
    for (;;) {
      ContentType type;
      std::span<uint8_t> content;
      failure = read_.open_span({p + off, total}, type, content);
      if (!failure) break;
      off += total;
      if (type == ContentType::application_data) {
        if (!hs_.empty()) {
          failure = Outcome::fail(Alert::unexpected_message, "handshake message interrupted");
          break;
        }
        if (!content.empty())
          ents[n++] = {static_cast<uint32_t>(content.data() - f.data()),
                       static_cast<uint32_t>(content.size())};
      } else if (failure = on_inner(type, content); !failure || peer_closed_) {
        break;
      }
      if (!batch || n == kBatch || f.size() - off < tls13::kRecordHeaderLen) break;
      if (!header_check(p + off)) break;  // reported by the next call
      total = record_total(p + off);
      if (f.size() - off < total) break;
    }
    if (off > 0) {
      auto head = raw_.split_to(off);
      if (!head) return head.error();
      const Slice& all = (*head)[0];
      for (size_t i = 0; i < n; ++i)
        SLUICE_TRY(plain_.push_back(all.sub(ents[i].off, ents[i].len)));
    }
    if (!failure) return fail(failure, true);
    return true;
  }

  // The record straddles two reads (or its buffer is shared): gather it
  // into one pool chunk and open it there.
  auto s = pool_.get(total <= kClassPayload[1] + kTailroom ? SizeClass::k16K : SizeClass::k64K);
  if (!s) return s.error();
  raw_.copy_out(s->append(total), total);
  raw_.advance(total);
  ContentType type;
  if (Outcome o = read_.open(*s, type); !o) return fail(o, true);
  if (type == ContentType::application_data) {
    if (!hs_.empty())
      return fail(Outcome::fail(Alert::unexpected_message, "handshake message interrupted"), true);
    if (!s->empty()) SLUICE_TRY(plain_.push_back(std::move(*s)));
    return true;
  }
  if (Outcome o = on_inner(type, s->span()); !o) return fail(o, true);
  return true;
}

Result<Slice> Tls13Records::read(bool batch) noexcept {
  for (;;) {
    if (!plain_.empty()) return plain_.pop_front();
    if (error_ != Errc::ok) return error_;
    if (peer_closed_) return Errc::eof;
    auto r = open_next(batch);
    if (!r) return r.error();
    if (!*r) return Slice();
  }
}

Status Tls13Records::seal_slice(Slice&& s, ContentType type, size_t padding) noexcept {
  SLUICE_TRY(write_.seal(s, type, padding));
  return out_.push_back(std::move(s));
}

Status Tls13Records::seal_copy(std::span<const uint8_t> bytes, ContentType type) noexcept {
  size_t padding = 0;
  if (type == ContentType::application_data && !sent_app_ && first_pad_ > 0) {
    const size_t wire = tls13::kRecordHeaderLen + bytes.size() + tls13::kSealOverhead;
    if (first_pad_ > wire && first_pad_ - wire + bytes.size() + 1 <= tls13::kMaxPlaintext + 1)
      padding = first_pad_ - wire;
  }
  auto s = pool_.get(bytes.size() + padding);
  if (!s) return s.error();
  if (!bytes.empty()) std::memcpy(s->append(bytes.size()), bytes.data(), bytes.size());
  if (type == ContentType::application_data) sent_app_ = true;
  return seal_slice(std::move(*s), type, padding);
}

Status Tls13Records::write(Chain&& plain) noexcept {
  if (error_ != Errc::ok) return error_;
  if (close_sent_) return Errc::closed;
  while (!plain.empty()) {
    const bool pad_first = !sent_app_ && first_pad_ > 0;
    if (!pad_first && sealable_in_place(plain.front(), 0)) {
      sent_app_ = true;
      SLUICE_TRY(seal_slice(plain.pop_front(), ContentType::application_data));
      continue;
    }
    if (!pad_first) {
      Slice& f = plain.front();
      const size_t n = std::min(f.size(), tls13::kMaxPlaintext);
      // A buffer of ours that cannot become the record where it is (longer
      // than 2^14, no head- or tailroom): encrypt from it into a record
      // chunk. The type byte goes where the content ends for the AEAD pass
      // (the next record's first byte, or tailroom), which is restored.
      if (f.unique() && (n < f.size() || f.tailroom() >= 1)) {
        uint8_t* p = f.mutable_data();
        const size_t total = tls13::kRecordHeaderLen + n + tls13::kSealOverhead;
        auto s =
            pool_.get(total <= kClassPayload[1] + kTailroom ? SizeClass::k16K : SizeClass::k64K);
        if (!s) return s.error();
        const uint8_t saved = p[n];
        p[n] = static_cast<uint8_t>(ContentType::application_data);
        auto sealed = write_.seal_from({p, n + 1}, {s->append(total), total});
        p[n] = saved;
        if (!sealed) return sealed.error();
        SLUICE_TRY(out_.push_back(std::move(*s)));
        plain.advance(n);
        sent_app_ = true;
        continue;
      }
    }
    // Pack what cannot be sealed where it is (too long, shared, no room)
    // into a record of up to 2^14 bytes, up to the next Slice that can.
    size_t n = 0;
    for (size_t i = 0; i < plain.count() && n < tls13::kMaxPlaintext; ++i) {
      if (i > 0 && plain[i].size() >= 4096 && sealable_without_copy(plain[i])) break;
      n += plain[i].size();
    }
    n = std::min(n, tls13::kMaxPlaintext);
    size_t padding = 0;
    if (pad_first) {
      const size_t wire = tls13::kRecordHeaderLen + n + tls13::kSealOverhead;
      if (first_pad_ > wire && first_pad_ - wire + n + 1 <= tls13::kMaxPlaintext + 1)
        padding = first_pad_ - wire;
    }
    auto s = pool_.get(n + padding);
    if (!s) return s.error();
    plain.copy_out(s->append(n), n);
    plain.advance(n);
    sent_app_ = true;
    SLUICE_TRY(seal_slice(std::move(*s), ContentType::application_data, padding));
  }
  return {};
}

Status Tls13Records::write(std::span<const uint8_t> plain) noexcept {
  if (error_ != Errc::ok) return error_;
  if (close_sent_) return Errc::closed;
  while (!plain.empty()) {
    const size_t n = std::min(plain.size(), tls13::kMaxPlaintext);
    SLUICE_TRY(seal_copy(plain.first(n), ContentType::application_data));
    plain = plain.subspan(n);
  }
  return {};
}

Status Tls13Records::send_close_notify() noexcept {
  if (close_sent_) return {};
  const uint8_t a[2] = {static_cast<uint8_t>(tls13::AlertLevel::warning),
                        static_cast<uint8_t>(Alert::close_notify)};
  SLUICE_TRY(seal_copy(a, ContentType::alert));
  close_sent_ = true;
  return {};
}

Status Tls13Records::request_key_update() noexcept {
  if (error_ != Errc::ok) return error_;
  if (close_sent_) return Errc::invalid_state;
  const uint8_t ku[5] = {static_cast<uint8_t>(tls13::HandshakeType::key_update), 0, 0, 1, 1};
  SLUICE_TRY(seal_copy(ku, ContentType::handshake));
  SLUICE_TRY(write_.update());
  ++key_updates_out_;
  return {};
}

// --- Tls13Transport --------------------------------------------------------

Tls13Transport::Tls13Transport(Engine& e, std::unique_ptr<Transport> inner) noexcept
    : engine_(e), inner_(std::move(inner)) {}

Tls13Transport::~Tls13Transport() = default;

Result<std::unique_ptr<Tls13Transport>> Tls13Transport::client(
    Engine& e, std::unique_ptr<Transport> inner, std::unique_ptr<tls13::Client> engine) {
  if (!engine) {
    close_and_delete(inner.release());
    return Errc::invalid_argument;
  }
  std::unique_ptr<Tls13Transport> t(new (std::nothrow) Tls13Transport(e, std::move(inner)));
  if (!t) return Errc::no_memory;
  t->client_ = std::move(engine);
  t->inner_->set_handler(t.get());
  return t;
}

Result<std::unique_ptr<Tls13Transport>> Tls13Transport::server(
    Engine& e, std::unique_ptr<Transport> inner, std::unique_ptr<tls13::Server> engine,
    Chain&& pending) {
  if (!engine) {
    close_and_delete(inner.release());
    return Errc::invalid_argument;
  }
  std::unique_ptr<Tls13Transport> t(new (std::nothrow) Tls13Transport(e, std::move(inner)));
  if (!t) return Errc::no_memory;
  t->server_ = std::move(engine);
  t->pending_ = std::move(pending);
  t->inner_->set_handler(t.get());
  return t;
}

Outcome Tls13Transport::engine_receive(std::span<const uint8_t> bytes) noexcept {
  return client_ ? client_->receive(bytes) : server_->receive(bytes);
}

Status Tls13Transport::flush_engine() noexcept {
  std::span<const uint8_t> out = client_ ? client_->output() : server_->output();
  if (out.empty()) return {};
  auto c = copy_to_chain(engine_.pool(), out);
  if (!c) return c.error();
  if (client_)
    client_->drain(out.size());
  else
    server_->drain(out.size());
  return inner_->write(std::move(*c));
}

Status Tls13Transport::flush_records() noexcept {
  if (!records_ || !records_->has_output()) return {};
  return inner_->write(records_->take_output());
}

void Tls13Transport::start_handshake(TlsHandshakeHandler* h) noexcept {
  if (closing_ || handshaking_ || records_) return;
  hs_handler_ = h;
  handshaking_ = true;
  hs_start_us_ = uv_hrtime() / 1000;
  std::string why;
  auto res = engine_.pool().reserve(SizeClass::k16K, kHandshakeBlocks, &why);
  if (!res) {
    const PoolStats ps = engine_.pool().stats();
    if ((ps.refused & (ps.refused - 1)) == 0) {
      SLUICE_LOG_WARN("tls13: %s handshake refused (%llu so far): %s",
                      server_ ? "incoming" : "outgoing",
                      static_cast<unsigned long long>(ps.refused), why.c_str());
    }
    finish_handshake(res.error(), std::move(why));
    return;
  }
  hs_reservation_ = std::move(*res);
  if (client_ && client_->client_hello().empty()) {
    if (Outcome o = client_->start(); !o) {
      finish_handshake(errc_of(o), describe(o));
      return;
    }
  }
  inner_->read_start();
  drive_handshake(std::move(pending_));
}

// drive_handshake gives the engine one whole record at a time, so the
// records after its last handshake record (application data, a KeyUpdate,
// an alert sent right after Finished) stay for the record layer.
void Tls13Transport::drive_handshake(Chain&& in) noexcept {
  auto connected = [this] { return client_ ? client_->connected() : server_->connected(); };
  Outcome o;
  if (Status st = hs_in_.append(std::move(in)); !st) {
    finish_handshake(st.error(), "out of memory");
    return;
  }
  while (o && !connected() && hs_in_.size() >= tls13::kRecordHeaderLen) {
    uint8_t h[tls13::kRecordHeaderLen];
    hs_in_.copy_out(h, sizeof h);
    // An oversized length goes to the engine as it is, to be refused there.
    const size_t total = std::min(record_total(h), hs_in_.size());
    if (total < record_total(h) &&
        record_total(h) <= tls13::kRecordHeaderLen + tls13::kMaxCiphertext)
      break;  // the rest of the record has not arrived
    auto p = hs_in_.linearize(total, engine_.pool());
    if (!p) {
      finish_handshake(p.error(), "out of memory");
      return;
    }
    o = engine_receive({*p, total});
    hs_in_.advance(total);
  }
  // Alerts describing a failure are flushed too, so the peer learns why.
  Status st = flush_engine();
  if (closing_) return;
  if (!o) {
    finish_handshake(errc_of(o), describe(o));
    return;
  }
  if (!st) {
    finish_handshake(st.error(), inner_->failure_reason());
    return;
  }
  if (!connected()) return;
  if (Status es = enter_record_layer(); !es) {
    finish_handshake(es.error(), "out of memory");
    return;
  }
  if (!hs_in_.empty()) {
    if (Status fs = records_->feed(std::move(hs_in_)); !fs) {
      finish_handshake(fs.error(), "out of memory");
      return;
    }
    hs_in_.clear();
  }
  finish_handshake(Errc::ok, "");
}

// enter_record_layer takes over from the engine: what it decrypted past its
// Finished is delivered first; the bytes short of a record go to the record
// layer.
Status Tls13Transport::enter_record_layer() noexcept {
  tls13::RecordProtection& rd = client_ ? client_->read_protection() : server_->read_protection();
  tls13::RecordProtection& wr = client_ ? client_->write_protection() : server_->write_protection();
  records_.reset(new (std::nothrow) Tls13Records(engine_.pool(), std::move(rd), std::move(wr),
                                                 server_ != nullptr));
  if (!records_) return Errc::no_memory;
  const std::vector<uint8_t> app =
      client_ ? client_->take_application_data() : server_->take_application_data();
  if (!app.empty()) {
    auto c = copy_to_chain(engine_.pool(), app);
    if (!c) return c.error();
    SLUICE_TRY(unread_.append(std::move(*c)));
  }
  const std::vector<uint8_t> rest =
      client_ ? client_->take_pending_input() : server_->take_pending_input();
  if (!rest.empty()) {
    auto c = copy_to_chain(engine_.pool(), rest);
    if (!c) return c.error();
    SLUICE_TRY(records_->feed(std::move(*c)));
  }
  if (client_ ? client_->peer_closed() : server_->peer_closed()) records_->mark_peer_closed();
  return {};
}

void Tls13Transport::finish_handshake(Errc e, std::string why) noexcept {
  handshaking_ = false;
  hs_reservation_.reset();
  TlsHandshakeHandler* h = hs_handler_;
  hs_handler_ = nullptr;
  if (e == Errc::ok) {
    info_.version = "TLSv1.3";
    const uint16_t id = client_ ? client_->cipher_suite() : server_->cipher_suite();
    const tls13::CipherSuite* cs = tls13::find_cipher_suite(id);
    info_.cipher = cs ? cs->name : "";
    info_.alpn = std::string(client_ ? client_->alpn() : server_->alpn());
    info_.server_name = server_ ? std::string(server_->server_name()) : "";
    info_.resumed = false;
    info_.ech_accepted = false;
    info_.handshake_us = uv_hrtime() / 1000 - hs_start_us_;
    // The keys live in the record layer now; the handshake state goes.
    client_.reset();
    server_.reset();
    if (!reading_) inner_->read_stop();
    if (!plain_out_.empty()) {
      Status st = records_->write(std::move(plain_out_));
      plain_out_.clear();
      if (st) st = flush_records();
      if (!st) {
        fail(st.error(), records_->failure_reason().empty() ? std::string(inner_->failure_reason())
                                                            : records_->failure_reason());
        e = st.error();
      }
    }
    if (e == Errc::ok) maybe_shutdown();
  } else {
    failed_ = true;
    error_ = e;
    reason_ = why.empty() ? std::string(inner_->failure_reason()) : std::move(why);
    if (reason_.empty()) reason_ = errc_message(e);
    inner_->read_stop();
  }
  if (h) h->on_handshake(e, reason_.c_str());
}

// --- inner events ----------------------------------------------------------

void Tls13Transport::on_data(Slice&& data) {
  if (closing_) return;
  if (!records_) {
    if (!handshaking_) {
      if (!pending_.push_back_compact(std::move(data))) fail(Errc::no_memory, "out of memory");
      return;
    }
    Chain c;
    if (!c.push_back(std::move(data))) {
      finish_handshake(Errc::no_memory, "out of memory");
      return;
    }
    drive_handshake(std::move(c));
    if (closing_ || failed_ || handshaking_) return;
  } else if (Status st = records_->feed(std::move(data)); !st) {
    fail(st.error(), "out of memory");
    return;
  }
  if (records_ && reading_) process_reads();
}

void Tls13Transport::on_eof() {
  if (closing_) return;
  raw_eof_ = true;
  if (!records_) {
    if (handshaking_)
      finish_handshake(Errc::eof, "tls13: the peer closed the connection during the handshake");
    return;
  }
  records_->feed_eof();
  if (reading_) process_reads();
}

void Tls13Transport::on_error(Errc e) {
  if (closing_) return;
  const std::string why = inner_->failure_reason();
  if (handshaking_) {
    finish_handshake(e, why.empty() ? errc_message(e) : why);
    return;
  }
  fail(e, why);
}

void Tls13Transport::on_write_high() {
  if (handler_ && !closing_) handler_->on_write_high();
}
void Tls13Transport::on_write_low() {
  if (handler_ && !closing_) handler_->on_write_low();
}
void Tls13Transport::on_drained() {
  if (handler_ && !closing_ && plain_out_.empty()) handler_->on_drained();
}

void Tls13Transport::fail(Errc e, const std::string& reason) noexcept {
  if (failed_ || closing_) return;
  failed_ = true;
  error_ = e;
  reason_ = reason.empty() ? errc_message(e) : reason;
  inner_->read_stop();
  if (handler_) handler_->on_error(e);
}

void Tls13Transport::process_reads() noexcept {
  if (processing_) return;
  processing_ = true;
  while (reading_ && !closing_ && !detached_ && !unread_.empty()) {
    Slice s = unread_.pop_front();
    stats_.bytes_read += s.size();
    if (handler_) handler_->on_data(std::move(s));
  }
  // gather: for a handler that takes chains, every record opened while
  // this runs, handed up in one call (a Relay writes them with one socket
  // write), including the records after one that straddled two reads.
  Chain gather;
  auto flush_gather = [&]() noexcept {
    if (gather.empty()) return;
    Chain c = std::move(gather);
    gather = Chain();
    stats_.bytes_read += c.size();
    if (handler_) handler_->on_data_chain(std::move(c));
  };
  while (reading_ && !closing_ && !detached_ && !failed_ && !eof_) {
    Result<Slice> r = records_->read(!one_record_);
    // A KeyUpdate answer or an alert may be queued.
    Status fst = flush_records();
    if (!r) {
      if (r.error() == Errc::eof) {
        eof_ = true;
        if (records_->truncated())
          SLUICE_LOG_DEBUG("tls13: peer ended the stream without close_notify");
        break;
      }
      flush_gather();
      fail(r.error(), records_->failure_reason());
      break;
    }
    if (!fst) {
      flush_gather();
      fail(fst.error(), inner_->failure_reason());
      break;
    }
    if (r->empty()) break;
    if (!one_record_ && handler_ && handler_->wants_data_chain()) {
      Status cs = gather.push_back(std::move(*r));
      if (cs) cs = gather.append(records_->take_pending_plaintext());
      if (!cs) {
        flush_gather();
        fail(cs.error(), "out of memory");
        break;
      }
      continue;
    }
    flush_gather();
    stats_.bytes_read += r->size();
    if (handler_) handler_->on_data(std::move(*r));
  }
  flush_gather();
  if (eof_ && !eof_delivered_ && reading_ && !closing_ && !detached_ && unread_.empty()) {
    eof_delivered_ = true;
    if (handler_) handler_->on_eof();
  }
  processing_ = false;
}

// --- Transport -------------------------------------------------------------

Status Tls13Transport::write(Chain&& data) noexcept {
  if (closing_ || shutdown_wanted_ || detached_) return Errc::closed;
  if (failed_) return error_;
  if (data.empty()) return {};
  stats_.bytes_written += data.size();
  if (!records_) return plain_out_.append(std::move(data));
  Status st = records_->write(std::move(data));
  if (st) st = flush_records();
  if (!st) {
    fail(st.error(), records_->failure_reason().empty() ? std::string(inner_->failure_reason())
                                                        : records_->failure_reason());
    return st;
  }
  return {};
}

Status Tls13Transport::request_key_update() noexcept {
  if (closing_ || detached_ || !records_ || shutdown_sent_) return Errc::invalid_state;
  if (failed_) return error_;
  Status st = records_->request_key_update();
  if (st) st = flush_records();
  if (!st) fail(st.error(), inner_->failure_reason());
  return st;
}

size_t Tls13Transport::write_buffered() const noexcept {
  return plain_out_.size() + (inner_ ? inner_->write_buffered() : 0);
}

void Tls13Transport::set_write_watermarks(size_t low, size_t high) noexcept {
  if (inner_) inner_->set_write_watermarks(low, high);
}

void Tls13Transport::read_start() noexcept {
  if (closing_ || failed_ || detached_) return;
  reading_ = true;
  if (handshaking_ || !records_) return;
  process_reads();
  if (reading_ && !closing_ && !failed_ && !eof_ && !detached_) inner_->read_start();
}

void Tls13Transport::read_stop() noexcept {
  reading_ = false;
  if (!closing_ && !detached_ && !handshaking_) inner_->read_stop();
}

Status Tls13Transport::unread(Chain&& data) noexcept {
  if (closing_ || detached_) return Errc::closed;
  SLUICE_TRY(data.append(std::move(unread_)));
  unread_ = std::move(data);
  if (reading_ && records_) process_reads();
  return {};
}

void Tls13Transport::maybe_shutdown() noexcept {
  if (!shutdown_wanted_ || shutdown_sent_ || !records_ || failed_ || closing_) return;
  shutdown_sent_ = true;
  Status st = records_->send_close_notify();
  if (st) st = flush_records();
  if (st) st = inner_->shutdown();
  if (!st) fail(st.error(), inner_->failure_reason());
}

Status Tls13Transport::shutdown() noexcept {
  if (closing_ || detached_) return Errc::closed;
  if (failed_) return error_;
  shutdown_wanted_ = true;
  maybe_shutdown();
  return failed_ ? Status{error_} : Status{};
}

void Tls13Transport::close(CloseCallback cb, void* user) noexcept {
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
  pending_.clear();
  hs_in_.clear();
  if (!inner_) {
    if (cb) cb(user);  // detached: nothing left to close
    return;
  }
  inner_->set_handler(nullptr);
  inner_->close(
      [](void* u) {
        auto* self = static_cast<Tls13Transport*>(u);
        self->inner_.reset();
        CloseCallback c = self->close_cb_;
        void* cu = self->close_user_;
        if (c) c(cu);  // may delete self
      },
      this);
}

Result<Tls13Transport::Detached> Tls13Transport::detach() noexcept {
  if (closing_ || detached_ || handshaking_ || !records_ || !plain_out_.empty())
    return Errc::invalid_state;
  Detached d;
  d.plaintext = std::move(unread_);
  SLUICE_TRY(d.plaintext.append(records_->take_pending_plaintext()));
  d.raw = records_->take_raw_unconsumed();
  inner_->read_stop();
  inner_->set_handler(nullptr);
  d.inner = std::move(inner_);
  detached_ = true;
  reading_ = false;
  return d;
}

// --- utls configuration ------------------------------------------------------

namespace {
// sing-box's fingerprint names; those the engine has a profile for work.
constexpr const char* kFingerprintNames[] = {
    "chrome", "firefox", "edge", "safari", "360", "qq", "ios", "android", "random", "randomized"};
}  // namespace

std::string utls_fingerprints() {
  std::string out;
  for (const char* n : kFingerprintNames) {
    if (!tls13::find_profile(n)) continue;
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string utls_fingerprint(const TlsClientOptions& tls) {
  if (!tls.enabled || !tls.utls.enabled) return "";
  return tls.utls.fingerprint.empty() ? "chrome" : tls.utls.fingerprint;
}

Status utls_check(const TlsClientOptions& tls, std::string* why) {
  const std::string fp = utls_fingerprint(tls);
  if (fp.empty()) return {};
  if (!tls13::find_profile(fp)) {
    if (why)
      *why = "utls fingerprint \"" + fp + "\" is not supported (supported: " + utls_fingerprints() +
             ")";
    return Errc::not_supported;
  }
  if (tls.ech.enabled) {
    if (why) *why = "ECH uses the BoringSSL client; disable utls or ech";
    return Errc::not_supported;
  }
  return {};
}

Result<tls13::ClientConfig> utls_client_config(std::shared_ptr<const tls::TlsClientContext> ctx,
                                               std::string_view fingerprint, std::string* why) {
  const std::string name = fingerprint.empty() ? std::string("chrome") : std::string(fingerprint);
  const tls13::ClientProfile* profile = tls13::find_profile(name);
  if (!profile) {
    if (why)
      *why = "utls fingerprint \"" + name +
             "\" is not supported (supported: " + utls_fingerprints() + ")";
    return Errc::not_supported;
  }
  tls13::ClientConfig cfg;
  cfg.profile = profile;
  cfg.server_name = ctx->send_sni() ? ctx->server_name() : std::string();
  cfg.alpn = ctx->alpn();
  // The policy lives in the context: an aliasing pointer keeps it alive.
  std::shared_ptr<const tls::VerifyPolicy> policy(ctx, &ctx->policy());
  cfg.verifier = [v = tls13::policy_verifier(std::move(policy)), host = ctx->server_name()](
                     std::span<const tls13::CertificateEntry> chain, std::string_view) {
    return v(chain, host);
  };
  return cfg;
}

// --- Tls13Dial -----------------------------------------------------------------

struct Tls13Dial::Impl final : net::DialHandler, TlsHandshakeHandler {
  Engine& engine;
  std::string host;
  uint16_t port;
  tls13::ClientConfig config;
  TlsDialOptions opts;
  Tls13DialHandler* handler;
  Tls13Dial* outer = nullptr;
  net::Dial* dial = nullptr;
  std::unique_ptr<Tls13Transport> tls;
  net::Timer timer;
  bool done = false;
  bool starting = false;

  Impl(Engine& e, std::string_view h, uint16_t p, tls13::ClientConfig c, const TlsDialOptions& o,
       Tls13DialHandler* hd)
      : engine(e), host(h), port(p), config(std::move(c)), opts(o), handler(hd), timer(e) {}

  void begin() {
    timer.start(
        opts.dial.connect_timeout_ms + opts.handshake_timeout_ms,
        [](void* p) {
          auto* self = static_cast<Impl*>(p);
          self->complete(Errc::timed_out, "TLS connection to " + self->host + " timed out");
        },
        this);
    dial = net::Dial::start(engine, host, port, opts.dial, this);
  }

  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* why) override {
    dial = nullptr;
    if (!t) {
      complete(t.error(), why);
      return;
    }
    auto c = std::unique_ptr<tls13::Client>(new (std::nothrow) tls13::Client(config));
    if (!c) {
      close_and_delete(t->release());
      complete(Errc::no_memory, "out of memory");
      return;
    }
    auto r = Tls13Transport::client(engine, std::unique_ptr<Transport>(t->release()), std::move(c));
    if (!r) {
      complete(r.error(), "TLS setup failed");
      return;
    }
    tls = std::move(*r);
    tls->set_one_record_reads(opts.one_record_reads);
    tls->start_handshake(this);
  }

  void on_handshake(Errc e, const char* reason) override { complete(e, reason); }

  void complete(Errc e, const std::string& reason) {
    if (done) return;
    done = true;
    timer.stop();
    if (dial) {
      dial->cancel();
      dial = nullptr;
    }
    Tls13DialHandler* h = handler;
    handler = nullptr;
    std::unique_ptr<Tls13Transport> t = std::move(tls);
    if (e != Errc::ok && t) close_and_delete(t.release());
    const std::string why = reason;
    if (!starting) free();
    if (h) {
      if (e == Errc::ok)
        h->on_tls13_dial(std::move(t), "");
      else
        h->on_tls13_dial(e, why.c_str());
    } else if (t) {
      close_and_delete(t.release());
    }
  }

  void cancel() {
    handler = nullptr;
    complete(Errc::canceled, "canceled");
  }

  void free() {
    delete outer;
    delete this;
  }
};

Tls13Dial* Tls13Dial::start(Engine& e, std::string_view host, uint16_t port,
                            std::shared_ptr<const tls::TlsClientContext> ctx,
                            std::string_view fingerprint, const TlsDialOptions& o,
                            Tls13DialHandler* h) noexcept {
  std::string why;
  auto cfg = utls_client_config(std::move(ctx), fingerprint, &why);
  if (!cfg) {
    h->on_tls13_dial(cfg.error(), why.c_str());
    return nullptr;
  }
  auto* impl = new (std::nothrow) Impl(e, host, port, std::move(*cfg), o, h);
  if (!impl) {
    h->on_tls13_dial(Errc::no_memory, "out of memory");
    return nullptr;
  }
  auto* d = new (std::nothrow) Tls13Dial(impl);
  impl->outer = d;
  impl->starting = true;
  impl->begin();
  impl->starting = false;
  if (!impl->done) return d;
  impl->free();
  return nullptr;
}

void Tls13Dial::cancel() noexcept { impl_->cancel(); }

}  // namespace sluice
