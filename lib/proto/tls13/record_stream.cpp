// proto/tls13/record_stream.cpp: see record_stream.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tls13/record_stream.hpp"

#include <algorithm>
#include <cstring>

namespace sluice::tls13 {

Outcome RecordStream::receive(std::span<const uint8_t> bytes, const RecordFn& on_record,
                              const std::function<bool()>& go_on) {
  in_.insert(in_.end(), bytes.begin(), bytes.end());
  size_t used = 0;
  Outcome result;
  while (go_on()) {
    auto r = next_record(std::span(in_).subspan(used), read.active());
    if (r.need_more()) break;
    if (r.failed()) {
      result = r.error;
      break;
    }
    std::span<uint8_t> rec(in_.data() + used, r.consumed);
    used += r.consumed;
    if (read.active() &&
        (r.record.type == ContentType::handshake || r.record.type == ContentType::alert)) {
      result = Outcome::fail(Alert::unexpected_message, "plaintext record after ServerHello");
    } else if (read.active() && r.record.type == ContentType::application_data) {
      ContentType inner{};
      std::span<uint8_t> content;
      result = read.open_span(rec, inner, content);
      if (result) result = on_record(inner, content);
    } else {
      result = on_record(r.record.type, rec.subspan(kRecordHeaderLen));
    }
    if (!result) break;
  }
  in_.erase(in_.begin(), in_.begin() + static_cast<long>(used));
  return result;
}

Outcome RecordStream::handshake(std::span<const uint8_t> content, const MessageFn& on_message,
                                const std::function<bool(HandshakeType)>& key_change,
                                const std::function<bool()>& go_on) {
  hs_.insert(hs_.end(), content.begin(), content.end());
  size_t used = 0;
  Outcome o;
  while (go_on()) {
    auto r = next_handshake(std::span<const uint8_t>(hs_).subspan(used));
    if (r.need_more()) break;
    if (r.failed()) {
      o = r.error;
      break;
    }
    used += r.consumed;
    if (key_change(r.msg.type) && used != hs_.size()) {
      o = Outcome::fail(Alert::unexpected_message, "handshake data across a key change");
      break;
    }
    o = on_message(r.msg);
    if (!o) break;
  }
  hs_.erase(hs_.begin(), hs_.begin() + static_cast<long>(std::min(used, hs_.size())));
  return o;
}

void RecordStream::queue_plaintext(ContentType type, std::span<const uint8_t> body,
                                   uint16_t version) {
  while (!body.empty()) {
    const size_t n = std::min(body.size(), kMaxPlaintext);
    const size_t at = out_.size();
    out_.resize(at + kRecordHeaderLen);
    write_record_header(out_.data() + at, type, static_cast<uint16_t>(n));
    out_[at + 1] = static_cast<uint8_t>(version >> 8);
    out_[at + 2] = static_cast<uint8_t>(version);
    out_.insert(out_.end(), body.begin(), body.begin() + static_cast<long>(n));
    body = body.subspan(n);
  }
}

Status RecordStream::queue_protected(ContentType type, std::span<const uint8_t> body,
                                     size_t padding) {
  do {
    const size_t n = std::min(body.size(), kMaxPlaintext);
    const size_t pad = n == body.size() ? padding : 0;
    const size_t at = out_.size();
    out_.resize(at + kRecordHeaderLen + n + kSealOverhead + pad);
    if (n) std::memcpy(out_.data() + at + kRecordHeaderLen, body.data(), n);
    auto sealed = write.seal_span(std::span(out_).subspan(at), n, type, pad);
    if (!sealed) {
      out_.resize(at);
      return sealed.error();
    }
    body = body.subspan(n);
  } while (!body.empty());
  return {};
}

void RecordStream::queue_alert(AlertLevel level, Alert alert) {
  const std::array<uint8_t, 2> a = {static_cast<uint8_t>(level), static_cast<uint8_t>(alert)};
  if (write.active())
    (void)queue_protected(ContentType::alert, a);
  else
    queue_plaintext(ContentType::alert, a);
}

Outcome RecordStream::key_update(const HandshakeView& msg, bool may_write) {
  bool requested = false;
  if (Outcome o = parse_key_update(msg.body, requested); !o) return o;
  if (!read.update()) return Outcome::fail(Alert::internal_error, "read key update failed");
  if (requested && may_write) {
    std::vector<uint8_t> ku;
    if (!encode_key_update(false, ku) || !queue_protected(ContentType::handshake, ku) ||
        !write.update())
      return Outcome::fail(Alert::internal_error, "write key update failed");
  }
  return Outcome::success();
}

Status RecordStream::request_key_update() {
  std::vector<uint8_t> ku;
  if (!encode_key_update(true, ku)) return Errc::internal;
  SLUICE_TRY(queue_protected(ContentType::handshake, ku));
  return write.update();
}

void RecordStream::drain(size_t n) {
  out_.erase(out_.begin(), out_.begin() + static_cast<long>(std::min(n, out_.size())));
}

std::vector<uint8_t> RecordStream::take_application_data() { return std::exchange(app_, {}); }

Outcome parse_alert(std::span<const uint8_t> body, bool& close_notify) {
  close_notify = false;
  if (body.size() != 2) return Outcome::fail(Alert::decode_error, "alert is not two bytes");
  const auto desc = static_cast<Alert>(body[1]);
  if (desc == Alert::close_notify) {
    close_notify = true;
    return Outcome::success();
  }
  if (desc == Alert::user_canceled) return Outcome::success();
  return Outcome::fail(desc, "the peer sent a fatal alert");
}

}  // namespace sluice::tls13
