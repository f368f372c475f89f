// vless_stream.cpp: the response header on a VLESS stream.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/vless_stream.hpp"

#include <algorithm>
#include <cstring>

#include "proto/vless/header.hpp"

namespace sluice {

VlessStream::VlessStream(std::unique_ptr<Transport> outer, Role role, Slice&& prefix) noexcept
    : ForwardingTransport(std::move(outer)), role_(role), prefix_(std::move(prefix)) {
  response_done_ = role_ == Role::server;
}

Status VlessStream::flush_prefix(Chain* in_front_of) noexcept {
  if (prefix_.empty()) return {};
  if (in_front_of != nullptr) {
    Status st = in_front_of->push_front(std::move(prefix_));
    prefix_.reset();
    return st;
  }
  Chain c;
  SLUICE_TRY(c.push_back(std::move(prefix_)));
  prefix_.reset();
  return inner_->write(std::move(c));
}

Status VlessStream::write(Chain&& data) noexcept {
  if (failed_ || closing_) return Errc::closed;
  if (!prefix_.empty()) SLUICE_TRY(flush_prefix(&data));
  return inner_->write(std::move(data));
}

Status VlessStream::unread(Chain&& data) noexcept {
  // Bytes pushed back are payload: only meaningful once the header is gone.
  if (!response_done_) return Errc::invalid_state;
  return inner_->unread(std::move(data));
}

Status VlessStream::shutdown() noexcept {
  if (failed_ || closing_) return Errc::closed;
  // A reply with no bytes still carries the response header.
  SLUICE_TRY(flush_prefix(nullptr));
  return inner_->shutdown();
}

void VlessStream::on_data(Slice&& data) {
  if (failed_ || closing_) return;
  if (!response_done_) {
    // Collect version, addons length and the addons (skipped), then deliver
    // what follows in the same slice without copying it.
    const size_t want_now = std::min(data.size(), resp_.size() - resp_len_);
    std::memcpy(resp_.data() + resp_len_, data.data(), want_now);
    const size_t before = resp_len_;
    resp_len_ += want_now;
    auto r = vless::parse_response({resp_.data(), resp_len_});
    if (r.failed()) {
      fail(r.error, "vless: bad response header version");
      return;
    }
    if (r.need_more()) return;  // resp_ holds up to 257 bytes: always enough
    response_done_ = true;
    data.advance(r.consumed - before);
    if (data.empty()) return;
  }
  if (handler_) handler_->on_data(std::move(data));
}

void VlessStream::on_eof() {
  if (failed_ || closing_) return;
  if (!response_done_ && resp_len_ > 0) {
    fail(Errc::truncated, "vless: end of stream inside the response header");
    return;
  }
  if (handler_) handler_->on_eof();
}

}  // namespace sluice
