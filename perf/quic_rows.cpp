// quic_rows.cpp: see quic_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "quic_rows.hpp"

#if __has_include(<ngtcp2/ngtcp2.h>)  // lib/quic is built only with ngtcp2

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/check.hpp"
#include "crypto/tls_verify.hpp"
#include "proto/target_address.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_stream.hpp"
#include "session/direct_session.hpp"
#include "session/relay.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kEnv = "SLUICE_BENCH_MATERIAL";
constexpr const char* kServerName = "bench.test";  // the name in the bench certificate
constexpr const char* kAlpn = "sluice-bench";

bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

Result<std::string> material(const char* name, std::string* reason) {
  const char* d = std::getenv(kEnv);
  std::string text;
  if (d == nullptr || *d == '\0' || !read_file(std::string(d) + "/" + name, &text)) {
    *reason = std::string("cannot read ") + name + " from $" + kEnv +
              " (run the row through tunnel_bench)";
    return Errc::invalid_argument;
  }
  return text;
}

// ---------------------------------------------------------------- server side

// QuicTunnelServer accepts connections; each peer stream starts with a
// target address, then carries the flow.
class QuicTunnelServer final : public EngineObject,
                               public quic::AcceptHandler,
                               public quic::ConnectionHandler {
 public:
  explicit QuicTunnelServer(Engine& e)
      : EngineObject(e), direct_(e, "direct", net::DialOptions{}) {}
  ~QuicTunnelServer() override { SLUICE_CHECK(flows_.empty()); }

  Status start(const EngineObject* /*unused*/, bool gso, std::string* reason) {
    auto cert = material("cert.pem", reason);
    auto key = material("key.pem", reason);
    if (!cert || !key) return Errc::invalid_argument;
    quic::QuicTlsOptions t;
    t.server = true;
    t.alpn = {kAlpn};
    t.cert_pem = *cert;
    t.key_pem = *key;
    auto tls = quic::QuicTlsContext::create(t, reason);
    if (!tls) return tls.error();
    quic::EndpointOptions o;
    o.allow_gso = gso;
    auto ep = quic::Endpoint::create(engine(), o, std::move(*tls), this);
    if (!ep) {
      *reason = "cannot open the QUIC server socket";
      return ep.error();
    }
    ep_ = std::move(*ep);
    return {};
  }
  uint16_t port() const { return ep_->port(); }

  void on_connection(quic::Connection& c) override { c.set_handler(this); }
  void on_stream(quic::Connection&, std::unique_ptr<quic::QuicStream> s) override {
    auto f = std::make_unique<Flow>();
    f->server = this;
    f->stream = std::move(s);
    f->stream->set_handler(f.get());
    f->stream->read_start();
    flows_.push_back(std::move(f));
  }

  void engine_close() noexcept override {
    auto flows = std::move(flows_);
    flows_.clear();
    for (auto& f : flows) f->abandon();
    detach_from_engine();
  }

 private:
  // Flow reads the target address, dials it, and hands both to a Relay.
  struct Flow final : TransportHandler, OpenHandler {
    QuicTunnelServer* server = nullptr;
    std::unique_ptr<quic::QuicStream> stream;
    uint8_t head[TargetAddress::kMaxSocksSize];
    size_t have = 0;
    bool dialing = false;

    void on_data(Slice&& d) override {
      const size_t take = std::min(d.size(), sizeof head - have);
      std::memcpy(head + have, d.data(), take);
      have += take;
      auto r = TargetAddress::decode_socks({head, have});
      if (r.need_more()) {
        if (have == sizeof head) return fail();
        return;
      }
      if (r.failed()) return fail();
      // Bytes past the address are the flow's first bytes: give them back.
      Chain rest;
      if (r.consumed < have) {
        auto extra = server->engine().pool().copy_from(head + r.consumed, have - r.consumed);
        if (!extra || !rest.push_back(std::move(*extra))) return fail();
      }
      if (take < d.size()) {
        d.advance(take);
        if (!rest.push_back(std::move(d))) return fail();
      }
      stream->read_stop();
      if (!rest.empty() && !stream->unread(std::move(rest))) return fail();
      dialing = true;
      const TargetAddress& t = r.value;
      server->direct_.open_stream(t.host(), t.port(), this);
    }
    void on_eof() override { fail(); }
    void on_error(Errc) override { fail(); }
    void on_open(Result<std::unique_ptr<Stream>> out, const char*) override {
      dialing = false;
      if (!out) return fail();
      stream->set_handler(nullptr);
      Relay::start(server->engine(), std::move(stream), std::move(*out), RelayOptions{}, nullptr);
      server->forget(this);
    }
    void fail() {
      if (dialing) server->direct_.cancel_open(this);
      dialing = false;
      server->forget(this);
    }
    // abandon: the Engine stops; close the stream, no callbacks.
    void abandon() {
      if (dialing) server->direct_.cancel_open(this);
      dialing = false;
      if (stream) {
        stream->set_handler(nullptr);
        close_and_delete(stream.release());
      }
    }
  };

  void forget(Flow* f) {
    for (auto it = flows_.begin(); it != flows_.end(); ++it) {
      if (it->get() != f) continue;
      std::unique_ptr<Flow> mine = std::move(*it);
      flows_.erase(it);
      if (mine->stream) {
        mine->stream->set_handler(nullptr);
        close_and_delete(mine->stream.release());
      }
      return;  // |mine| (the Flow) goes here, after its last use
    }
  }

  DirectSession direct_;
  std::unique_ptr<quic::Endpoint> ep_;
  std::vector<std::unique_ptr<Flow>> flows_;
};

