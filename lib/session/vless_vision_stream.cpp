// vless_vision_stream.cpp: Vision padding and direct copy on one VLESS
// connection.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/vless_vision_stream.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "net/tcp_transport.hpp"
#include "proto/vless/header.hpp"
#include "sluice/log.hpp"

namespace sluice {

namespace {
// Padding works on batches of at most this many input bytes, so a batch's
// padded output (content + a block header and up to ~1.4 KiB of padding per
// 8 KiB chunk) always fits one 64 KiB pool chunk.
constexpr size_t kPadBatch = 40 * 1024;

// byte_at reads the byte at |off| of |c| (off < c.size()).
uint8_t byte_at(const Chain& c, size_t off) {
  for (size_t i = 0;; ++i) {
    if (off < c[i].size()) return c[i].data()[off];
    off -= c[i].size();
  }
}

bool starts_record(const Chain& c) {
  return c.size() >= 3 && byte_at(c, 0) == 0x17 && byte_at(c, 1) == 0x03 && byte_at(c, 2) == 0x03;
}

// record_boundary: the end of the last whole inner TLS application record
// (`17 03 03 len`) in the run of such records at the start of |c|; 0 when
// |c| does not start with a whole one. The writer switches to direct only
// on a batch of whole records (vless.md 7.5), so a batch that starts with
// records is cut there, as Xray reshapes at the last `17 03 03`.
size_t record_boundary(const Chain& c) {
  size_t off = 0;
  while (off + 5 <= c.size() && byte_at(c, off) == 0x17 && byte_at(c, off + 1) == 0x03 &&
         byte_at(c, off + 2) == 0x03) {
    const size_t next = off + 5 + ((size_t{byte_at(c, off + 3)} << 8) | byte_at(c, off + 4));
    if (next > c.size()) break;
    off = next;
  }
  return off;
}
}  // namespace

// LibsslTls drives the tls::TlsConnection a detached TlsTransport keeps.
class LibsslTls final : public VisionTls {
 public:
  LibsslTls(Engine& e, std::unique_ptr<TlsTransport> t) noexcept
      : engine_(e), t_(std::move(t)), c_(t_->connection()) {}
  Status feed(Slice&& raw) noexcept override { return c_.feed(std::move(raw)); }
  void feed_eof() noexcept override { c_.feed_eof(); }
  Status write(Chain&& plain) noexcept override {
    while (!plain.empty()) {
      Slice s = plain.pop_front();
      SLUICE_TRY(c_.write(s.span()));
    }
    return {};
  }
  Status send_close_notify() noexcept override { return c_.send_close_notify(); }
  bool has_output() const noexcept override { return c_.has_output(); }
  Chain take_output() noexcept override { return c_.take_output(); }
  Result<Slice> read() noexcept override {
    c_.set_now(engine_.now_ms());
    return c_.read();
  }
  std::string failure_reason() const override { return c_.failure_reason(); }
  Chain take_pending_plaintext() noexcept override {
    Chain out;
    while (c_.pending_plaintext() > 0) {
      auto p = c_.read_pending_plaintext();
      if (!p || p->empty()) break;
      if (!out.push_back(std::move(*p))) break;
    }
    return out;
  }
  Chain take_raw_unconsumed() noexcept override { return c_.take_raw_unconsumed(); }
  void close() noexcept override { t_->close(nullptr, nullptr); }

