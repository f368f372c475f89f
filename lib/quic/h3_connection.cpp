// h3_connection.cpp: HTTP/3 (RFC 9114) over a quic::Connection with nghttp3.
#include "quic/h3_connection.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "quic/connection.hpp"
#include "quic/quic_stream.hpp"
#include "sluice/log.hpp"

namespace sluice::quic {

namespace {

H3Connection* self(void* user) noexcept { return static_cast<H3Connection*>(user); }

std::string_view rcbuf_view(nghttp3_rcbuf* b) noexcept {
  const nghttp3_vec v = nghttp3_rcbuf_get_buf(b);
  return {reinterpret_cast<const char*>(v.base), v.len};
}

nghttp3_nv make_nv(std::string_view n, std::string_view v) noexcept {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
          NGHTTP3_NV_FLAG_NONE};
}

}  // namespace

// UniStream is one unidirectional stream: our control or QPACK stream
// (write-only, fed by flush()), or one the peer opened (read into nghttp3,
// which reads its type, RFC 9114 §6.2, and tells us to stop unknown ones).
class H3Connection::UniStream final : public TransportHandler {
 public:
  UniStream(H3Connection& c, std::unique_ptr<QuicStream> s) noexcept
      : c_(c), qs_(std::move(s)), id_(qs_->id()) {
    qs_->set_handler(this);
  }
  ~UniStream() override {
    qs_->set_handler(nullptr);
    close_and_delete(qs_.release());
  }
  int64_t id() const noexcept { return id_; }
  QuicStream* quic() noexcept { return qs_.get(); }

  void on_data(Slice&& d) override {
    Scope scope(c_);
    if (c_.failed_ || gone_) return;
    const nghttp3_ssize rv = nghttp3_conn_read_stream(c_.h3_, id_, d.data(), d.size(), 0);
    if (rv < 0) c_.fail(static_cast<int>(rv));
  }
  void on_eof() override {
    Scope scope(c_);
    if (c_.failed_ || gone_) return;
    // The FIN of a critical stream is a connection error (RFC 9114 §6.2.1).
    const nghttp3_ssize rv = nghttp3_conn_read_stream(c_.h3_, id_, nullptr, 0, 1);
    if (rv < 0) c_.fail(static_cast<int>(rv));
  }
  void on_error(Errc) override {
    Scope scope(c_);
    if (gone_) return;
    gone_ = true;
    if (!c_.failed_) {
      // nghttp3 knows which streams are critical (control, QPACK).
      const int rv = nghttp3_conn_close_stream(c_.h3_, id_, kH3NoError);
      if (rv == NGHTTP3_ERR_H3_CLOSED_CRITICAL_STREAM || rv == NGHTTP3_ERR_CALLBACK_FAILURE)
        c_.fail(rv);
    }
    c_.reap_uni(this);
  }

 private:
  H3Connection& c_;
  std::unique_ptr<QuicStream> qs_;
  int64_t id_;
  bool gone_ = false;
};

void H3Handler::on_request(H3Connection&, H3Stream& s) { (void)s.respond(404); }

H3Connection::H3Connection(Connection& c, H3Handler* h, const H3Options& o) noexcept
    : conn_(c), handler_(h), opts_(o), server_(c.server()), pool_(c.pool()) {}

H3Connection::~H3Connection() {
  // No handler hears anything from here on; unfinished streams are reset.
  depth_ = 1;
  for (auto& [id, s] : streams_) {
    (void)id;
    s->handler_ = nullptr;
    s->finished_ = true;
  }
  streams_.clear();
  uni_.clear();
  if (h3_) nghttp3_conn_del(h3_);
}

Result<std::unique_ptr<H3Connection>> H3Connection::create(Connection& c, H3Handler* h,
                                                           const H3Options& o) {
  std::unique_ptr<H3Connection> hc(new (std::nothrow) H3Connection(c, h, o));
  if (!hc) return Errc::no_memory;
  SLUICE_TRY(hc->init());
  return hc;
}

