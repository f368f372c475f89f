// quic_shared_session.cpp: one shared QUIC connection per Session: dial,
// handshake deadline, waiting opens, reconnect with backoff, close.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/quic_shared_session.hpp"

#include <algorithm>
#include <new>

#include "crypto/tls_ech.hpp"
#include "crypto/tls_pem.hpp"
#include "net/closer.hpp"
#include "net/engine_internal.hpp"
#include "quic/quic_stream.hpp"
#include "sluice/log.hpp"

namespace sluice {

namespace {
constexpr uint64_t kBackoffFirstMs = 500;
constexpr uint64_t kBackoffMaxMs = 16000;
}  // namespace

Result<quic::QuicTlsOptions> quic_client_tls(const TlsClientOptions& t, const std::string& server,
                                             std::string_view default_alpn, std::string* why) {
  quic::QuicTlsOptions q;
  q.server_name = t.server_name.empty() ? server : t.server_name;
  q.alpn = t.alpn.empty() ? std::vector<std::string>{std::string(default_alpn)} : t.alpn;
  q.verify_peer = !t.insecure;
  q.ca_pem = t.certificate;
  q.ca_file = t.certificate_path;
  q.spki_pins_b64 = t.certificate_public_key_sha256;
  q.cert_pins_hex = t.certificate_sha256;
  if (t.ech.enabled) {
    auto text = tls::pem_or_path(t.ech.config, t.ech.config_path, why);
    if (!text) return text.error();
    if (text->empty()) {
      if (why) *why = "tls.ech: no config (ECH configs from DNS are not supported)";
      return Errc::config_invalid;
    }
    std::string w;
    auto list = tls::ech_config_list_from_text(*text, &w);
    if (!list) {
      if (why) *why = "tls.ech.config: " + w;
      return Errc::config_invalid;
    }
    q.ech_config_list = std::move(*list);
  }
  return q;
}

// ---------------------------------------------------------------------------
// StreamOpen
// ---------------------------------------------------------------------------

QuicSharedSession::StreamOpen::~StreamOpen() {
  auto& w = s_.waiting_;
  w.erase(std::remove(w.begin(), w.end(), this), w.end());
  if (stream_) {
    stream_->set_handler(nullptr);
    close_and_delete(stream_.release());
  }
}

QuicSharedSession::StreamOpen::Response QuicSharedSession::StreamOpen::Response::ok(
    size_t consumed) noexcept {
  Response r;
  r.kind = Kind::ok;
  r.consumed = consumed;
  return r;
}

QuicSharedSession::StreamOpen::Response QuicSharedSession::StreamOpen::Response::malformed(
    Errc e, const char* why) noexcept {
  Response r;
  r.kind = Kind::malformed;
  r.error = e;
  try {
    r.why = why;
  } catch (...) {
  }
  return r;
}

QuicSharedSession::StreamOpen::Response QuicSharedSession::StreamOpen::Response::refused(
    std::string_view message) noexcept {
  Response r;
  r.kind = Kind::refused;
  try {
    r.why = "the server could not connect: ";
    r.why += message;
  } catch (...) {
    return malformed(Errc::no_memory, "out of memory");
  }
  return r;
}

bool QuicSharedSession::StreamOpen::start(quic::Connection& c) noexcept {
  auto st = c.open_bidi_stream();
  if (!st) {
    if (st.error() == Errc::limit_exceeded) return false;
    answer(st.error(), "cannot open a stream on the connection");
    return true;
  }
  stream_ = std::move(*st);
  stream_->set_handler(this);
  const char* why = "cannot write the request";
  if (Status ws = write_request(*stream_, s_.engine().pool(), &why); !ws) {
    answer(ws.error(), why);
    return true;
  }
  stream_->read_start();
  return true;
}

void QuicSharedSession::StreamOpen::answer(Result<std::unique_ptr<Stream>> r,
                                           const std::string& why) noexcept {
  OpenHandler* h = handler;
  QuicSharedSession& s = s_;
  std::unique_ptr<PendingOpen> self = s.pending_.finish(this);
  if (!self) return;  // cancelled meanwhile
  if (r) s.stats_.streams++;
  const std::string reason = r ? std::string() : s.prefix_ + why;
  self.reset();  // before calling back: the handler may close the Session
  h->on_open(std::move(r), reason.c_str());
}

void QuicSharedSession::StreamOpen::on_data(Slice&& d) {
  if (!in_.push_back_compact(std::move(d))) {
    answer(Errc::no_memory, "out of memory");
    return;
  }
  Response r = read_response(in_, s_.engine().pool());
  switch (r.kind) {
    case Response::Kind::need_more:
      return;
    case Response::Kind::malformed:
      answer(r.error, r.why);
      return;
    case Response::Kind::refused:
      answer(Errc::connection_refused, r.why);
      return;
    case Response::Kind::ok:
      break;
  }
  in_.advance(r.consumed);
  stream_->read_stop();
  stream_->set_handler(nullptr);
  if (!in_.empty() && !stream_->unread(std::move(in_))) {
    answer(Errc::no_memory, "out of memory");
    return;
  }
  std::unique_ptr<Stream> out(stream_.release());
  answer(std::move(out), "");
}

void QuicSharedSession::StreamOpen::on_eof() {
  answer(Errc::eof, "the server closed the stream before its response");
}

void QuicSharedSession::StreamOpen::on_error(Errc e) {
  answer(e, std::string("stream failed before the response: ") +
                (stream_ ? stream_->failure_reason() : errc_message(e)));
}

// ---------------------------------------------------------------------------
// QuicSharedSession
// ---------------------------------------------------------------------------

QuicSharedSession::QuicSharedSession(Engine& e, std::string tag, std::string prefix,
                                     std::string server, uint16_t server_port,
                                     uint64_t handshake_timeout_ms,
                                     std::shared_ptr<quic::QuicTlsContext> tls)
    : Session(e, std::move(tag)),
      prefix_(std::move(prefix)),
      server_(std::move(server)),
      server_port_(server_port),
      handshake_timeout_ms_(handshake_timeout_ms),
      tls_(std::move(tls)),
      backoff_(e),
      deadline_(e) {}

QuicSharedSession::~QuicSharedSession() {
  dial_ = nullptr;  // cancelled by close(); never deleted here
}

void QuicSharedSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  if (close_begun()) {
    h->on_open(Errc::canceled, "outbound closed");
    return;
  }
  auto made = new_open(host, port);
  if (!made) {
    h->on_open(made.error(),
               made.error() == Errc::no_memory ? "out of memory" : "invalid target address");
    return;
  }
  StreamOpen* o = made->get();
  try {
    // Doubling, as push_back would: reserving one more each time would copy
    // the whole list for every open that waits.
    if (waiting_.size() == waiting_.capacity())
      waiting_.reserve(std::max<size_t>(8, 2 * waiting_.size()));
  } catch (...) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  o->handler = h;
  if (pending_.add(std::move(*made)) == nullptr) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  if (state_ == State::ready && conn_ != nullptr && o->start(*conn_)) return;
  waiting_.push_back(o);
  connect();
}