// ---------------------------------------------------------------- client side

// QuicTunnelSession: every open_stream is one new bidirectional stream on
// one shared QUIC connection (made on first use, made again after it ends).
class QuicTunnelSession final : public Session, public quic::ConnectionHandler {
 public:
  QuicTunnelSession(Engine& e, uint16_t server_port) : Session(e, "quic"), port_(server_port) {}

  Status start(bool gso, std::string* reason) {
    auto cert = material("cert.pem", reason);
    if (!cert) return cert.error();
    auto pins = tls::leaf_pins_pem(*cert);
    if (!pins) {
      *reason = "cannot pin the bench certificate";
      return pins.error();
    }
    quic::QuicTlsOptions t;
    t.alpn = {kAlpn};
    t.server_name = kServerName;
    t.cert_pins_hex = {pins->first};
    auto tls = quic::QuicTlsContext::create(t, reason);
    if (!tls) return tls.error();
    quic::EndpointOptions o;
    o.allow_gso = gso;
    auto ep = quic::Endpoint::create(engine(), o, std::move(*tls), nullptr);
    if (!ep) {
      *reason = "cannot open the QUIC client socket";
      return ep.error();
    }
    ep_ = std::move(*ep);
    return {};
  }

  const char* type() const noexcept override { return "quic-bench"; }

  void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept override {
    auto t = TargetAddress::from_host(host, port);
    if (!t) {
      h->on_open(t.error(), "bad target address");
      return;
    }
    waiting_.push_back({h, *t});
    if (conn_ == nullptr) {
      auto c = ep_->connect("127.0.0.1", port_, this);
      if (!c) return fail_waiting(c.error(), "QUIC connect failed");
      conn_ = *c;
      return;  // on_handshake_done opens the streams
    }
    if (up_) open_waiting();
  }

  void cancel_open(OpenHandler* h) noexcept override {
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if (it->handler == h) {
        waiting_.erase(it);
        return;
      }
    }
  }

  void on_handshake_done(quic::Connection&) override {
    up_ = true;
    open_waiting();
  }
  void on_streams_available(quic::Connection&) override { open_waiting(); }
  void on_closed(quic::Connection&, Errc e, uint64_t, const char*) override {
    conn_ = nullptr;
    up_ = false;
    fail_waiting(e, "the QUIC connection closed");
  }

  void engine_close() noexcept override {
    waiting_.clear();  // pending opens are cancelled: nobody is called back
    if (conn_) conn_->set_handler(nullptr);
    conn_ = nullptr;
    detach_from_engine();
  }

 private:
  struct Waiting {
    OpenHandler* handler;
    TargetAddress target;
  };

  void open_waiting() {
    while (!waiting_.empty() && conn_ != nullptr) {
      auto s = conn_->open_bidi_stream();
      if (!s && s.error() == Errc::limit_exceeded) return;  // on_streams_available resumes
      Waiting w = waiting_.front();
      waiting_.erase(waiting_.begin());
      if (!s) {
        w.handler->on_open(s.error(), "cannot open a QUIC stream");
        continue;
      }
      // The address goes first on the stream, in the same packet as the
      // flow's first bytes when they follow at once.
      auto head = engine().pool().get(SizeClass::k2K);
      if (!head) {
        close_and_delete(s->release());
        w.handler->on_open(head.error(), "no buffer");
        continue;
      }
      auto n = w.target.encode_socks({head->append(w.target.socks_size()), w.target.socks_size()});
      if (!n || !(*s)->write(std::move(*head))) {
        close_and_delete(s->release());
        w.handler->on_open(Errc::internal, "cannot write the target address");
        continue;
      }
      w.handler->on_open(std::unique_ptr<Stream>(s->release()), nullptr);
    }
  }

  void fail_waiting(Errc e, const char* why) {
    auto w = std::move(waiting_);
    waiting_.clear();
    for (auto& x : w) x.handler->on_open(e, why);
  }

  uint16_t port_;
  std::unique_ptr<quic::Endpoint> ep_;
  quic::Connection* conn_ = nullptr;
  bool up_ = false;
  std::vector<Waiting> waiting_;
};

// ---------------------------------------------------------------- rows

Result<uint16_t> server_side(Engine& e, Keep& keep, std::string* reason, bool gso) {
  auto* s = keep.add(std::make_unique<QuicTunnelServer>(e));
  Status st = s->start(nullptr, gso, reason);
  if (!st) return st.error();
  return s->port();
}

Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason,
                             bool gso) {
  auto s = std::make_unique<QuicTunnelSession>(e, upstream);
  Status st = s->start(gso, reason);
  if (!st) return st.error();
  return socks_front(e, std::move(s), keep, reason);
}

Result<uint16_t> gso_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, true);
}
Result<uint16_t> nogso_server(Engine& e, uint16_t, Keep& k, std::string* r) {
  return server_side(e, k, r, false);
}
Result<uint16_t> gso_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, true);
}
Result<uint16_t> nogso_client(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, false);
}

const RowDef kRows[] = {
    {"quic-gso", "QUIC streams (GSO)", gso_server, gso_client},
    {"quic-nogso", "QUIC streams (sendmmsg)", nogso_server, nogso_client},
};

}  // namespace

std::span<const RowDef> quic_rows() { return kRows; }

}  // namespace sluice::perf

#else

namespace sluice::perf {
std::span<const RowDef> quic_rows() { return {}; }
}  // namespace sluice::perf

#endif