Status H3Connection::init() noexcept {
  if (conn_.closed()) return Errc::closed;
  nghttp3_callbacks cb{};
  cb.acked_stream_data = cb_acked_stream_data;
  cb.stream_close = cb_stream_close;
  cb.recv_data = cb_recv_data;
  cb.deferred_consume = cb_deferred_consume;
  cb.begin_headers = cb_begin_headers;
  cb.recv_header = cb_recv_header;
  cb.end_headers = cb_end_headers;
  cb.recv_trailer = cb_recv_trailer;
  cb.stop_sending = cb_stop_sending;
  cb.end_stream = cb_end_stream;
  cb.reset_stream = cb_reset_stream;
  cb.shutdown = cb_shutdown;
  nghttp3_settings s;
  nghttp3_settings_default(&s);
  s.qpack_max_dtable_capacity = opts_.qpack_max_dtable_capacity;
  s.qpack_blocked_streams = opts_.qpack_blocked_streams;
  s.max_field_section_size = opts_.max_field_section_size;
  const int rv = server_ ? nghttp3_conn_server_new(&h3_, &cb, &s, nullptr, this)
                         : nghttp3_conn_client_new(&h3_, &cb, &s, nullptr, this);
  if (rv != 0) return Errc::no_memory;
  if (server_) nghttp3_conn_set_max_client_streams_bidi(h3_, conn_.peer_bidi_stream_limit());
  Scope scope(*this);
  // Our control and QPACK streams go out now (RFC 9114 §6.2.1: SETTINGS is
  // the first frame of the control stream); if the 1-RTT keys are not there
  // yet, the first flush after they are opens them.
  (void)ensure_local_streams();
  return {};
}

// --- deferred work ----------------------------------------------------------------

void H3Connection::check_finish(int64_t id) noexcept {
  try {
    ended_.push_back(id);
  } catch (...) {
    // No memory: the stream ends at its next QUIC event instead.
  }
}

void H3Connection::leave() noexcept {
  if (--depth_ == 0) settle();
}

void H3Connection::settle() noexcept {
  ++depth_;
  for (;;) {
    if (flush_wanted_) {
      flush_wanted_ = false;
      flush();
      continue;
    }
    if (!ended_.empty()) {
      auto ids = std::move(ended_);
      ended_.clear();
      for (int64_t id : ids)
        if (H3Stream* s = find(id)) s->maybe_finish();
      continue;
    }
    if (!reap_.empty()) {
      auto batch = std::move(reap_);
      reap_.clear();
      for (H3Stream* s : batch) {
        if (!s->h3_closed_ && h3_ && !failed_) {
          s->h3_closed_ = true;
          (void)nghttp3_conn_close_stream(h3_, s->id_,
                                          s->reset_code_ ? s->reset_code_ : kH3NoError);
        }
        streams_.erase(s->id_);  // ~H3Stream closes (or resets) the QUIC stream
      }
      continue;
    }
    if (!reap_uni_.empty()) {
      auto batch = std::move(reap_uni_);
      reap_uni_.clear();
      for (UniStream* u : batch) {
        auto it = std::find_if(uni_.begin(), uni_.end(), [u](auto& p) { return p.get() == u; });
        if (it != uni_.end()) uni_.erase(it);
      }
      continue;
    }
    if (close_pending_) {
      close_pending_ = false;
      const uint64_t code = nghttp3_err_infer_quic_app_error_code(fail_code_);
      SLUICE_LOG_DEBUG("h3: connection error: %s", nghttp3_strerror(fail_code_));
      conn_.close(code, nghttp3_strerror(fail_code_));
      if (handler_) handler_->on_error(*this, code);
      continue;
    }
    break;
  }
  --depth_;
}

void H3Connection::fail(int liberr) noexcept {
  if (failed_) return;
  failed_ = true;
  fail_code_ = liberr;
  // A connection that is already closing needs no CONNECTION_CLOSE from us.
  if (!conn_.closed()) close_pending_ = true;
}

void H3Connection::reap(H3Stream* s) noexcept {
  if (s->reaped_) return;
  s->reaped_ = true;
  reap_.push_back(s);
}

void H3Connection::reap_uni(UniStream* u) noexcept { reap_uni_.push_back(u); }