void QuicSharedSession::cancel_open(OpenHandler* h) noexcept { pending_.cancel(h); }

void QuicSharedSession::connect() noexcept {
  if (state_ != State::idle || close_begun() || backoff_.armed()) return;
  const uint64_t now = engine().now_ms();
  if (now < next_attempt_) {
    backoff_.start(next_attempt_ - now, on_backoff, this);
    return;
  }
  quic::QuicDialOptions d;
  d.handshake_timeout_ms = handshake_timeout_ms_;
  std::string why;
  if (Status st = configure_dial(d, &why); !st) {
    fail_waiting(st.error(), why);
    return;
  }
  // Port hopping: the first packets go to a random port of the ranges, as
  // the official clients do; the Endpoint hops from there.
  const uint16_t port =
      d.endpoint.hop.ranges.empty() ? server_port_ : quic::random_port(d.endpoint.hop.ranges);
  state_ = State::dialing;
  stats_.dials++;
  dial_ = quic::QuicDial::start(engine(), server_, port, tls_, d, this);
}

void QuicSharedSession::on_backoff(void* self) {
  auto* s = static_cast<QuicSharedSession*>(self);
  if (!s->waiting_.empty() || s->has_flows()) s->connect();
}

void QuicSharedSession::on_quic_dial(Result<quic::QuicDialed> r, const char* reason) {
  dial_ = nullptr;
  if (!r) {
    state_ = State::idle;
    stats_.dial_failures++;
    lost(r.error(),
         std::string("cannot connect: ") + (reason && *reason ? reason : errc_message(r.error())));
    return;
  }
  ep_ = std::move(r->endpoint);
  conn_ = r->connection;
  conn_->set_handler(this);
  state_ = State::handshake;
  on_connected(*r);
}

void QuicSharedSession::start_handshake_deadline() noexcept {
  deadline_.start(handshake_timeout_ms_, on_deadline, this);
}

void QuicSharedSession::on_deadline(void* self) {
  auto* s = static_cast<QuicSharedSession*>(self);
  if (s->state_ != State::handshake || s->conn_ == nullptr) return;
  s->on_handshake_timeout();
}

void QuicSharedSession::handshake_done() noexcept {
  deadline_.stop();
  state_ = State::ready;
  failures_ = 0;
  next_attempt_ = 0;
  stats_.connections++;
  start_waiting();
  if (state_ == State::ready) on_ready();
}

void QuicSharedSession::handshake_failed(Errc e, const std::string& why, uint64_t code,
                                         std::string_view reason) noexcept {
  deadline_.stop();
  note_failure();
  SLUICE_LOG_INFO("%s%s", prefix_.c_str(), why.c_str());
  fail_waiting(e, why);
  fail_flows(e);
  // Idle now: the close that follows is not a second failure.
  state_ = State::idle;
  if (conn_) conn_->close(code, reason);
}

void QuicSharedSession::note_failure() noexcept {
  failures_++;
  next_attempt_ =
      engine().now_ms() + std::min(kBackoffMaxMs, kBackoffFirstMs << std::min(failures_ - 1, 5u));
}

