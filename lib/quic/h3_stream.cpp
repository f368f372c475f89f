// h3_stream.cpp: one HTTP/3 request/response exchange (RFC 9114 §4.1).
#include "quic/h3_stream.hpp"

#include <algorithm>
#include <cstdio>

#include "quic/h3_connection.hpp"
#include "quic/quic_stream.hpp"

namespace sluice::quic {

namespace {

// kMaxDataFrame bounds the body handed to nghttp3 per read_data call, so
// one DATA frame never pushes the QUIC stream far past its high watermark.
constexpr size_t kMaxDataFrame = 256 * 1024;

bool ascii_ieq(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

H3Stream::H3Stream(H3Connection& c, std::unique_ptr<QuicStream> s, bool server) noexcept
    : conn_(c), qs_(std::move(s)), id_(qs_->id()), server_(server) {
  qs_->set_handler(this);
  qs_->set_write_watermarks(low_, high_);
}

H3Stream::~H3Stream() {
  if (!qs_) return;
  qs_->set_handler(nullptr);
  // A finished exchange closes cleanly (both FINs, everything acknowledged);
  // anything else is abandoned with an HTTP/3 code (RFC 9114 §4.1.1).
  if (!(rx_eof_ && tx_fin_ && drained_))
    qs_->reset(reset_code_ ? reset_code_ : kH3RequestCancelled);
  close_and_delete(qs_.release());
}

std::string_view H3Stream::field(std::string_view name) const noexcept {
  for (const auto& f : fields_)
    if (ascii_ieq(f.name, name)) return f.value;
  return {};
}

std::string_view H3Stream::authority() const noexcept {
  std::string_view a = field(":authority");
  return a.empty() ? field("host") : a;
}

// --- sending ------------------------------------------------------------------

Status H3Stream::respond(int status, const H3Fields& extra, bool has_body) noexcept {
  if (!server_ || submitted_ || finished_) return Errc::invalid_state;
  // RFC 9114 §4.3.2: :status is the three-digit code; 101 is not allowed.
  if (status < 100 || status > 999 || status == 101) return Errc::invalid_argument;
  H3Connection::Scope scope(conn_);
  char code[4];
  std::snprintf(code, sizeof code, "%03d", status);
  std::vector<nghttp3_nv> nva;
  nva.reserve(1 + extra.size());
  auto add = [&](std::string_view n, std::string_view v) {
    nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                   NGHTTP3_NV_FLAG_NONE});
  };
  add(":status", code);
  for (const auto& f : extra) add(f.name, f.value);
  has_body_ = has_body;
  SLUICE_TRY(conn_.submit(*this, nva.data(), nva.size()));
  submitted_ = true;
  return {};
}

Status H3Stream::write_body(Slice&& data) noexcept {
  Chain c;
  SLUICE_TRY(c.push_back(std::move(data)));
  return write_body(std::move(c));
}

Status H3Stream::write_body(Chain&& data) noexcept {
  if (!submitted_ || !has_body_) return Errc::invalid_state;
  if (finished_ || body_ended_ || conn_.failed_) return Errc::closed;
  if (data.empty()) return {};
  H3Connection::Scope scope(conn_);
  SLUICE_TRY(pending_.append(std::move(data)));
  if (data_blocked_) {
    data_blocked_ = false;
    nghttp3_conn_resume_stream(conn_.h3_, id_);
  }
  conn_.schedule_flush();
  check_watermarks();
  return {};
}

Status H3Stream::end_body() noexcept {
  if (!submitted_ || !has_body_) return Errc::invalid_state;
  if (finished_ || conn_.failed_) return Errc::closed;
  if (body_ended_) return {};
  H3Connection::Scope scope(conn_);
  body_ended_ = true;
  data_blocked_ = false;
  nghttp3_conn_resume_stream(conn_.h3_, id_);
  conn_.schedule_flush();
  return {};
}

void H3Stream::set_write_watermarks(size_t low, size_t high) noexcept {
  high_ = std::max<size_t>(high, 1);
  low_ = std::min(low, high_);
  if (qs_) qs_->set_write_watermarks(low_, high_);
}

nghttp3_ssize H3Stream::read_data(nghttp3_vec* vec, size_t veccnt, uint32_t* pflags) noexcept {
  if (finished_) {
    *pflags |= NGHTTP3_DATA_FLAG_EOF;
    return 0;
  }
  size_t n = 0, bytes = 0;
  while (n < veccnt && !pending_.empty() && bytes < kMaxDataFrame) {
    Slice s = pending_.pop_front();
    vec[n].base = const_cast<uint8_t*>(s.data());
    vec[n].len = s.size();
    bytes += s.size();
    // given_ keeps the bytes alive until nghttp3 reports them acknowledged.
    if (!given_.push_back(std::move(s))) return NGHTTP3_ERR_CALLBACK_FAILURE;
    ++n;
  }
  body_tx_ += bytes;
  if (pending_.empty() && body_ended_) {
    *pflags |= NGHTTP3_DATA_FLAG_EOF;
  } else if (n == 0) {
    data_blocked_ = true;  // write_body / end_body resume the stream
    return NGHTTP3_ERR_WOULDBLOCK;
  }
  return static_cast<nghttp3_ssize>(n);
}

bool H3Stream::body_view(const uint8_t* p, size_t len, Slice* out) noexcept {
  size_t skip = given_framed_;
  for (size_t i = 0; i < given_.count(); ++i) {
    const Slice& s = given_[i];
    if (skip >= s.size()) {
      skip -= s.size();
      continue;
    }
    if (s.data() + skip != p || len > s.size() - skip) return false;
    *out = s.sub(skip, len);
    given_framed_ += len;
    return true;
  }
  return false;
}

void H3Stream::on_body_acked(uint64_t n) noexcept {
  const size_t k = static_cast<size_t>(std::min<uint64_t>(n, given_.size()));
  given_.advance(k);
  given_framed_ -= std::min(given_framed_, k);
}

void H3Stream::after_write(size_t n, bool fin) noexcept {
  (void)n;
  if (fin) tx_fin_ = true;
  // Stop nghttp3 framing more for this stream while the QUIC stream holds
  // more unsent bytes than its high watermark (the QuicStream's own
  // measure); its on_write_low unblocks it.
  if (qs_ && !quic_blocked_ && !tx_fin_ && qs_->write_unsent() > high_) {
    quic_blocked_ = true;
    nghttp3_conn_block_stream(conn_.h3_, id_);
  }
  check_watermarks();
}

void H3Stream::check_watermarks() noexcept {
  if (finished_) return;
  if (!above_high_ && pending_.size() > high_) {
    above_high_ = true;
    if (handler_) handler_->on_write_high(*this);
  } else if (above_high_ && pending_.size() <= low_) {
    above_high_ = false;
    if (handler_) handler_->on_write_low(*this);
  }
}

// --- receiving ----------------------------------------------------------------

void H3Stream::read_start() noexcept {
  if (finished_ || !qs_) return;
  H3Connection::Scope scope(conn_);
  qs_->read_start();
}

void H3Stream::read_stop() noexcept {
  if (qs_) qs_->read_stop();
}

void H3Stream::on_data(Slice&& data) {
  H3Connection::Scope scope(conn_);
  if (finished_ || conn_.failed_) return;
  rx_cur_ = &data;
  const nghttp3_ssize rv = nghttp3_conn_read_stream(conn_.h3_, id_, data.data(), data.size(), 0);
  rx_cur_ = nullptr;
  // Flow control needs nothing here: the QUIC stream credited the bytes
  // when it delivered them, and read_stop() withholds that.
  if (rv < 0) conn_.fail(static_cast<int>(rv));
}

void H3Stream::on_eof() {
  H3Connection::Scope scope(conn_);
  if (finished_ || conn_.failed_) return;
  const nghttp3_ssize rv = nghttp3_conn_read_stream(conn_.h3_, id_, nullptr, 0, 1);
  if (rv < 0) {
    conn_.fail(static_cast<int>(rv));
    return;
  }
  rx_eof_ = true;
  maybe_finish();
}

void H3Stream::on_error(Errc e) {
  H3Connection::Scope scope(conn_);
  finish(e == Errc::ok ? Errc::connection_reset : e);
}

void H3Stream::on_write_high() {}

void H3Stream::on_write_low() {
  H3Connection::Scope scope(conn_);
  if (quic_blocked_ && !finished_ && !conn_.failed_) {
    quic_blocked_ = false;
    nghttp3_conn_unblock_stream(conn_.h3_, id_);
    conn_.schedule_flush();
  }
}

void H3Stream::on_drained() {
  H3Connection::Scope scope(conn_);
  if (tx_fin_) {
    drained_ = true;
    maybe_finish();
  }
}

void H3Stream::on_recv_body(const uint8_t* data, size_t len) noexcept {
  if (finished_ || len == 0) return;
  body_rx_ += len;
  if (rx_cur_ && data >= rx_cur_->data() && data + len <= rx_cur_->data() + rx_cur_->size()) {
    Slice v = rx_cur_->sub(static_cast<size_t>(data - rx_cur_->data()), len);
    if (handler_) handler_->on_body(*this, std::move(v));
    return;
  }
  // nghttp3 buffered this (a QPACK-blocked stream, RFC 9204 §2.1.2): copy.
  conn_.stats_.body_copied += len;
  while (len > 0 && !finished_) {
    const size_t n = std::min(len, kClassPayload[2]);
    auto r = conn_.pool_.copy_from(data, n);
    if (!r) {
      reset(kH3InternalError);
      return;
    }
    if (handler_) handler_->on_body(*this, std::move(*r));
    data += n;
    len -= n;
  }
}

void H3Stream::on_header(std::string_view name, std::string_view value, bool status) noexcept {
  if (finished_) return;
  if (status) {
    int v = 0;
    for (char ch : value) v = v * 10 + (ch - '0');  // nghttp3 checked: 3 digits
    status_ = v;
  }
  fields_.push_back({std::string(name), std::string(value)});
}

void H3Stream::on_end_headers() noexcept {
  if (finished_) return;
  if (!server_ && status_ >= 100 && status_ < 200) {
    // An interim response (RFC 9114 §4.1): wait for the final one.
    fields_.clear();
    status_ = 0;
    return;
  }
  if (headers_done_) return;  // a second section is trailers, dropped
  headers_done_ = true;
  if (server_) {
    if (conn_.handler_) {
      conn_.handler_->on_request(conn_, *this);
    } else {
      H3Handler dflt;
      dflt.on_request(conn_, *this);
    }
  } else if (handler_) {
    handler_->on_headers(*this);
  }
}

void H3Stream::on_end_stream() noexcept {
  if (finished_ || rx_end_) return;
  rx_end_ = true;
  if (handler_) handler_->on_end(*this);
  // Inside nghttp3's callback the stream cannot be closed: the connection
  // checks it once nghttp3 has returned (a QPACK-unblocked message whose
  // FIN was read earlier ends here).
  if (rx_eof_) conn_.check_finish(id_);
}

// --- the end --------------------------------------------------------------------

void H3Stream::maybe_finish() noexcept {
  // rx_end_ as well as rx_eof_: a header section blocked on the QPACK
  // encoder stream (RFC 9204 §2.1.2) is still to come when the FIN has
  // been read; the exchange ends once nghttp3 has delivered all of it.
  if (finished_ || h3_closed_ || !(rx_eof_ && rx_end_ && tx_fin_ && drained_)) return;
  // Both messages are complete and ours is acknowledged: nghttp3 may forget
  // the stream, and the QUIC stream closes without a reset.
  h3_closed_ = true;
  const int rv = nghttp3_conn_close_stream(conn_.h3_, id_, kH3NoError);
  if (rv == NGHTTP3_ERR_CALLBACK_FAILURE) conn_.fail(rv);
  finish(Errc::ok);
}

void H3Stream::finish(Errc e) noexcept {
  if (finished_) return;
  finished_ = true;
  if (e == Errc::ok) {
    conn_.stats_.completed++;
  } else {
    conn_.stats_.failed++;
    if (!reset_code_) reset_code_ = kH3RequestCancelled;
  }
  H3StreamHandler* h = handler_;
  handler_ = nullptr;
  if (h) h->on_close(*this, e);
  conn_.reap(this);
}

void H3Stream::reset(uint64_t app_error) noexcept {
  if (finished_) return;
  H3Connection::Scope scope(conn_);
  finished_ = true;
  handler_ = nullptr;
  conn_.stats_.failed++;
  reset_code_ = app_error ? app_error : kH3RequestCancelled;
  conn_.reap(this);
}

}  // namespace sluice::quic
