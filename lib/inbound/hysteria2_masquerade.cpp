// inbound/hysteria2_masquerade.cpp: the Hysteria v2 server's web-server face.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/hysteria2_masquerade.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/file.hpp"
#include "crypto/tls_context.hpp"
#include "net/closer.hpp"
#include "net/dialer.hpp"
#include "net/timer.hpp"
#include "proto/http_connect/http_head.hpp"
#include "quic/h3_connection.hpp"
#include "sluice/log.hpp"
#include "transport/tls_dial.hpp"

namespace sluice {

namespace {

std::string_view content_type(std::string_view path) {
  const size_t dot = path.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "ico") return "image/x-icon";
  return "application/octet-stream";
}

// safe_relative turns a request path into a path under the directory: the
// query is cut, every segment must be a plain name (no "..", no "." and no
// empty segment other than a trailing "/").
bool safe_relative(std::string_view path, std::string* out) {
  if (path.empty() || path[0] != '/') return false;
  const size_t q = path.find_first_of("?#");
  if (q != std::string_view::npos) path = path.substr(0, q);
  out->clear();
  size_t i = 1;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view seg = path.substr(i, j - i);
    if (seg.empty() || seg == "." || seg == ".." || seg.find('\0') != std::string_view::npos ||
        seg.find('%') != std::string_view::npos)
      return false;
    *out += '/';
    *out += seg;
    i = j + 1;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// ChunkedDecoder
// ---------------------------------------------------------------------------

namespace http {

Status ChunkedDecoder::feed(Slice& in, Slice* data) noexcept {
  *data = Slice();
  // end_size_line: the size line is over; data follows, or the trailer
  // section after the last (zero-size) chunk.
  auto end_size_line = [this] {
    line_ = 0;
    digits_ = 0;
    state_ = remaining_ == 0 ? State::trailer : State::data;
  };
  while (!in.empty() && state_ != State::done) {
    if (state_ == State::data) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      *data = in.split_to(n);
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::data_cr;
      return {};
    }
    const uint8_t c = in.data()[0];
    in.advance(1);
    if (state_ != State::data_cr && state_ != State::data_lf && ++line_ > kMaxLine)
      return Errc::malformed;
    switch (state_) {
      case State::size: {
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        if (v >= 0) {
          if (++digits_ > 15) return Errc::malformed;  // over 2^60: nobody sends that
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(v);
        } else if (digits_ == 0) {
          return Errc::malformed;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::ext;
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          end_size_line();
        } else {
          return Errc::malformed;
        }
        break;
      }
      case State::ext:  // chunk extensions: ignored
        if (c == '\r') state_ = State::size_lf;
        if (c == '\n') end_size_line();
        break;
      case State::size_lf:
        if (c != '\n') return Errc::malformed;
        end_size_line();
        break;
      case State::data_cr:
        if (c == '\n') {
          state_ = State::size;
          digits_ = line_ = 0;
        } else if (c == '\r') {
          state_ = State::data_lf;
        } else {
          return Errc::malformed;
        }
        break;
      case State::data_lf:
        if (c != '\n') return Errc::malformed;
        state_ = State::size;
        digits_ = line_ = 0;
        break;
      case State::trailer:
        // Trailer field lines are skipped (digits_ marks a line with
        // content); an empty line ends the body.
        if (c == '\n') {
          if (digits_ == 0) state_ = State::done;
          digits_ = line_ = 0;
        } else if (c != '\r') {
          digits_ = 1;
        }
        break;
      case State::data:
      case State::done:
        break;
    }
  }
  return {};
}

}  // namespace http

// ---------------------------------------------------------------------------
// The proxy URL
// ---------------------------------------------------------------------------

Result<MasqueradeUrl> parse_masquerade_url(std::string_view url, std::string* why) {
  auto fail = [&](const char* what) -> Result<MasqueradeUrl> {
    if (why) *why = std::string("masquerade url \"") + std::string(url) + "\": " + what;
    return Errc::config_invalid;
  };
  MasqueradeUrl u;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    u.https = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return fail("expected http:// or https://");
  }
  if (rest.find('#') != std::string_view::npos) return fail("a fragment is not allowed");
  const size_t end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.empty()) return fail("no host");
  if (authority.find('@') != std::string_view::npos)
    return fail("user information is not supported");
  for (char c : authority)
    if (static_cast<unsigned char>(c) <= ' ' || c == '\\') return fail("bad host");
  std::string_view host = authority, port;
  if (authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("unclosed [ in the host");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return fail("expected :port after ]");
      port = authority.substr(close + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return fail("no host");
  u.port = u.https ? 443 : 80;
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535)
      return fail("bad port");
    u.port = static_cast<uint16_t>(v);
  }
  const size_t q = tail.find('?');
  u.path = std::string(tail.substr(0, q));
  if (q != std::string_view::npos) u.query = std::string(tail.substr(q + 1));
  for (char c : tail)
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) == 0x7f)
      return fail("bad path");
  u.host = std::string(host);
  u.authority = std::string(authority);
  return u;
}

