// session/tuic_packets.cpp: TUIC Packet sending and uni-stream commands.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/tuic_packets.hpp"

#include <new>

#include "proto/tuic/fragment.hpp"

namespace sluice::tuic {

namespace {

void delete_stream(void* u) { delete static_cast<quic::QuicStream*>(u); }

}  // namespace

const char* relay_mode_name(RelayMode m) noexcept {
  return m == RelayMode::native ? "native" : "quic";
}

quic::EndpointOptions endpoint_options(quic::CongestionControl cc, uint64_t idle_timeout_ms) {
  quic::EndpointOptions eo;
  eo.connection.cc = cc;
  eo.connection.idle_timeout_ms = idle_timeout_ms;
  // Advertise large DATAGRAM frames as quinn does; the path MTU is the
  // real limit and senders fragment to it.
  eo.connection.max_datagram_frame_size = 65535;
  // quic relay mode burns one uni stream per packet; a low limit would
  // throttle UDP to one round trip per batch of MAX_STREAMS (tuic#221).
  eo.connection.max_streams_uni = 4096;
  eo.connection.max_streams_bidi = 4096;
  eo.connection.datagram_queue_max = 1024;
  return eo;
}

// --- UniOutbox ----------------------------------------------------------------

struct UniOutbox::Item final : TransportHandler {
  UniOutbox* box = nullptr;
  std::unique_ptr<quic::QuicStream> s;
  Item* prev = nullptr;
  Item* next = nullptr;
  void on_data(Slice&&) override {}
  void on_eof() override {}
  void on_error(Errc) override { box->done(this); }
  void on_drained() override { box->done(this); }
};

Status UniOutbox::send(quic::Connection& c, Chain&& data) noexcept {
  auto s = c.open_uni_stream();
  if (!s) return s.error();
  Item* it = new (std::nothrow) Item();
  if (it == nullptr) return Errc::no_memory;
  it->box = this;
  it->s = std::move(*s);
  it->s->set_handler(it);
  Status st = it->s->write(std::move(data));
  if (st) st = it->s->shutdown();
  if (!st) {
    quic::QuicStream* raw = it->s.release();
    raw->close(delete_stream, raw);
    delete it;
    return st;
  }
  it->next = head_;
  if (head_) head_->prev = it;
  head_ = it;
  count_++;
  return {};
}

void UniOutbox::done(Item* it) noexcept {
  if (it->prev) it->prev->next = it->next;
  if (it->next) it->next->prev = it->prev;
  if (head_ == it) head_ = it->next;
  count_--;
  quic::QuicStream* raw = it->s.release();
  raw->set_handler(nullptr);
  raw->close(delete_stream, raw);
  delete it;
}

void UniOutbox::close_all() noexcept {
  while (head_) done(head_);
}

// --- PacketSender -------------------------------------------------------------

Status PacketSender::send(quic::Connection& c, UniOutbox& box, RelayMode mode, uint16_t assoc_id,
                          const TargetAddress& addr, const Slice& payload) noexcept {
  const size_t len = payload.size();
  const size_t asize = address_size(&addr);
  size_t max_packet = kPacketFixedSize + asize + kMaxPacketSize;
  if (mode == RelayMode::native) {
    max_packet = c.max_datagram_payload();
    if (max_packet == 0) return c.closed() ? Errc::closed : Errc::not_supported;
  }
  auto plan = plan_fragments(len, asize, max_packet);
  if (!plan) return plan.error();
  PacketHeader h;
  h.assoc_id = assoc_id;
  // sing-box counts modulo 65535; tuic-quinn wraps the u16. Either way the
  // receiver keys on (ASSOC_ID, PKT_ID) only while a packet is partial.
  h.packet_id = next_id_++;
  h.frag_total = plan->total;
  size_t off = 0;
  uint8_t head[kMaxHeaderSize];
  for (uint8_t i = 0; i < plan->total; ++i) {
    const size_t n = plan->size_of(len, i);
    h.frag_id = i;
    h.size = static_cast<uint16_t>(n);
    h.has_address = i == 0;
    if (i == 0) h.address = addr;
    const size_t hn = encode_packet_header(h, head);
    Status st;
    if (mode == RelayMode::native) {
      st = c.send_datagram({head, hn}, {payload.data() + off, n});
    } else {
      // The payload travels as a view of the caller's Slice: only the
      // header is copied.
      Chain ch;
      auto hs = c.pool().copy_from(head, hn);
      if (!hs) return hs.error();
      st = ch.push_back(std::move(*hs));
      if (st && n > 0) st = ch.push_back(payload.sub(off, n));
      if (st) st = box.send(c, std::move(ch));
    }
    if (!st) return st;
    off += n;
  }
  sent_++;
  if (plan->total > 1) fragmented_++;
  return {};
}

// --- UniReader ----------------------------------------------------------------

UniReader::UniReader(std::unique_ptr<quic::QuicStream> s, UniReaderOwner* owner,
                     BufferPool& pool) noexcept
    : s_(std::move(s)), owner_(owner), pool_(pool) {
  s_->set_handler(this);
}

UniReader::~UniReader() = default;

void UniReader::start() noexcept {
  if (s_) s_->read_start();
}

void UniReader::stop() noexcept {
  if (s_) s_->read_stop();
}

void UniReader::close_and_delete() noexcept {
  done_ = true;
  if (!s_) {
    delete this;
    return;
  }
  s_->set_handler(nullptr);
  // The stream calls back once closed and touches nothing after: the
  // reader, and with it the stream, is deleted there.
  s_->close([](void* u) { delete static_cast<UniReader*>(u); }, this);
}

void UniReader::on_data(Slice&& d) {
  if (done_) return;
  if (buf_.size() + d.size() > kMaxHeaderSize + kMaxPacketSize) {
    finish_error(Errc::frame_too_large);
    return;
  }
  if (!buf_.push_back_compact(std::move(d))) {
    finish_error(Errc::no_memory);
    return;
  }
  try_parse();
}

void UniReader::try_parse() noexcept {
  const size_t avail = buf_.size() < kMaxHeaderSize ? buf_.size() : kMaxHeaderSize;
  auto p = buf_.linearize(avail, pool_);
  if (!p) {
    finish_error(p.error());
    return;
  }
  auto r = parse_command({*p, avail});
  if (r.need_more()) return;
  if (r.failed()) {
    finish_error(r.error);
    return;
  }
  size_t need = r.consumed;
  if (r.value.command == Command::packet) need += r.value.packet.size;
  if (buf_.size() < need) return;
  buf_.advance(r.consumed);
  Slice payload;
  const size_t n = need - r.consumed;
  if (n > 0) {
    if (buf_.front().size() >= n) {
      payload = buf_.front().sub(0, n);
    } else {
      auto one = pool_.get(n);
      if (!one) {
        finish_error(one.error());
        return;
      }
      buf_.copy_out(one->append(n), n);
      payload = std::move(*one);
    }
  }
  buf_.clear();
  done_ = true;
  owner_->on_uni_command(this, r.value, std::move(payload));
}

void UniReader::on_eof() {
  if (done_) return;
  finish_error(Errc::truncated);
}

void UniReader::on_error(Errc e) {
  if (done_) return;
  finish_error(e);
}

void UniReader::finish_error(Errc e) noexcept {
  done_ = true;
  buf_.clear();
  owner_->on_uni_error(this, e);
}

}  // namespace sluice::tuic
