// quic_h3_support.hpp: helpers for the HTTP/3 tests: a small HTTP/3 server
// application (pattern downloads, hashed uploads, 404 for the rest) and a
// client request that hashes what it receives.
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "quic/h3_connection.hpp"
#include "quic/h3_stream.hpp"
#include "quic_support.hpp"

namespace sluice::test {

inline std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

// pattern_sha256 is the hex SHA-256 of |n| bytes of Pattern(seed).
inline std::string pattern_sha256(uint64_t seed, size_t n) {
  Pattern g(seed);
  Digest d(DigestAlgorithm::sha256);
  std::vector<uint8_t> buf(65536);
  while (n > 0) {
    const size_t k = std::min(n, buf.size());
    g.fill(buf.data(), k);
    d.update(buf.data(), k);
    n -= k;
  }
  uint8_t out[32];
  (void)d.finish(out);
  return hex(out, 32);
}

// BodyPump writes |total| bytes of Pattern(seed) as an H3Stream's body,
// pausing on on_write_high, and ends it.
struct BodyPump {
  BufferPool* pool;
  Pattern gen;
  size_t total, written = 0;
  bool paused = false, ended = false;
  uint64_t highs = 0;
  const Slice* fixed = nullptr;  // if set: send views of it instead of a pattern (perf)
  BodyPump(BufferPool& p, size_t n, uint64_t seed) : pool(&p), gen(seed), total(n) {}
  void pump(quic::H3Stream& s) {
    while (!paused && written < total) {
      if (fixed) {
        const size_t n = std::min(fixed->size(), total - written);
        written += n;
        if (!s.write_body(fixed->sub(0, n))) return;
        continue;
      }
      const size_t n = std::min<size_t>(16384, total - written);
      auto sl = pool->get(SizeClass::k16K);
      if (!sl) std::abort();
      gen.fill(sl->append(n), n);
      written += n;
      if (!s.write_body(std::move(*sl))) return;
    }
    if (written == total && !ended) {
      ended = true;
      (void)s.end_body();
    }
  }
  void high() {
    paused = true;
    highs++;
  }
};

// ServerExchange is one request on the test server.
struct ServerExchange final : quic::H3StreamHandler {
  enum class Kind { download, upload } kind;
  std::unique_ptr<BodyPump> body;
  Digest got{DigestAlgorithm::sha256};
  size_t received = 0;
  BufferPool* pool;
  std::atomic<int>* closed_ok;
  std::atomic<int>* closed_err;
  ServerExchange(Kind k, BufferPool* p, std::atomic<int>* ok, std::atomic<int>* err)
      : kind(k), pool(p), closed_ok(ok), closed_err(err) {}
  void on_body(quic::H3Stream&, Slice&& d) override {
    received += d.size();
    got.update(d.data(), d.size());
  }
  void on_end(quic::H3Stream& s) override {
    if (kind != Kind::upload) return;
    // The upload's answer: its length and hash, as fields and as the body.
    uint8_t h[32];
    (void)got.finish(h);
    const std::string hs = hex(h, 32);
    (void)s.respond(200, {{"x-sha256", hs}, {"x-length", std::to_string(received)}}, true);
    (void)s.write_body(std::move(*pool->copy_from(hs.data(), hs.size())));
    (void)s.end_body();
  }
  void on_write_high(quic::H3Stream&) override {
    if (body) body->high();
  }
  void on_write_low(quic::H3Stream& s) override {
    if (body) {
      body->paused = false;
      body->pump(s);
    }
  }
  void on_close(quic::H3Stream&, Errc e) override {
    (e == Errc::ok ? *closed_ok : *closed_err)++;
    delete this;
  }
};

// H3TestServer answers GET /bytes/<n>/<seed> with n pattern bytes, GET
// /zeros/<n> with n zero bytes sent as views of one chunk (for perf), POST
// /upload with the hash of the body, and 404 otherwise (the default).
struct H3TestServer final : quic::AcceptHandler, quic::ConnectionHandler, quic::H3Handler {
  BufferPool* pool = nullptr;
  Slice zeros;  // 64 KiB of zeros, made on first use
  std::map<quic::Connection*, std::unique_ptr<quic::H3Connection>> h3;
  std::atomic<int> handshakes{0}, requests{0}, closed_ok{0}, closed_err{0}, connections_closed{0};
  std::atomic<uint64_t> max_pump_highs{0};
  void on_connection(quic::Connection& c) override { c.set_handler(this); }
  void on_handshake_done(quic::Connection& c) override {
    auto r = quic::H3Connection::create(c, this);
    if (!r) std::abort();
    h3[&c] = std::move(*r);
    handshakes++;
  }
  void on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) override {
    auto it = h3.find(&c);
    if (it == h3.end()) {
      quic::ConnectionHandler::on_stream(c, std::move(s));
      return;
    }
    it->second->accept_stream(std::move(s));
  }
  void on_closed(quic::Connection& c, Errc, uint64_t, const char*) override {
    h3.erase(&c);
    connections_closed++;
  }
  void on_request(quic::H3Connection& hc, quic::H3Stream& s) override {
    requests++;
    const std::string path(s.path());
    unsigned long long n = 0, seed = 0;
    if (s.method() == "GET" && std::sscanf(path.c_str(), "/bytes/%llu/%llu", &n, &seed) == 2) {
      auto* x = new ServerExchange(ServerExchange::Kind::download, pool, &closed_ok, &closed_err);
      x->body = std::make_unique<BodyPump>(*pool, n, seed);
      s.set_handler(x);
      if (!s.respond(
              200,
              {{"content-type", "application/octet-stream"}, {"content-length", std::to_string(n)}},
              true))
        std::abort();
      x->body->pump(s);
      return;
    }
    if (s.method() == "GET" && std::sscanf(path.c_str(), "/zeros/%llu", &n) == 1) {
      if (zeros.empty()) {
        auto z = pool->get(SizeClass::k64K);
        if (!z) std::abort();
        std::memset(z->append(kClassPayload[2]), 0, kClassPayload[2]);
        zeros = std::move(*z);
      }
      auto* x = new ServerExchange(ServerExchange::Kind::download, pool, &closed_ok, &closed_err);
      x->body = std::make_unique<BodyPump>(*pool, n, 0);
      x->body->fixed = &zeros;
      s.set_handler(x);
      if (!s.respond(200, {{"content-length", std::to_string(n)}}, true)) std::abort();
      x->body->pump(s);
      return;
    }
    if (s.method() == "POST" && path == "/upload") {
      s.set_handler(
          new ServerExchange(ServerExchange::Kind::upload, pool, &closed_ok, &closed_err));
      return;
    }
    quic::H3Handler::on_request(hc, s);  // 404
  }
};