namespace {

// Hop-by-hop fields (RFC 9110 section 7.6.1) and what Go's ReverseProxy
// drops besides (Rewrite mode: the client's Forwarded / X-Forwarded-*).
bool hop_by_hop(std::string_view n) noexcept {
  for (std::string_view h :
       {"connection", "proxy-connection", "keep-alive", "te", "trailer", "transfer-encoding",
        "upgrade", "proxy-authenticate", "proxy-authorization"})
    if (http::iequals(n, h)) return true;
  return false;
}

bool forwarded(std::string_view n) noexcept {
  return http::iequals(n, "forwarded") || http::iequals(n, "x-forwarded-for") ||
         http::iequals(n, "x-forwarded-host") || http::iequals(n, "x-forwarded-proto");
}

// join_path: the URL's path and the request's, with one slash between
// (Go's joinURLPath on unescaped paths).
std::string join_path(std::string_view a, std::string_view b) {
  if (a.empty()) return b.empty() ? std::string("/") : std::string(b);
  const bool as = a.back() == '/';
  const bool bs = !b.empty() && b.front() == '/';
  if (as && bs) return std::string(a) + std::string(b.substr(1));
  if (!as && !bs) return b.empty() ? std::string(a) : std::string(a) + "/" + std::string(b);
  return std::string(a) + std::string(b);
}

}  // namespace

struct Hysteria2Masquerade::ProxyShared {
  MasqueradeUrl url;
  bool rewrite_host = false;
  std::shared_ptr<const tls::TlsClientContext> tls;  // https
  uint64_t proxied = 0;
  uint64_t failures = 0;
};

// ---------------------------------------------------------------------------
// Proxy: one request forwarded upstream
// ---------------------------------------------------------------------------