H3Stream* H3Connection::find(int64_t id) noexcept {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

// --- streams ------------------------------------------------------------------------

bool H3Connection::ensure_local_streams() noexcept {
  if (bound_) return true;
  if (failed_ || conn_.closed()) return false;
  auto open = [&](int64_t& id) {
    if (id >= 0) return true;
    auto r = conn_.open_uni_stream();
    if (!r) return false;
    std::unique_ptr<UniStream> u(new (std::nothrow) UniStream(*this, std::move(*r)));
    if (!u) return false;
    id = u->id();
    uni_.push_back(std::move(u));
    return true;
  };
  if (!open(ctrl_id_) || !open(qenc_id_) || !open(qdec_id_)) return false;
  // RFC 9114 §6.2.1 (control), RFC 9204 §4.2 (encoder and decoder streams).
  if (nghttp3_conn_bind_control_stream(h3_, ctrl_id_) != 0 ||
      nghttp3_conn_bind_qpack_streams(h3_, qenc_id_, qdec_id_) != 0) {
    fail(NGHTTP3_ERR_NOMEM);
    return false;
  }
  bound_ = true;
  flush_wanted_ = true;
  return true;
}

void H3Connection::accept_stream(std::unique_ptr<QuicStream> s) noexcept {
  Scope scope(*this);
  if (!s->bidi()) {
    std::unique_ptr<UniStream> u(new (std::nothrow) UniStream(*this, std::move(s)));
    if (!u) {
      fail(NGHTTP3_ERR_NOMEM);
      return;
    }
    UniStream* p = u.get();
    uni_.push_back(std::move(u));
    p->quic()->read_start();
    return;
  }
  if (!server_ || failed_) {
    // A server-initiated bidirectional stream is an error in HTTP/3
    // (RFC 9114 §6.1); refuse it rather than the connection.
    s->reset(NGHTTP3_H3_STREAM_CREATION_ERROR);
    close_and_delete(s.release());
    return;
  }
  nghttp3_conn_set_max_client_streams_bidi(h3_, conn_.peer_bidi_stream_limit());
  const int64_t id = s->id();
  std::unique_ptr<H3Stream> hs(new (std::nothrow) H3Stream(*this, std::move(s), true));
  if (!hs) {
    fail(NGHTTP3_ERR_NOMEM);
    return;
  }
  H3Stream* p = hs.get();
  streams_[id] = std::move(hs);
  stats_.requests++;
  p->qs_->read_start();
}

Result<H3Stream*> H3Connection::request(std::string_view method, std::string_view authority,
                                        std::string_view path, const H3Fields& extra, bool has_body,
                                        H3StreamHandler* h) noexcept {
  if (server_) return Errc::invalid_state;
  if (failed_ || conn_.closed()) return Errc::closed;
  Scope scope(*this);
  if (!ensure_local_streams()) return Errc::invalid_state;
  auto r = conn_.open_bidi_stream();
  if (!r) return r.error();
  const int64_t id = (*r)->id();
  std::unique_ptr<H3Stream> hs(new (std::nothrow) H3Stream(*this, std::move(*r), false));
  if (!hs) return Errc::no_memory;
  H3Stream* p = hs.get();
  streams_[id] = std::move(hs);
  p->handler_ = h;
  p->has_body_ = has_body;
  // RFC 9114 §4.3.1: the request pseudo-header fields come first.
  std::vector<nghttp3_nv> nva;
  nva.reserve(4 + extra.size());
  nva.push_back(make_nv(":method", method));
  nva.push_back(make_nv(":scheme", "https"));
  nva.push_back(make_nv(":authority", authority));
  nva.push_back(make_nv(":path", path));
  for (const auto& f : extra) nva.push_back(make_nv(f.name, f.value));
  Status st = submit(*p, nva.data(), nva.size());
  if (!st) {
    p->handler_ = nullptr;
    p->finished_ = true;
    reap(p);
    return st.error();
  }
  p->submitted_ = true;
  stats_.requests++;
  p->qs_->read_start();
  return p;
}

Status H3Connection::submit(H3Stream& s, const nghttp3_nv* nva, size_t n) noexcept {
  if (failed_) return Errc::closed;
  static const nghttp3_data_reader kReader{cb_read_data};
  const nghttp3_data_reader* dr = s.has_body_ ? &kReader : nullptr;
  const int rv = server_ ? nghttp3_conn_submit_response(h3_, s.id_, nva, n, dr)
                         : nghttp3_conn_submit_request(h3_, s.id_, nva, n, dr, &s);
  if (rv != 0) return rv == NGHTTP3_ERR_NOMEM ? Errc::no_memory : Errc::invalid_state;
  schedule_flush();
  return {};
}

Status H3Connection::shutdown() noexcept {
  if (failed_ || !h3_) return Errc::closed;
  Scope scope(*this);
  // RFC 9114 §5.2: GOAWAY with the first request we will not process.
  const int rv = nghttp3_conn_shutdown(h3_);
  if (rv != 0) return Errc::invalid_state;
  schedule_flush();
  return {};
}

// --- the send path ------------------------------------------------------------------

Status H3Connection::copy_into(Chain& out, Slice& cur, const uint8_t* p, size_t n) noexcept {
  stats_.bytes_copied += n;
  while (n > 0) {
    if (!cur.chunk() || cur.tailroom() <= kTailroom) {
      if (!cur.empty()) SLUICE_TRY(out.push_back(std::move(cur)));
      auto r = pool_.get(std::min(n, kClassPayload[2]));
      if (!r) return r.error();
      cur = std::move(*r);
    }
    const size_t k = std::min(n, cur.tailroom() - kTailroom);
    std::memcpy(cur.append(k), p, k);
    p += k;
    n -= k;
  }
  return {};
}

void H3Connection::flush() noexcept {
  if (in_flush_ || !h3_ || failed_) return;
  if (!ensure_local_streams()) return;
  in_flush_ = true;
  nghttp3_vec vec[16];
  for (;;) {
    int64_t sid = -1;
    int fin = 0;
    const nghttp3_ssize nv = nghttp3_conn_writev_stream(h3_, &sid, &fin, vec, 16);
    if (nv < 0) {
      fail(static_cast<int>(nv));
      break;
    }
    if (sid < 0) break;
    H3Stream* hs = find(sid);
    QuicStream* qs = nullptr;
    if (hs) {
      qs = hs->finished_ ? nullptr : hs->qs_.get();
    } else {
      for (auto& u : uni_)
        if (u->id() == sid) qs = u->quic();
    }
    // The frames go to the QUIC stream as Slices: body bytes as views of
    // the Slices the application wrote, everything nghttp3 made itself
    // (HEADERS, DATA frame headers, SETTINGS, QPACK instructions) copied.
    Chain out;
    Slice cur;
    size_t total = 0;
    Status st;
    for (nghttp3_ssize i = 0; i < nv && st; ++i) {
      const auto* p = vec[i].base;
      const size_t len = vec[i].len;
      total += len;
      if (qs == nullptr || len == 0) continue;
      Slice view;
      if (hs && hs->body_view(p, len, &view)) {
        if (!cur.empty()) st = out.push_back(std::move(cur));
        cur.reset();
        if (st) st = out.push_back(std::move(view));
      } else {
        st = copy_into(out, cur, p, len);
      }
    }
    if (st && !cur.empty()) st = out.push_back(std::move(cur));
    if (!st) {
      fail(NGHTTP3_ERR_NOMEM);
      break;
    }
    if (qs) {
      if (!out.empty()) (void)qs->write(std::move(out));
      if (fin) (void)qs->shutdown();
    }
    // The QUIC stream now owns the bytes until QUIC acknowledges them, so
    // nghttp3 may drop them: written and acknowledged at once.
    int rv = nghttp3_conn_add_write_offset(h3_, sid, total);
    if (rv == 0) rv = nghttp3_conn_add_ack_offset(h3_, sid, total);
    if (rv != 0) {
      fail(rv);
      break;
    }
    if (hs && !hs->finished_) hs->after_write(total, fin != 0);
  }
  in_flush_ = false;
}

// --- nghttp3 callbacks ------------------------------------------------------------

namespace {
H3Stream* stream_of(void* su) noexcept { return static_cast<H3Stream*>(su); }
}  // namespace

int H3Connection::cb_acked_stream_data(nghttp3_conn*, int64_t, uint64_t n, void*, void* su) {
  if (H3Stream* s = stream_of(su)) s->on_body_acked(n);
  return 0;
}

int H3Connection::cb_stream_close(nghttp3_conn*, int64_t, uint64_t app_error, void*, void* su) {
  H3Stream* s = stream_of(su);
  if (s && !s->h3_closed_) {
    s->h3_closed_ = true;
    s->finish(app_error == kH3NoError ? Errc::ok : Errc::connection_reset);
  }
  return 0;
}

int H3Connection::cb_recv_data(nghttp3_conn*, int64_t, const uint8_t* data, size_t len, void*,
                               void* su) {
  if (H3Stream* s = stream_of(su)) s->on_recv_body(data, len);
  return 0;
}

int H3Connection::cb_deferred_consume(nghttp3_conn*, int64_t, size_t, void*, void*) {
  // The QUIC stream already returned this credit when it delivered the bytes.
  return 0;
}

int H3Connection::cb_begin_headers(nghttp3_conn* h3, int64_t id, void* user, void* su) {
  if (su == nullptr) {
    // A request stream's first header section: attach our H3Stream.
    if (H3Stream* s = self(user)->find(id)) nghttp3_conn_set_stream_user_data(h3, id, s);
  }
  return 0;
}

int H3Connection::cb_recv_header(nghttp3_conn*, int64_t id, int32_t token, nghttp3_rcbuf* name,
                                 nghttp3_rcbuf* value, uint8_t, void* user, void* su) {
  H3Stream* s = su ? stream_of(su) : self(user)->find(id);
  if (s) s->on_header(rcbuf_view(name), rcbuf_view(value), token == NGHTTP3_QPACK_TOKEN__STATUS);
  return 0;
}

int H3Connection::cb_end_headers(nghttp3_conn*, int64_t id, int, void* user, void* su) {
  H3Stream* s = su ? stream_of(su) : self(user)->find(id);
  if (s) s->on_end_headers();
  return 0;
}

int H3Connection::cb_recv_trailer(nghttp3_conn*, int64_t, int32_t, nghttp3_rcbuf*, nghttp3_rcbuf*,
                                  uint8_t, void*, void*) {
  return 0;  // trailers (RFC 9114 §4.1) are not passed on
}

int H3Connection::cb_stop_sending(nghttp3_conn*, int64_t id, uint64_t app_error, void* user,
                                  void* su) {
  // nghttp3 wants no more of this stream (an unknown unidirectional stream
  // type, RFC 9114 §6.2): STOP_SENDING.
  H3Connection* c = self(user);
  if (H3Stream* s = su ? stream_of(su) : c->find(id)) {
    if (s->qs_) s->qs_->stop_reading(app_error);
    return 0;
  }
  for (auto& u : c->uni_)
    if (u->id() == id) u->quic()->stop_reading(app_error);
  return 0;
}

int H3Connection::cb_end_stream(nghttp3_conn*, int64_t id, void* user, void* su) {
  H3Stream* s = su ? stream_of(su) : self(user)->find(id);
  if (s) s->on_end_stream();
  return 0;
}

int H3Connection::cb_reset_stream(nghttp3_conn*, int64_t id, uint64_t app_error, void* user,
                                  void* su) {
  H3Stream* s = su ? stream_of(su) : self(user)->find(id);
  if (s && !s->finished_) {
    s->reset_code_ = app_error;
    s->finish(Errc::protocol_violation);
  }
  return 0;
}

int H3Connection::cb_shutdown(nghttp3_conn*, int64_t id, void* user) {
  H3Connection* c = self(user);
  if (c->handler_) c->handler_->on_goaway(*c, id);
  return 0;
}

nghttp3_ssize H3Connection::cb_read_data(nghttp3_conn*, int64_t, nghttp3_vec* vec, size_t veccnt,
                                         uint32_t* pflags, void*, void* su) {
  H3Stream* s = stream_of(su);
  if (s == nullptr) {
    *pflags |= NGHTTP3_DATA_FLAG_EOF;
    return 0;
  }
  return s->read_data(vec, veccnt, pflags);
}

}  // namespace sluice::quic