 private:
  Engine& engine_;
  std::unique_ptr<TlsTransport> t_;
  tls::TlsConnection& c_;
};

// EngineTls drives the Tls13Records a detached Tls13Transport keeps.
class EngineTls final : public VisionTls {
 public:
  explicit EngineTls(std::unique_ptr<Tls13Transport> t) noexcept
      : t_(std::move(t)), r_(*t_->records()) {}
  Status feed(Slice&& raw) noexcept override { return r_.feed(std::move(raw)); }
  void feed_eof() noexcept override { r_.feed_eof(); }
  Status write(Chain&& plain) noexcept override { return r_.write(std::move(plain)); }
  Status send_close_notify() noexcept override { return r_.send_close_notify(); }
  bool has_output() const noexcept override { return r_.has_output(); }
  Chain take_output() noexcept override { return r_.take_output(); }
  Result<Slice> read() noexcept override { return r_.read(false); }
  std::string failure_reason() const override { return r_.failure_reason(); }
  Chain take_pending_plaintext() noexcept override { return r_.take_pending_plaintext(); }
  Chain take_raw_unconsumed() noexcept override { return r_.take_raw_unconsumed(); }
  void close() noexcept override { t_->close(nullptr, nullptr); }

 private:
  std::unique_ptr<Tls13Transport> t_;
  Tls13Records& r_;
};

VisionStream::VisionStream(Engine& e, std::unique_ptr<VisionTls> tls, Role role,
                           const vless::UserId& id,
                           std::shared_ptr<VisionCounters> counters) noexcept
    : engine_(e),
      conn_(std::move(tls)),
      role_(role),
      writer_(state_, id),
      reader_(state_, id),
      counters_(std::move(counters)) {
  response_done_ = role_ == Role::server;
}

Result<std::unique_ptr<VisionStream>> VisionStream::create(
    Engine& e, std::unique_ptr<TlsTransport> tls, Role role, const vless::UserId& id, Slice&& first,
    Chain&& received, std::shared_ptr<VisionCounters> counters) {
  tls->read_stop();
  auto d = tls->detach();
  if (!d) {
    close_and_delete(tls.release());
    return d.error();
  }
  std::unique_ptr<VisionTls> conn(new (std::nothrow) LibsslTls(e, std::move(tls)));
  if (!conn) {
    close_and_delete(d->inner.release());
    return Errc::no_memory;
  }
  return take_over(e, std::move(conn), std::move(d->inner), std::move(d->plaintext),
                   std::move(d->raw), role, id, std::move(first), std::move(received),
                   std::move(counters));
}

Result<std::unique_ptr<VisionStream>> VisionStream::create(
    Engine& e, std::unique_ptr<Tls13Transport> tls, Role role, const vless::UserId& id,
    Slice&& first, Chain&& received, std::shared_ptr<VisionCounters> counters) {
  tls->read_stop();
  auto d = tls->detach();
  if (!d) {
    close_and_delete(tls.release());
    return d.error();
  }
  std::unique_ptr<VisionTls> conn(new (std::nothrow) EngineTls(std::move(tls)));
  if (!conn) {
    close_and_delete(d->inner.release());
    return Errc::no_memory;
  }
  return take_over(e, std::move(conn), std::move(d->inner), std::move(d->plaintext),
                   std::move(d->raw), role, id, std::move(first), std::move(received),
                   std::move(counters));
}

Result<std::unique_ptr<VisionStream>> VisionStream::take_over(
    Engine& e, std::unique_ptr<VisionTls> tls, std::unique_ptr<Transport> inner, Chain&& plaintext,
    Chain&& raw, Role role, const vless::UserId& id, Slice&& first, Chain&& received,
    std::shared_ptr<VisionCounters> counters) {
  std::unique_ptr<VisionStream> s(
      new (std::nothrow) VisionStream(e, std::move(tls), role, id, std::move(counters)));
  if (!s) {
    close_and_delete(inner.release());
    return Errc::no_memory;
  }
  s->set_inner(std::move(inner));
  Status st = s->start(std::move(first), std::move(received), std::move(plaintext), std::move(raw));
  if (!st) {
    // Owned parts are transports: close them, then free the stream.
    VisionStream* p = s.release();
    p->close([](void* u) { delete static_cast<VisionStream*>(u); }, p);
    return st.error();
  }
  return s;
}

Status VisionStream::start(Slice&& first, Chain&& received, Chain&& plaintext,
                           Chain&& raw) noexcept {
  pending_ = std::move(received);
  SLUICE_TRY(pending_.append(std::move(plaintext)));
  while (!raw.empty()) SLUICE_TRY(conn_->feed(raw.pop_front()));
  if (counters_) counters_->streams++;
  if (role_ == Role::server) {
    prefix_ = std::move(first);
    return {};
  }
  // Client: the request header and an empty long-padding block in one
  // record, so the server reads the block's user id in one buffer.
  const size_t room = first.size() + writer_.max_output_size({});
  auto buf = engine_.pool().get(room);
  if (!buf) return buf.error();
  uint8_t* p = buf->append(room);
  std::memcpy(p, first.data(), first.size());
  auto ws = writer_.write_empty({p + first.size(), room - first.size()});
  if (!ws) return ws.error();
  buf->truncate(first.size() + ws->len);
  Chain c;
  SLUICE_TRY(c.push_back(std::move(*buf)));
  return send_tls(std::move(c));
}

// --- writing ---------------------------------------------------------------

Status VisionStream::send_tls(Chain&& plain) noexcept {
  SLUICE_TRY(conn_->write(std::move(plain)));
  if (!conn_->has_output()) return {};
  return inner_->write(conn_->take_output());
}

Status VisionStream::send(Chain&& bytes) noexcept {
  if (write_raw_) return inner_->write(std::move(bytes));
  return send_tls(std::move(bytes));
}

Status VisionStream::write(Chain&& data) noexcept {
  if (failed_ || closing_) return Errc::closed;
  if (!writer_.padding() && held_.empty()) return send(std::move(data));
  return pad_and_send(std::move(data), false);
}

Status VisionStream::pad_and_send(Chain&& data, bool final) noexcept {
  if (!held_.empty()) {
    SLUICE_TRY(held_.append(std::move(data)));
    data = std::move(held_);
    held_.clear();
  }
  std::vector<std::span<const uint8_t>> spans;
  while (!data.empty()) {
    if (!writer_.padding()) return send(std::move(data));  // the rest goes unpadded
    // One batch: up to kPadBatch bytes, ending at an inner record
    // boundary when it starts with inner records.
    Chain batch;
    while (!data.empty() && batch.size() < kPadBatch) {
      Slice s = data.pop_front();
      const size_t room = kPadBatch - batch.size();
      if (s.size() > room) {
        Slice head = s.split_to(room);
        SLUICE_TRY(data.push_front(std::move(s)));
        s = std::move(head);
      }
      SLUICE_TRY(batch.push_back(std::move(s)));
    }
    const size_t cut = record_boundary(batch);
    // Inner TLS records split across writes are joined first (held back
    // until their rest arrives, which a TLS sender always sends), so the
    // writer sees whole records and can switch to direct (vless.md 7.5).
    if (cut == 0 && !final && data.empty() && state_.is_tls && starts_record(batch)) {
      held_ = std::move(batch);
      return {};
    }
    if (cut > 0 && cut < batch.size()) {
      auto head = batch.split_to(cut);
      if (!head) return head.error();
      SLUICE_TRY(batch.append(std::move(data)));
      data = std::move(batch);
      batch = std::move(*head);
    }
    spans.clear();
    for (size_t i = 0; i < batch.count(); ++i) spans.push_back(batch[i].span());
    const size_t need = writer_.max_output_size(spans);
    auto out = engine_.pool().get(need);
    if (!out) return out.error();
    auto ws = writer_.write(spans, {out->append(need), need});
    if (!ws) return ws.error();
    Chain c;
    if (!prefix_.empty()) {
      SLUICE_TRY(c.push_back(std::move(prefix_)));
      prefix_.reset();
    }
    if (ws->passthrough) {
      SLUICE_TRY(c.append(std::move(batch)));
    } else {
      out->truncate(ws->len);
      SLUICE_TRY(c.push_back(std::move(*out)));
    }
    SLUICE_TRY(send(std::move(c)));
    if (ws->switch_to_direct) {
      // This batch left through TLS; every later byte of this direction goes
      // straight to TCP (vless.md 7.5 step 1).
      write_raw_ = true;
      if (counters_) counters_->direct_write++;
      SLUICE_LOG_DEBUG("vless vision: %s send direction now direct",
                       role_ == Role::client ? "client" : "server");
    }
  }
  return {};
}

Status VisionStream::unread(Chain&& data) noexcept {
  if (failed_ || closing_) return Errc::closed;
  // Pushed-back bytes are stream data, delivered before anything else; while
  // the receive direction is still padded they would be unpadded again.
  if (!read_raw_) return Errc::invalid_state;
  SLUICE_TRY(data.append(std::move(pending_)));
  pending_ = std::move(data);
  return {};
}

Status VisionStream::shutdown() noexcept {
  if (failed_ || closing_) return Errc::closed;
  if (!held_.empty()) SLUICE_TRY(pad_and_send(Chain{}, true));
  if (!prefix_.empty()) {
    Chain c;
    SLUICE_TRY(c.push_back(std::move(prefix_)));
    prefix_.reset();
    SLUICE_TRY(send(std::move(c)));
  }
  if (!write_raw_) {
    SLUICE_TRY(conn_->send_close_notify());
    if (conn_->has_output()) SLUICE_TRY(inner_->write(conn_->take_output()));
  }
  return inner_->shutdown();
}

void VisionStream::on_closing() noexcept {
  prefix_.reset();
  pending_.clear();
  held_.clear();
  conn_->close();  // the detached TLS transport: completes at once
}

// --- reading ---------------------------------------------------------------

void VisionStream::read_start() noexcept {
  if (failed_ || closing_) return;
  reading_ = true;
  inner_->read_start();
  pump();
}

void VisionStream::read_stop() noexcept {
  reading_ = false;
  if (inner_) inner_->read_stop();
}

void VisionStream::on_data(Slice&& data) {
  if (failed_ || closing_) return;
  if (read_raw_) {
    if (reading_ && pending_.empty() && handler_) {
      handler_->on_data(std::move(data));
      return;
    }
    if (!pending_.push_back_compact(std::move(data))) fail(Errc::no_memory, "out of memory");
    return;
  }
  Status st = conn_->feed(std::move(data));
  if (!st) {
    fail(st.error(), "tls feed");
    return;
  }
  pump();
}

void VisionStream::on_eof() {
  if (failed_ || closing_) return;
  tcp_eof_ = true;
  if (!read_raw_) conn_->feed_eof();
  pump();
}

void VisionStream::fail(Errc e, const char* why) noexcept {
  if (failed_ || closing_) return;
  // Bytes opened before the failure still reach the handler, before the
  // error, as they would unbatched.
  flush_batch();
  if (failed_ || closing_) return;
  ForwardingTransport::fail(e, std::string("vless vision: ") + why);
}

void VisionStream::deliver(Slice&& s) noexcept {
  if (batch_ != nullptr) {
    if (batch_->push_back(std::move(s))) return;
    // No room for the chain's link: what is batched goes up first, then this.
    flush_batch();
  }
  if (handler_) handler_->on_data(std::move(s));
}

void VisionStream::flush_batch() noexcept {
  if (batch_ == nullptr || batch_->empty()) return;
  Chain c = std::move(*batch_);
  *batch_ = Chain();
  if (handler_) handler_->on_data_chain(std::move(c));
}

void VisionStream::pump() noexcept {
  if (in_pump_) return;
  in_pump_ = true;
  Chain batch;
  if (handler_ && handler_->wants_data_chain()) batch_ = &batch;
  pump_loop();
  flush_batch();
  batch_ = nullptr;
  in_pump_ = false;
  pump_eof();
}

void VisionStream::pump_loop() noexcept {
  while (reading_ && !failed_ && !closing_) {
    if (!pending_.empty()) {
      Slice s = pending_.pop_front();
      if (read_raw_) {
        deliver(std::move(s));
      } else {
        on_plaintext(std::move(s));
      }
      continue;
    }
    if (read_raw_) break;
    Result<Slice> r = conn_->read();
    // Post-handshake messages (KeyUpdate) may have queued a reply; it can
    // only go out while this direction still speaks TLS.
    if (conn_->has_output()) {
      Chain out = conn_->take_output();
      if (!write_raw_) (void)inner_->write(std::move(out));
    }
    if (!r) {
      if (r.error() == Errc::eof) {
        tls_eof_ = true;
        break;
      }
      fail(r.error(), conn_->failure_reason().c_str());
      break;
    }
    if (r->empty()) break;  // need more raw bytes
    on_plaintext(std::move(*r));
  }
}

void VisionStream::pump_eof() noexcept {
  const bool ended = read_raw_ ? tcp_eof_ : tls_eof_;
  if (ended && reading_ && !eof_delivered_ && pending_.empty() && !failed_ && !closing_) {
    eof_delivered_ = true;
    if (!response_done_ && resp_len_ > 0) {
      fail(Errc::truncated, "end of stream inside the response header");
    } else if (reader_.in_block()) {
      fail(Errc::truncated, "end of stream inside a padding block");
    } else if (handler_) {
      handler_->on_eof();
    }
  }
}

void VisionStream::on_plaintext(Slice&& s) noexcept {
  if (!response_done_) {
    const size_t take = std::min(s.size(), resp_.size() - resp_len_);
    std::memcpy(resp_.data() + resp_len_, s.data(), take);
    const size_t before = resp_len_;
    resp_len_ += take;
    auto r = vless::parse_response({resp_.data(), resp_len_});
    if (r.failed()) {
      fail(r.error, "bad response header version");
      return;
    }
    if (r.need_more()) return;
    response_done_ = true;
    s.advance(r.consumed - before);
    if (s.empty()) return;
  }
  if (!s.unique()) {
    auto c = engine_.pool().copy_from(s.data(), s.size());
    if (!c) {
      fail(c.error(), "out of memory");
      return;
    }
    s = std::move(*c);
  }
  auto rs = reader_.on_buffer(s.span(), s.mutable_data());
  if (!rs) {
    if (counters_) counters_->malformed++;
    fail(rs.error(), "malformed padding block");
    return;
  }
  s.truncate(rs->len);
  if (!s.empty()) deliver(std::move(s));
  if (rs->switch_to_direct && !failed_ && !closing_) switch_read_to_direct();
}

void VisionStream::switch_read_to_direct() noexcept {
  // vless.md 7.6 step 3: what TLS decrypted and did not hand out, then
  // what it received and did not read, then the TCP stream itself.
  read_raw_ = true;
  if (counters_) counters_->direct_read++;
  SLUICE_LOG_DEBUG("vless vision: %s receive direction now direct",
                   role_ == Role::client ? "client" : "server");
  // Plaintext already queued here (read before this stream took over)
  // precedes both.
  (void)pending_.append(conn_->take_pending_plaintext());
  (void)pending_.append(conn_->take_raw_unconsumed());
}

int VisionStream::splice_read_fd() const noexcept {
  if (!read_raw_ || !pending_.empty() || tcp_eof_ || failed_ || closing_) return -1;
  const auto* tcp = dynamic_cast<const net::TcpTransport*>(inner_.get());
  return tcp != nullptr ? tcp->splice_read_fd() : -1;
}

int VisionStream::splice_write_fd(bool queued_ok) const noexcept {
  if (!write_raw_ || !held_.empty() || !prefix_.empty() || failed_ || closing_) return -1;
  const auto* tcp = dynamic_cast<const net::TcpTransport*>(inner_.get());
  return tcp != nullptr ? tcp->splice_write_fd(queued_ok) : -1;
}

}  // namespace sluice