class Hysteria2Masquerade::Proxy final : private quic::H3StreamHandler,
                                         private TransportHandler,
                                         private net::DialHandler,
                                         private TlsDialHandler {
 public:
  Proxy(Engine& e, std::shared_ptr<ProxyShared> sh, quic::H3Stream& s) noexcept
      : e_(e), sh_(std::move(sh)), stream_(&s), timer_(e) {}
  ~Proxy() override {
    timer_.stop();
    if (dial_) dial_->cancel();
    if (tls_dial_) tls_dial_->cancel();
    if (up_) {
      up_->set_handler(nullptr);
      close_and_delete(up_.release());
    }
  }

  // start takes over |s|: builds the upstream request head and dials.
  void start() noexcept {
    stream_->set_handler(this);
    sh_->proxied++;
    try {
      build_head();
    } catch (...) {
      fail();
      return;
    }
    if (head_out_.empty()) return;  // answered already
    timer_.start(kProxyTimeoutMs, on_timeout, this);
    dialing_ = true;
    if (sh_->url.https) {
      TlsDialOptions o;
      o.dial.connect_timeout_ms = kProxyTimeoutMs;
      o.handshake_timeout_ms = kProxyTimeoutMs;
      o.use_session_cache = false;
      TlsDial* d = TlsDial::start(e_, sh_->url.host, sh_->url.port, sh_->tls, o, this);
      if (dialing_) tls_dial_ = d;
    } else {
      net::DialOptions o;
      o.connect_timeout_ms = kProxyTimeoutMs;
      net::Dial* d = net::Dial::start(e_, sh_->url.host, sh_->url.port, o, this);
      if (dialing_) dial_ = d;
    }
  }

 private:
  enum class BodyMode : uint8_t { none, length, chunked, close };

  void build_head() {
    quic::H3Stream& s = *stream_;
    const std::string_view method = s.method();
    const std::string_view path = s.path();
    if (method.empty() || path.empty() || method == "CONNECT" || path[0] != '/') {
      // Not a request a web server proxies (CONNECT, or an absolute form):
      // what Go's server would answer.
      answer_plain(400, "400 bad request\n");
      return;
    }
    const size_t q = path.find('?');
    std::string target = join_path(sh_->url.path, path.substr(0, q));
    const std::string_view rq = q == std::string_view::npos ? "" : path.substr(q + 1);
    if (!sh_->url.query.empty() || !rq.empty()) {
      target += '?';
      target += sh_->url.query;
      if (!sh_->url.query.empty() && !rq.empty()) target += '&';
      target.append(rq);
    }
    std::string h;
    h.reserve(512);
    h.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
    const std::string_view in_host = s.authority();
    h.append(sh_->rewrite_host || in_host.empty() ? std::string_view(sh_->url.authority) : in_host);
    h.append("\r\n");
    bool user_agent = false;
    for (const quic::H3Field& f : s.fields()) {
      if (f.name.empty() || f.name[0] == ':' || http::iequals(f.name, "host") ||
          http::iequals(f.name, "content-length") || hop_by_hop(f.name) || forwarded(f.name))
        continue;
      if (!http::valid_field_name(f.name) || !http::valid_field_value(f.value)) continue;
      if (http::iequals(f.name, "user-agent")) user_agent = true;
      h.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    // Go's ReverseProxy sends an empty User-Agent rather than its own.
    if (!user_agent) h.append("User-Agent: \r\n");
    head_out_ = std::move(h);
    head_request_ = method == "HEAD";
    body_expected_ = method == "POST" || method == "PUT" || method == "PATCH";
  }

  // answer_plain responds with a short text before anything went upstream.
  void answer_plain(int status, std::string_view body) noexcept {
    quic::H3Stream* s = stream_;
    if (s == nullptr) return;
    try {
      if (!s->respond(status,
                      {{"content-type", "text/plain; charset=utf-8"},
                       {"content-length", std::to_string(body.size())}},
                      true))
        return;
    } catch (...) {
      s->reset(quic::kH3InternalError);
      stream_ = nullptr;
      return;
    }
    responded_ = true;
    auto sl = e_.pool().copy_from(body.data(), body.size());
    if (sl && s->write_body(std::move(*sl))) (void)s->end_body();
  }

  // fail: the upstream is unusable: 502 with no body while nothing was
  // answered (the official ErrorHandler), else the response is cut short.
  void fail() noexcept {
    sh_->failures++;
    drop_upstream();
    quic::H3Stream* s = stream_;
    if (s == nullptr) return;
    if (!responded_) {
      responded_ = true;
      try {
        if (s->respond(502, {{"content-length", "0"}}, false)) return;
      } catch (...) {
      }
    }
    stream_ = nullptr;
    s->reset(quic::kH3InternalError);  // no on_close follows
    // Deleted on the next turn: a caller up the stack may still be in a
    // member (a dial that answered inside start()).
    net::defer(
        e_, [](void* p) { delete static_cast<Proxy*>(p); }, this);
  }

  void drop_upstream() noexcept {
    timer_.stop();
    if (dial_) dial_->cancel();
    if (tls_dial_) tls_dial_->cancel();
    dial_ = nullptr;
    tls_dial_ = nullptr;
    dialing_ = false;
    if (up_) {
      up_->set_handler(nullptr);
      close_and_delete(up_.release());
    }
  }

  static void on_timeout(void* self) {
    auto* p = static_cast<Proxy*>(self);
    SLUICE_LOG_DEBUG("hysteria2 masquerade: upstream %s:%u: no answer in time",
                     p->sh_->url.host.c_str(), p->sh_->url.port);
    p->fail();
  }

  void connected(std::unique_ptr<Transport> t) noexcept {
    dialing_ = false;
    dial_ = nullptr;
    tls_dial_ = nullptr;
    up_ = std::move(t);
    up_->set_handler(this);
    up_->set_write_watermarks(64 * 1024, 256 * 1024);
    if (request_done_ && !send_request()) return;
    if (up_) up_->read_start();
  }

  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) override {
    if (!t) {
      dialing_ = false;
      dial_ = nullptr;
      SLUICE_LOG_DEBUG("hysteria2 masquerade: upstream: %s", reason ? reason : "dial failed");
      fail();
      return;
    }
    connected(std::move(*t));
  }
  void on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) override {
    if (!t) {
      dialing_ = false;
      tls_dial_ = nullptr;
      SLUICE_LOG_DEBUG("hysteria2 masquerade: upstream: %s", reason ? reason : "dial failed");
      fail();
      return;
    }
    connected(std::move(*t));
  }

  // send_request writes the request; false when that failed (and the
  // proxy is finishing).
  bool send_request() noexcept {
    if (request_sent_ || !up_) return true;
    request_sent_ = true;
    std::string& h = head_out_;
    if (!body_.empty() || body_expected_) {
      h.append("Content-Length: ").append(std::to_string(body_.size())).append("\r\n");
    }
    h.append("Connection: close\r\n\r\n");
    Chain out;
    for (size_t off = 0; off < h.size();) {
      const size_t n = std::min<size_t>(h.size() - off, 16384);
      auto sl = e_.pool().copy_from(h.data() + off, n);
      if (!sl || !out.push_back(std::move(*sl))) {
        fail();
        return false;
      }
      off += n;
    }
    if (!out.append(std::move(body_))) {
      fail();
      return false;
    }
    std::string().swap(head_out_);
    if (!up_->write(std::move(out))) {
      fail();
      return false;
    }
    return true;
  }

  // H3StreamHandler: the request
  void on_body(quic::H3Stream& s, Slice&& d) override {
    if (request_sent_) return;  // refused (413) or already forwarded
    if (body_.size() + d.size() > kMaxProxyRequestBody) {
      request_sent_ = true;
      drop_upstream();
      if (!responded_) answer_plain(413, "413 request entity too large\n");
      s.read_stop();
      return;
    }
    if (!body_.push_back(std::move(d))) fail();
  }
  void on_end(quic::H3Stream&) override {
    request_done_ = true;
    if (up_) (void)send_request();
  }
  // Backpressure: the HTTP/3 side holds more than its high watermark.
  void on_write_high(quic::H3Stream&) override {
    if (up_) up_->read_stop();
  }
  void on_write_low(quic::H3Stream&) override {
    if (up_) up_->read_start();
  }
  void on_close(quic::H3Stream&, Errc) override {
    stream_ = nullptr;
    delete this;  // the destructor drops the upstream
  }

  // TransportHandler: the response
  void on_data(Slice&& d) override {
    if (stream_ == nullptr) return;
    if (!head_done_) {
      // Bounded: the parser fails a head that has not ended within
      // kMaxHeadSize, so what is kept between reads stays below that.
      try {
        head_in_.append(d.view());
      } catch (...) {
        fail();
        return;
      }
      // The head ends in this read: what follows it is the tail of |d|.
      for (;;) {
        auto r = http::parse_response_head(
            {reinterpret_cast<const uint8_t*>(head_in_.data()), head_in_.size()});
        if (r.need_more()) return;
        if (r.failed()) {
          SLUICE_LOG_DEBUG("hysteria2 masquerade: upstream %s: malformed response head",
                           sh_->url.host.c_str());
          fail();
          return;
        }
        const size_t after = head_in_.size() - r.consumed;
        if (r.value.status >= 100 && r.value.status < 200 && r.value.status != 101) {
          head_in_.erase(0, r.consumed);  // an interim response: skipped
          if (head_in_.empty()) return;
          continue;
        }
        if (!begin_response(r.value)) return;
        d.advance(d.size() - std::min(after, d.size()));
        break;
      }
      if (d.empty()) return;
    }
    body(std::move(d));
  }

  bool begin_response(const http::ResponseHead& h) noexcept {
    head_done_ = true;
    std::string().swap(head_in_);
    timer_.stop();
    if (h.status == 101) {
      fail();  // no upgrades through HTTP/3
      return false;
    }
    quic::H3Fields f;
    try {
      const http::Header* te = http::find_header(h.headers, "transfer-encoding");
      const http::Header* cl = http::find_header(h.headers, "content-length");
      if (head_request_ || h.status == 204 || h.status == 304) {
        mode_ = BodyMode::none;
      } else if (te != nullptr) {
        // Chunked when it is the last coding; otherwise the body runs to
        // the close (RFC 9112 section 6.3).
        std::string_view v = te->value;
        const size_t comma = v.rfind(',');
        if (comma != std::string_view::npos) v = v.substr(comma + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        mode_ = http::iequals(v, "chunked") ? BodyMode::chunked : BodyMode::close;
      } else if (cl != nullptr) {
        uint64_t n = 0;
        auto [p, ec] = std::from_chars(cl->value.data(), cl->value.data() + cl->value.size(), n);
        if (ec != std::errc() || p != cl->value.data() + cl->value.size()) {
          fail();
          return false;
        }
        mode_ = BodyMode::length;
        remaining_ = n;
      } else {
        mode_ = BodyMode::close;
      }
      for (const http::Header& x : h.headers) {
        if (hop_by_hop(x.name)) continue;
        if (mode_ != BodyMode::length && http::iequals(x.name, "content-length") &&
            mode_ != BodyMode::none)
          continue;
        std::string name = x.name;
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        f.push_back({std::move(name), x.value});
      }
    } catch (...) {
      fail();
      return false;
    }
    const bool has_body = mode_ == BodyMode::chunked || mode_ == BodyMode::close ||
                          (mode_ == BodyMode::length && remaining_ > 0);
    responded_ = true;
    if (!stream_->respond(h.status, f, has_body)) {
      fail();
      return false;
    }
    if (!has_body) {
      finish();
      return false;
    }
    return true;
  }

  void body(Slice&& d) noexcept {
    switch (mode_) {
      case BodyMode::none:
        return;
      case BodyMode::close:
        write(std::move(d));
        return;
      case BodyMode::length: {
        if (d.size() > remaining_) d.truncate(static_cast<size_t>(remaining_));
        remaining_ -= d.size();
        if (!write(std::move(d))) return;
        if (remaining_ == 0) finish();
        return;
      }
      case BodyMode::chunked: {
        while (!d.empty() && !chunked_.done()) {
          Slice piece;
          if (!chunked_.feed(d, &piece)) {
            SLUICE_LOG_DEBUG("hysteria2 masquerade: upstream %s: malformed chunked body",
                             sh_->url.host.c_str());
            fail();
            return;
          }
          if (!piece.empty() && !write(std::move(piece))) return;
        }
        if (chunked_.done()) finish();
        return;
      }
    }
  }

  bool write(Slice&& d) noexcept {
    if (stream_ == nullptr) return false;
    if (!stream_->write_body(std::move(d))) {
      fail();
      return false;
    }
    return true;
  }

  // finish: the response is complete; the stream's on_close ends us.
  void finish() noexcept {
    mode_ = BodyMode::none;
    drop_upstream();
    if (stream_ != nullptr) (void)stream_->end_body();
  }

  void on_eof() override {
    if (stream_ == nullptr) return;
    if (head_done_ && mode_ == BodyMode::close) {
      finish();
      return;
    }
    if (head_done_ && mode_ == BodyMode::none) return;
    // Closed before the head, or within a body of known length.
    fail();
  }
  void on_error(Errc) override {
    if (stream_ == nullptr) return;
    SLUICE_LOG_DEBUG("hysteria2 masquerade: upstream %s: %s", sh_->url.host.c_str(),
                     up_ ? up_->failure_reason() : "failed");
    if (head_done_ && mode_ == BodyMode::none) return;
    fail();
  }

  Engine& e_;
  std::shared_ptr<ProxyShared> sh_;
  quic::H3Stream* stream_;  // null once the stream is gone
  net::Timer timer_;        // dial and response head
  net::Dial* dial_ = nullptr;
  TlsDial* tls_dial_ = nullptr;
  bool dialing_ = false;
  std::unique_ptr<Transport> up_;
  std::string head_out_;  // the request head, until sent
  Chain body_;            // the request body, until sent
  bool request_done_ = false;
  bool body_expected_ = false;  // a method that carries a body: always a Content-Length
  bool request_sent_ = false;
  bool head_request_ = false;
  std::string head_in_;  // the response head so far
  bool head_done_ = false;
  bool responded_ = false;
  BodyMode mode_ = BodyMode::none;
  uint64_t remaining_ = 0;
  http::ChunkedDecoder chunked_;
};