void QuicSharedSession::start_waiting() noexcept {
  // StreamOpen::start may answer (and so remove) the open: work on a copy.
  std::vector<StreamOpen*> w;
  try {
    w = waiting_;
  } catch (...) {
    return;
  }
  for (StreamOpen* o : w) {
    if (state_ != State::ready || conn_ == nullptr) return;
    if (std::find(waiting_.begin(), waiting_.end(), o) == waiting_.end()) continue;
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), o), waiting_.end());
    if (!o->start(*conn_)) {
      // The stream limit: first in line again, until on_streams_available.
      // (insert cannot throw: erase just left room for it.)
      waiting_.insert(waiting_.begin(), o);
      return;
    }
  }
  release_waiting();
}

void QuicSharedSession::release_waiting() noexcept {
  if (waiting_.empty() && waiting_.capacity() > kKeptWaiting)
    std::vector<StreamOpen*>().swap(waiting_);
}

void QuicSharedSession::fail_waiting(Errc e, const std::string& why) noexcept {
  // One at a time: a handler may cancel other opens, which leave waiting_.
  while (!waiting_.empty()) {
    StreamOpen* o = waiting_.back();
    waiting_.pop_back();
    o->answer(e, why);
  }
  release_waiting();
}

void QuicSharedSession::lost(Errc e, const std::string& why) noexcept {
  if (state_ != State::ready) note_failure();
  state_ = State::idle;
  SLUICE_LOG_INFO("%s%s", prefix_.c_str(), why.c_str());
  fail_waiting(e, why);
  fail_flows(e);
}

void QuicSharedSession::on_streams_available(quic::Connection&) {
  if (state_ == State::ready) start_waiting();
}

void QuicSharedSession::connection_gone(State was, uint64_t app_error, Errc& err,
                                        std::string& why) noexcept {
  (void)was;
  (void)app_error;
  (void)err;
  (void)why;
}

void QuicSharedSession::on_closed(quic::Connection&, Errc e, uint64_t app_error,
                                  const char* reason) {
  deadline_.stop();
  const State was = state_;
  Errc err = e == Errc::ok ? Errc::closed : e;
  std::string why;
  try {
    why = was == State::ready ? "connection lost: " : "connection closed before the handshake: ";
    connection_gone(was, app_error, err, why);
    why += reason && *reason ? reason : errc_message(e);
  } catch (...) {
  }
  conn_ = nullptr;
  retire_endpoint();
  if (was != State::idle) lost(err, why);
  state_ = State::idle;
  // Opens that arrive from now on dial again (after the backoff).
  if (!close_begun() && !waiting_.empty()) connect();
}

void QuicSharedSession::close_endpoint(quic::Endpoint* ep) noexcept {
  struct Retire {
    QuicSharedSession* s;
    quic::Endpoint* ep;
  };
  retiring_++;
  auto* r = new (std::nothrow) Retire{this, ep};
  if (r == nullptr) {
    delete ep;  // no memory even for this: the Endpoint's destructor releases what it can
    retiring_--;
    return;
  }
  ep->close(
      [](void* v) {
        auto* r = static_cast<Retire*>(v);
        delete r->ep;
        QuicSharedSession* s = r->s;
        delete r;
        s->retiring_--;
        s->maybe_closed();
      },
      r);
}

void QuicSharedSession::retire_endpoint() noexcept {
  if (!ep_) return;
  // Not from inside the connection's callback: the Endpoint is still
  // delivering it. Close it on the next loop turn.
  struct Later {
    QuicSharedSession* s;
    quic::Endpoint* ep;
  };
  auto* l = new (std::nothrow) Later{this, ep_.get()};
  if (l == nullptr) return;  // leave it for the close, which is then immediate
  past_hops_ += ep_->hops();
  ep_.release();
  retiring_++;  // until close_endpoint counts it
  net::defer(
      engine(),
      [](void* u) {
        auto* l = static_cast<Later*>(u);
        QuicSharedSession* s = l->s;
        quic::Endpoint* ep = l->ep;
        delete l;
        s->retiring_--;
        s->close_endpoint(ep);
      },
      l);
}

void QuicSharedSession::close(CloseCallback cb, void* user) noexcept {
  if (!begin_close()) return;
  close_cb_ = cb;
  close_user_ = user;
  backoff_.stop();
  deadline_.stop();
  const char* why = net::closing_all(engine()) ? "engine stopping" : "outbound closing";
  waiting_.clear();
  pending_.fail_all(Errc::canceled, why);
  fail_flows(Errc::canceled);
  if (dial_) {
    dial_->cancel();
    dial_ = nullptr;
  }
  on_closing();
  if (conn_) conn_->set_handler(nullptr);
  conn_ = nullptr;
  state_ = State::idle;
  if (ep_) close_endpoint(ep_.release());
  maybe_closed();
}

void QuicSharedSession::maybe_closed() noexcept {
  if (!close_begun() || retiring_ > 0 || dial_ != nullptr) return;
  if (close_done_) return;
  close_done_ = true;
  detach_from_engine();
  if (close_cb_) net::defer(engine(), close_cb_, close_user_);
}

}  // namespace sluice