// Fetch is one client request: it hashes the response body and may send a
// request body of |upload| pattern bytes.
struct Fetch final : quic::H3StreamHandler {
  int status = 0;
  quic::H3Fields fields;
  Digest got{DigestAlgorithm::sha256};
  size_t received = 0;
  bool ended = false, closed = false;
  Errc error = Errc::ok;
  std::unique_ptr<BodyPump> upload;
  std::function<void(Fetch*)> on_done;
  std::function<void(Fetch*)> on_progress;  // after each piece of body
  std::string sha;                          // hex digest of the body, set at close
  void on_headers(quic::H3Stream& s) override {
    status = s.status();
    fields = s.fields();
  }
  bool hash = true;  // false: count only (perf)
  void on_body(quic::H3Stream&, Slice&& d) override {
    received += d.size();
    if (hash) got.update(d.data(), d.size());
    if (on_progress) on_progress(this);
  }
  void on_end(quic::H3Stream&) override { ended = true; }
  void on_write_high(quic::H3Stream&) override {
    if (upload) upload->high();
  }
  void on_write_low(quic::H3Stream& s) override {
    if (upload) {
      upload->paused = false;
      upload->pump(s);
    }
  }
  void on_close(quic::H3Stream&, Errc e) override {
    closed = true;
    error = e;
    uint8_t h[32];
    (void)got.finish(h);
    sha = hex(h, 32);
    if (on_done) on_done(this);
  }
  std::string field(const std::string& name) const {
    for (const auto& f : fields)
      if (f.name == name) return f.value;
    return {};
  }
};

// H3Client is a client connection's handler with its H3Connection.
struct H3Client final : quic::ConnectionHandler {
  std::unique_ptr<quic::H3Connection> h3;
  std::atomic<bool> up{false}, closed{false};
  Errc close_error = Errc::ok;
  uint64_t close_code = 0;
  void on_handshake_done(quic::Connection& c) override {
    auto r = quic::H3Connection::create(c, nullptr);
    if (!r) std::abort();
    h3 = std::move(*r);
    up = true;
  }
  void on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) override {
    if (!h3) {
      quic::ConnectionHandler::on_stream(c, std::move(s));
      return;
    }
    h3->accept_stream(std::move(s));
  }
  void on_closed(quic::Connection&, Errc e, uint64_t code, const char*) override {
    close_error = e;
    close_code = code;
    closed = true;
  }
};

}  // namespace sluice::test