// ---------------------------------------------------------------------------
// Hysteria2Masquerade
// ---------------------------------------------------------------------------

Hysteria2Masquerade::~Hysteria2Masquerade() = default;

uint64_t Hysteria2Masquerade::proxied() const noexcept { return proxy_ ? proxy_->proxied : 0; }
uint64_t Hysteria2Masquerade::proxy_failures() const noexcept {
  return proxy_ ? proxy_->failures : 0;
}

Status Hysteria2Masquerade::init(std::string* why) {
  if (opts_.type != Hysteria2MasqueradeOptions::Type::proxy) return {};
  auto u = parse_masquerade_url(opts_.url, why);
  if (!u) return u.error();
  auto sh = std::make_shared<ProxyShared>();
  sh->url = std::move(*u);
  sh->rewrite_host = opts_.rewrite_host;
  if (sh->url.https) {
    TlsClientOptions t;
    t.enabled = true;
    t.insecure = opts_.insecure;
    std::string w;
    auto ctx = tls::TlsClientContext::create(t, sh->url.host, {"http/1.1"}, &w);
    if (!ctx) {
      if (why) *why = "masquerade url: tls: " + w;
      return ctx.error();
    }
    sh->tls = std::move(*ctx);
  }
  proxy_ = std::move(sh);
  return {};
}

void Hysteria2Masquerade::respond_text(quic::H3Stream& s, BufferPool& pool, int status,
                                       std::string_view body,
                                       const quic::H3Fields& extra) noexcept {
  quic::H3Fields f = extra;
  f.push_back({"content-length", std::to_string(body.size())});
  const bool head = s.method() == "HEAD";
  if (!s.respond(status, f, !body.empty() && !head)) return;
  if (body.empty() || head) return;
  // The body is small (a page or a file): copied once into pool chunks.
  Chain c;
  size_t off = 0;
  while (off < body.size()) {
    const size_t n = std::min<size_t>(body.size() - off, 16384);
    auto sl = pool.copy_from(body.data() + off, n);
    if (!sl || !c.push_back(std::move(*sl))) {
      s.reset();
      return;
    }
    off += n;
  }
  if (!s.write_body(std::move(c))) return;
  (void)s.end_body();
}

void Hysteria2Masquerade::serve(quic::H3Stream& s, Engine& e) noexcept {
  served_++;
  if (opts_.type == Hysteria2MasqueradeOptions::Type::proxy) {
    if (!proxy_) {  // init() was not called or failed: nothing to forward to
      s.reset(quic::kH3InternalError);
      return;
    }
    auto* p = new (std::nothrow) Proxy(e, proxy_, s);
    if (p == nullptr) {
      s.reset(quic::kH3InternalError);
      return;
    }
    p->start();
    return;
  }
  BufferPool& pool = e.pool();
  s.set_handler(this);
  try {
    switch (opts_.type) {
      case Hysteria2MasqueradeOptions::Type::not_found:
        respond_text(
            s, pool, 404, "404 page not found\n",
            {{"content-type", "text/plain; charset=utf-8"}, {"x-content-type-options", "nosniff"}});
        return;
      case Hysteria2MasqueradeOptions::Type::string: {
        quic::H3Fields f;
        for (const auto& [k, v] : opts_.headers) f.push_back({k, v});
        respond_text(s, pool, opts_.status_code, opts_.content, f);
        return;
      }
      case Hysteria2MasqueradeOptions::Type::file:
        serve_file(s, pool);
        return;
      case Hysteria2MasqueradeOptions::Type::proxy:
        return;
    }
  } catch (...) {
    s.reset(quic::kH3InternalError);
  }
}

void Hysteria2Masquerade::serve_file(quic::H3Stream& s, BufferPool& pool) noexcept {
  const quic::H3Fields text{{"content-type", "text/plain; charset=utf-8"}};
  if (s.method() != "GET" && s.method() != "HEAD") {
    respond_text(s, pool, 405, "405 method not allowed\n", text);
    return;
  }
  std::string rel;
  if (!safe_relative(s.path(), &rel)) {
    respond_text(s, pool, 404, "404 page not found\n", text);
    return;
  }
  std::string full = opts_.directory + rel;
  struct stat st {};
  if (::stat(full.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (full.back() != '/') full += '/';
    full += "index.html";
  }
  std::string body;
  if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !read_file(full, &body)) {
    respond_text(s, pool, 404, "404 page not found\n", text);
    return;
  }
  respond_text(s, pool, 200, body, {{"content-type", std::string(content_type(full))}});
}

}  // namespace sluice
