// inbound/reality_source.cpp: the REALITY gate (see reality_source.hpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/reality_source.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <optional>
#include <vector>

#include "net/closer.hpp"
#include "net/timer.hpp"
#include "proto/reality/target_hello.hpp"
#include "proto/tls13/client.hpp"
#include "sluice/log.hpp"
#include "transport/tls13_transport.hpp"

namespace sluice {

namespace {

uint64_t unix_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// kMaxProbeBytes bounds what a probe keeps of the target's post-handshake
// records (their headers are all it needs; the rest is counted, not kept).
constexpr size_t kMaxProbeBytes = 64 * 1024;

const char* alpn_class_name(reality::AlpnClass c) {
  switch (c) {
    case reality::AlpnClass::none:
      return "none";
    case reality::AlpnClass::other:
      return "http/1.1";
    case reality::AlpnClass::h2:
      return "h2";
  }
  return "?";
}

}  // namespace

// Probe: one connection to the target that learns the lengths of the
// records it sends after the client Finished, for one server name and ALPN
// class (see the header). It answers the gates waiting for it once done.
class RealitySource::Probe final : net::DialHandler, TransportHandler {
 public:
  Probe(RealitySource& src, std::string sni, reality::AlpnClass alpn)
      : src_(src), sni_(std::move(sni)), alpn_(alpn), window_(src.engine_), idle_(src.engine_) {}
  ~Probe() override { stop(); }

  bool matches(std::string_view sni, reality::AlpnClass a) const noexcept {
    return sni == sni_ && a == alpn_;
  }
  bool done() const noexcept { return done_; }
  const std::vector<size_t>& lengths() const noexcept { return lengths_; }

  void start() {
    window_.start(
        src_.opts_.handshake_timeout_ms,
        [](void* p) { static_cast<Probe*>(p)->finish("handshake with the target timed out"); },
        this);
    dial_ = net::Dial::start(src_.engine_, src_.opts_.target_host, src_.opts_.target_port,
                             src_.opts_.target_dial, this);
  }

  // stop ends the probe's I/O (the source is closing, or it is done).
  void stop() noexcept {
    window_.stop();
    idle_.stop();
    if (dial_) {
      dial_->cancel();
      dial_ = nullptr;
    }
    if (conn_) {
      conn_->set_handler(nullptr);
      close_and_delete(conn_.release());
    }
    client_.reset();
  }

  void wait(Gate* g) { waiters_.push_back(g); }
  void forget(Gate* g) {
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), g), waiters_.end());
  }

 private:
  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* why) override {
    dial_ = nullptr;
    if (!t) {
      finish(std::string("target unreachable: ") + why);
      return;
    }
    conn_.reset(t->release());
    conn_->set_handler(this);
    tls13::ClientConfig c;
    c.server_name = sni_;
    if (alpn_ == reality::AlpnClass::h2)
      c.alpn = {"h2", "http/1.1"};
    else if (alpn_ == reality::AlpnClass::other)
      c.alpn = {"http/1.1"};
    else
      c.alpn.clear();
    // Only the record lengths matter: any certificate will do.
    c.verifier = [](std::span<const tls13::CertificateEntry>, std::string_view) {
      return tls13::Outcome::success();
    };
    client_.reset(new (std::nothrow) tls13::Client(std::move(c)));
    if (!client_) {
      finish("out of memory");
      return;
    }
    if (tls13::Outcome o = client_->start(); !o) {
      finish(std::string("cannot start the handshake: ") + o.what());
      return;
    }
    if (!flush()) return;
    conn_->read_start();
  }

  bool flush() {
    const auto out = client_->output();
    if (out.empty()) return true;
    auto buf = src_.engine_.pool().get(out.size());
    if (!buf) {
      finish("out of memory");
      return false;
    }
    std::memcpy(buf->append(out.size()), out.data(), out.size());
    client_->drain(out.size());
    if (!conn_->write(std::move(*buf))) {
      finish("cannot write to the target");
      return false;
    }
    return true;
  }

  void on_data(Slice&& d) override {
    const auto b = d.span();
    if (connected_) {
      // Only the headers are needed: keep the first kMaxProbeBytes.
      const size_t keep = std::min(b.size(), kMaxProbeBytes - std::min(kMaxProbeBytes, in_.size()));
      in_.insert(in_.end(), b.begin(), b.begin() + static_cast<ptrdiff_t>(keep));
      idle_.start(
          src_.opts_.probe_idle_ms, [](void* p) { static_cast<Probe*>(p)->learned(); }, this);
      return;
    }
    in_.insert(in_.end(), b.begin(), b.end());
    if (in_.size() > reality::kMaxTargetHelloBytes) {
      finish("the target's handshake is too long");
      return;
    }
    // Whole records, one at a time, until the client is connected.
    size_t at = 0;
    while (in_.size() - at >= tls13::kRecordHeaderLen) {
      const size_t total = tls13::kRecordHeaderLen + (size_t{in_[at + 3]} << 8 | in_[at + 4]);
      if (in_.size() - at < total) break;
      if (tls13::Outcome o = client_->receive({in_.data() + at, total}); !o) {
        finish(std::string("handshake with the target failed: ") + o.what());
        return;
      }
      at += total;
      if (client_->connected()) {
        connected_ = true;
        break;
      }
    }
    if (!flush()) return;
    if (!connected_) {
      in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(at));
      return;
    }
    // What came with the server Finished is its flight's (Xray's probe
    // only looks at later reads); from now on, records after our Finished.
    in_.clear();
    window_.start(
        src_.opts_.probe_window_ms, [](void* p) { static_cast<Probe*>(p)->learned(); }, this);
  }

  void on_eof() override {
    if (connected_)
      learned();
    else
      finish("the target closed during the handshake");
  }
  void on_error(Errc e) override {
    if (connected_)
      learned();
    else
      finish(std::string("target: ") + errc_message(e));
  }

  // learned reads the record headers collected after our Finished.
  void learned() {
    std::vector<size_t> lengths;
    size_t at = 0;
    while (in_.size() - at >= tls13::kRecordHeaderLen && in_[at] == 0x17 && in_[at + 1] == 0x03 &&
           in_[at + 2] == 0x03) {
      const size_t total = tls13::kRecordHeaderLen + (size_t{in_[at + 3]} << 8 | in_[at + 4]);
      lengths.push_back(total);
      if (in_.size() - at < total) break;  // the rest was not kept
      at += total;
    }
    lengths_ = std::move(lengths);
    finish("");
  }

  void finish(const std::string& error) {
    if (done_) return;
    done_ = true;
    stop();
    in_.clear();
    in_.shrink_to_fit();
    src_.stats_.probes_done++;
    if (!error.empty()) {
      lengths_.clear();
      SLUICE_LOG_INFO(
          "%s: post-handshake probe (SNI \"%s\", ALPN %s) failed, no post-handshake "
          "records will be sent: %s",
          src_.opts_.log_prefix.c_str(), sni_.c_str(), alpn_class_name(alpn_), error.c_str());
    } else {
      std::string list;
      for (size_t l : lengths_) list += (list.empty() ? "" : ", ") + std::to_string(l);
      SLUICE_LOG_INFO(
          "%s: the target sends %zu record(s) after the handshake (SNI \"%s\", ALPN "
          "%s)%s%s",
          src_.opts_.log_prefix.c_str(), lengths_.size(), sni_.c_str(), alpn_class_name(alpn_),
          list.empty() ? "" : ": ", list.c_str());
    }
    std::vector<Gate*> waiting = std::move(waiters_);
    waiters_.clear();
    for (Gate* g : waiting) wake(g);
  }

  static void wake(Gate* g);

  RealitySource& src_;
  std::string sni_;
  reality::AlpnClass alpn_;
  net::Timer window_;
  net::Timer idle_;
  net::Dial* dial_ = nullptr;
  std::unique_ptr<Transport> conn_;
  std::unique_ptr<tls13::Client> client_;
  std::vector<uint8_t> in_;
  std::vector<size_t> lengths_;
  std::vector<Gate*> waiters_;
  bool connected_ = false;
  bool done_ = false;
};

// LimitedRelay relays a connection that is not REALITY's to the target when
// fallback rate limits are set. Like Relay (session/relay.hpp): Slices are
// moved, not copied; each side's write queue has watermarks that pause the
// other side's reads; end-of-stream half-closes the other side once its
// queue drains; an error (a reset passed on as a reset) or the idle timeout
// closes both. Unlike it, every read passes its direction's TokenBucket and
// reading pauses for the bucket's debt, so there is no splice.
class RealitySource::LimitedRelay final : public EngineObject {
 public:
  static void start(Engine& e, std::unique_ptr<Transport> client, std::unique_ptr<Transport> target,
                    const RealitySourceOptions& o) {
    auto* r = new (std::nothrow) LimitedRelay(e, o);
    if (!r) {
      close_and_delete(client.release());
      close_and_delete(target.release());
      return;
    }
    r->side_[0].t = std::move(client);
    r->side_[1].t = std::move(target);
    const uint64_t now = e.now_ms();
    if (o.fallback_upload.enabled()) r->side_[0].bucket.emplace(o.fallback_upload, now);
    if (o.fallback_download.enabled()) r->side_[1].bucket.emplace(o.fallback_download, now);
    r->last_activity_ms_ = now;
    for (Side& s : r->side_) {
      s.t->set_handler(&s);
      s.t->set_write_watermarks(o.relay.low_watermark, o.relay.high_watermark);
      s.t->read_start();
    }
    r->idle_.start(
        o.relay.idle_timeout_ms, [](void* p) { static_cast<LimitedRelay*>(p)->on_idle(); }, r);
  }

  void engine_close() noexcept override { finish(Errc::canceled, -1); }

 private:
  enum Pause : uint8_t { kPeerHigh = 1, kLimit = 2 };

  struct Side final : TransportHandler {
    LimitedRelay* r = nullptr;
    int i = 0;
    std::unique_ptr<Transport> t;
    std::optional<reality::TokenBucket> bucket;  // for reads from this side
    net::Timer* wait = nullptr;
    uint8_t paused = 0;
    bool eof = false;
    void on_data(Slice&& d) override { r->on_data(i, std::move(d)); }
    void on_eof() override { r->on_eof(i); }
    void on_error(Errc e) override { r->finish(e, i); }
    void on_write_high() override { r->pause(1 - i, kPeerHigh, true); }
    void on_write_low() override { r->pause(1 - i, kPeerHigh, false); }
    void on_drained() override { r->check_done(); }
  };

  LimitedRelay(Engine& e, const RealitySourceOptions& o)
      : EngineObject(e), opts_(o.relay), idle_(e), wait_{net::Timer(e), net::Timer(e)} {
    for (int i = 0; i < 2; ++i) {
      side_[i].r = this;
      side_[i].i = i;
      side_[i].wait = &wait_[i];
    }
  }

  void on_data(int i, Slice&& d) {
    if (closer_.closing()) return;
    const size_t n = d.size();
    last_activity_ms_ = engine().now_ms();
    if (Status st = side_[1 - i].t->write(std::move(d)); !st) {
      finish(st.error(), 1 - i);
      return;
    }
    Side& s = side_[i];
    if (!s.bucket) return;
    const uint64_t wait_ms = s.bucket->take(n, engine().now_ms());
    if (wait_ms == 0) return;
    pause(i, kLimit, true);
    s.wait->start(
        wait_ms,
        [](void* p) {
          auto* side = static_cast<Side*>(p);
          side->r->pause(side->i, kLimit, false);
        },
        &s);
  }

  void on_eof(int i) {
    side_[i].eof = true;
    side_[i].t->read_stop();
    if (Status st = side_[1 - i].t->shutdown(); !st && st.error() != Errc::closed) {
      finish(st.error(), 1 - i);
      return;
    }
    check_done();
  }

  // pause sets or clears a reason for side |i| not to read.
  void pause(int i, Pause why, bool on) {
    if (closer_.closing()) return;
    Side& s = side_[i];
    const uint8_t before = s.paused;
    s.paused = on ? static_cast<uint8_t>(s.paused | why) : static_cast<uint8_t>(s.paused & ~why);
    if (s.eof || (before == 0) == (s.paused == 0)) return;
    if (s.paused)
      s.t->read_stop();
    else
      s.t->read_start();
  }

  void check_done() {
    if (closer_.closing()) return;
    if (side_[0].eof && side_[1].eof && side_[0].t->write_buffered() == 0 &&
        side_[1].t->write_buffered() == 0)
      finish(Errc::ok, -1);
  }

  void on_idle() {
    const uint64_t now = engine().now_ms();
    if (now - last_activity_ms_ >= opts_.idle_timeout_ms) {
      finish(Errc::timed_out, -1);
      return;
    }
    idle_.start(
        opts_.idle_timeout_ms - (now - last_activity_ms_),
        [](void* p) { static_cast<LimitedRelay*>(p)->on_idle(); }, this);
  }

  void finish(Errc e, int side) {
    if (!closer_.begin([](void* u) { delete static_cast<LimitedRelay*>(u); }, this)) return;
    idle_.stop();
    for (net::Timer& w : wait_) w.stop();
    if (e == Errc::connection_reset && side >= 0) side_[1 - side].t->reset_on_close();
    for (Side& s : side_) {
      s.t->set_handler(nullptr);
      s.t->close(closer_.hold_callback(), &closer_);
    }
    closer_.arm(engine());
  }

  RelayOptions opts_;
  net::Timer idle_;
  net::Timer wait_[2];
  Side side_[2];
  uint64_t last_activity_ms_ = 0;
  net::Closer closer_;
};

// Gate: one accepted connection from accept to its hand-over (downstream,
// Relay) or its close. It owns the client transport, the target dial or
// connection, and then the Tls13Transport during its handshake.
class RealitySource::Gate final : net::DialHandler, TlsHandshakeHandler {
 public:
  Gate(RealitySource& src, std::unique_ptr<Transport> client, const AcceptInfo& info)
      : src_(src),
        engine_(src.engine_),
        info_(info),
        client_(std::move(client)),
        deadline_(src.engine_),
        flight_wait_(src.engine_),
        client_side_(this),
        target_side_(this) {}

  ~Gate() override {
    if (probe_) probe_->forget(this);
    deadline_.stop();
    flight_wait_.stop();
    if (dial_) dial_->cancel();
    if (client_) close_and_delete(client_.release());
    if (target_) close_and_delete(target_.release());
    if (tls_) close_and_delete(tls_.release());
  }

  void start() {
    deadline_.start(
        src_.opts_.handshake_timeout_ms, [](void* p) { static_cast<Gate*>(p)->on_deadline(); },
        this);
    client_->set_handler(&client_side_);
    client_->read_start();
    dial_ = net::Dial::start(engine_, src_.opts_.target_host, src_.opts_.target_port,
                             src_.opts_.target_dial, this);
  }

  // abort: the source is closing.
  void abort() { finish(false, false, "server closing"); }

 private:
  enum class Phase : uint8_t { reading, target_hello, handshake };

  struct Side final : TransportHandler {
    explicit Side(Gate* g) : gate(g) {}
    Gate* gate;
    void on_data(Slice&& data) override {
      if (this == &gate->client_side_)
        gate->on_client_data(std::move(data));
      else
        gate->on_target_data(std::move(data));
    }
    void on_eof() override {
      if (this == &gate->client_side_)
        gate->on_client_end("client closed before its ClientHello");
      else
        gate->on_target_end("target closed");
    }
    void on_error(Errc e) override {
      if (this == &gate->client_side_)
        gate->on_client_end(errc_message(e));
      else
        gate->on_target_end(errc_message(e));
    }
  };

  // --- phase 1: the client's hello and the target dial ---------------------

  void on_client_data(Slice&& data) {
    if (phase_ != Phase::reading) return;  // reading is stopped after the decision
    const auto bytes = data.span();
    client_linear_.insert(client_linear_.end(), bytes.begin(), bytes.end());
    if (!client_in_.push_back_compact(std::move(data))) {
      finish(false, false, "out of memory");
      return;
    }
    hello_state_ = reader_.read(client_linear_);
    if (hello_state_ != reality::ClientHelloReader::State::need_more) {
      client_->read_stop();
      decide();
    }
  }

  void on_client_end(const char* why) {
    if (phase_ == Phase::handshake) return;  // the Tls13Transport reports it
    finish(false, false, std::string("client: ") + why);
  }

  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* why) override {
    dial_ = nullptr;
    if (!t) {
      finish(false, false, std::string("handshake target unreachable: ") + why);
      return;
    }
    target_.reset(t->release());
    target_->set_handler(&target_side_);
    decide();
  }

  void on_deadline() {
    if (phase_ == Phase::reading && target_ && !client_in_.empty()) {
      // No complete hello in time: the target sees what the client sent.
      relay_to_target("no complete ClientHello before the deadline");
      return;
    }
    finish(false, false,
           phase_ == Phase::reading     ? "timed out before the ClientHello and the target"
           : phase_ == Phase::handshake ? "REALITY handshake timed out"
           : probe_ != nullptr ? "the post-handshake probe of the target did not end in time"
                               : "target too slow to answer the ClientHello");
  }

  // decide runs once both the hello is read and the target is connected.
  void decide() {
    if (phase_ != Phase::reading || !target_ ||
        hello_state_ == reality::ClientHelloReader::State::need_more)
      return;
    if (hello_state_ == reality::ClientHelloReader::State::not_tls) {
      relay_to_target(reader_.reason());
      return;
    }
    decision_ = src_.auth_.inspect(reader_.hello(), unix_ms());
    if (!decision_.authenticated) {
      relay_to_target(decision_.reason);
      return;
    }
    // Authenticated: the target answers this very hello; we learn its shape.
    phase_ = Phase::target_hello;
    auto hello = client_in_.split_to(reader_.consumed());
    if (!hello) {
      finish(false, false, "out of memory");
      return;
    }
    if (!target_->write(std::move(*hello))) {
      finish(false, false, "cannot write the ClientHello to the target");
      return;
    }
    target_->read_start();
  }

  void relay_to_target(const char* why) {
    SLUICE_LOG_INFO("%s: not REALITY, relayed to the target: %s", src_.opts_.log_prefix.c_str(),
                    why);
    const std::string reason = why;
    deadline_.stop();
    if (!client_in_.empty() && !target_->write(std::move(client_in_))) {
      finish(false, false, "cannot write to the target");
      return;
    }
    client_->set_handler(nullptr);
    target_->set_handler(nullptr);
    if (src_.opts_.fallback_upload.enabled() || src_.opts_.fallback_download.enabled())
      LimitedRelay::start(engine_, std::move(client_), std::move(target_), src_.opts_);
    else
      Relay::start(engine_, std::move(client_), std::move(target_), src_.opts_.relay, nullptr);
    finish(false, true, reason);
  }

  // --- phase 2: the target's ServerHello -----------------------------------

  void on_target_data(Slice&& data) {
    if (phase_ != Phase::target_hello) return;
    const auto bytes = data.span();
    target_linear_.insert(target_linear_.end(), bytes.begin(), bytes.end());
    if (target_linear_.size() > reality::kMaxTargetHelloBytes) {
      finish(false, false, "target sent incorrect server hello or handshake incomplete");
      return;
    }
    switch (target_reader_.read(target_linear_)) {
      case reality::TargetHelloReader::State::need_more:
        return;
      case reality::TargetHelloReader::State::unusable:
        finish(false, false, std::string("target unusable: ") + target_reader_.reason());
        return;
      case reality::TargetHelloReader::State::partial:
        if (!flight_waiting_) {
          flight_waiting_ = true;
          flight_wait_.start(
              kFlightWaitMs, [](void* p) { static_cast<Gate*>(p)->answer(); }, this);
        }
        return;
      case reality::TargetHelloReader::State::done:
        answer();
        return;
    }
  }

  void on_target_end(const char* why) {
    if (phase_ == Phase::target_hello && flight_waiting_) {
      answer();  // the records seen so far are the flight
      return;
    }
    if (phase_ == Phase::reading && !dial_) {
      finish(false, false, std::string("target: ") + why);
      return;
    }
    if (phase_ == Phase::target_hello)
      finish(false, false,
             std::string("target sent incorrect server hello or handshake "
                         "incomplete: ") +
                 why);
  }

  // --- phase 3: our handshake on the target's template ---------------------

  void answer() {
    if (phase_ != Phase::target_hello || probe_) return;
    Probe* probe = src_.probe_for(reality::hello_server_name(reader_.hello()),
                                  reality::hello_alpn_class(reader_.hello()));
    if (probe && !probe->done()) {
      // The target's post-handshake records are not known yet: wait.
      flight_wait_.stop();
      target_->read_stop();
      probe_ = probe;
      probe->wait(this);
      return;
    }
    phase_ = Phase::handshake;
    flight_wait_.stop();
    target_->set_handler(nullptr);
    close_and_delete(target_.release());

    std::span<const size_t> post;
    if (probe) post = probe->lengths();
    auto server = std::unique_ptr<tls13::Server>(new (std::nothrow) tls13::Server(
        reality::server_config(target_reader_, src_.cert_, decision_.auth_key, post)));
    if (!server) {
      finish(false, false, "out of memory");
      return;
    }
    const auto hello = std::span(client_linear_).first(reader_.consumed());
    if (tls13::Outcome o = server->receive(hello); !o) {
      finish(false, false, std::string("REALITY handshake: ") + o.what());
      return;
    }
    client_->set_handler(nullptr);
    auto t = Tls13Transport::server(engine_, std::move(client_), std::move(server),
                                    std::move(client_in_));
    if (!t) {
      finish(false, false, "REALITY TLS setup failed");
      return;
    }
    tls_ = std::move(*t);
    // One record per read until the protocol server decides (VLESS Vision
    // must be able to stop at a record boundary); it switches to bulk.
    tls_->set_one_record_reads(true);
    tls_->start_handshake(this);
  }

  void on_handshake(Errc e, const char* reason) override {
    if (e != Errc::ok) {
      finish(false, false, std::string("REALITY handshake: ") + reason);
      return;
    }
    deadline_.stop();
    auto t = std::move(tls_);
    const AcceptInfo info = info_;
    TransportSource::Sink* sink = src_.downstream_;
    finish(true, false, "");  // deletes this
    sink->on_accepted(std::unique_ptr<Transport>(t.release()), info);
  }

  // probe_done: the probe this gate waited for has finished.
  void probe_done() {
    probe_ = nullptr;
    answer();
  }

  // finish ends the gate: counts, logs a failure, closes what is left and
  // deletes this object. Callers return right after.
  void finish(bool authenticated, bool relayed, const std::string& reason) {
    if (finished_) return;
    finished_ = true;
    if (!authenticated && !relayed)
      SLUICE_LOG_INFO("%s: REALITY connection closed: %s", src_.opts_.log_prefix.c_str(),
                      reason.c_str());
    src_.gate_done(this, authenticated, relayed, reason);
    delete this;
  }

  RealitySource& src_;
  Engine& engine_;
  AcceptInfo info_;
  std::unique_ptr<Transport> client_;
  std::unique_ptr<Transport> target_;
  std::unique_ptr<Tls13Transport> tls_;
  net::Dial* dial_ = nullptr;
  net::Timer deadline_;
  net::Timer flight_wait_;
  Side client_side_;
  Side target_side_;
  Phase phase_ = Phase::reading;
  Chain client_in_;                     // the client's bytes, as received (for the target)
  std::vector<uint8_t> client_linear_;  // the same bytes, contiguous, for the reader
  std::vector<uint8_t> target_linear_;  // the target's answer so far
  reality::ClientHelloReader reader_;
  reality::ClientHelloReader::State hello_state_ = reality::ClientHelloReader::State::need_more;
  reality::Decision decision_;
  reality::TargetHelloReader target_reader_;
  bool flight_waiting_ = false;
  bool finished_ = false;
  Probe* probe_ = nullptr;  // waited for, before answering

  friend class Probe;
};

void RealitySource::Probe::wake(Gate* g) { g->probe_done(); }

Result<RealitySourceOptions> reality_source_options(const TlsRealityServerOptions& o,
                                                    std::string* reason) {
  RealitySourceOptions s;
  s.target_host = o.handshake_server;
  s.target_port = o.handshake_server_port;
  auto key = reality::parse_key(o.private_key);
  if (!key) {
    if (reason) *reason = "reality.private_key: expected a base64url X25519 private key";
    return Errc::config_invalid;
  }
  s.auth.private_key = *key;
  s.auth.server_names = o.server_names;
  for (const std::string& id : o.short_id) {
    auto v = reality::parse_short_id(id);
    if (!v) {
      if (reason) *reason = "reality.short_id: \"" + id + "\" is not 0-16 hex digits";
      return Errc::config_invalid;
    }
    s.auth.short_ids.push_back(*v);
  }
  s.auth.max_time_difference_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(o.max_time_difference).count());
  for (auto [text, out] : {std::pair{&o.min_client_version, &s.auth.min_version},
                           std::pair{&o.max_client_version, &s.auth.max_version}}) {
    if (text->empty()) continue;
    auto v = reality::parse_version(*text);
    if (!v) {
      if (reason) *reason = "reality: client version \"" + *text + "\" is not x.y.z";
      return Errc::config_invalid;
    }
    *out = *v;
  }
  for (auto [in, out] : {std::pair{&o.limit_fallback_upload, &s.fallback_upload},
                         std::pair{&o.limit_fallback_download, &s.fallback_download}}) {
    out->after_bytes = in->after_bytes;
    out->bytes_per_sec = in->bytes_per_sec;
    out->burst_bytes_per_sec = in->burst_bytes_per_sec;
  }
  return s;
}

Result<std::unique_ptr<RealitySource>> RealitySource::create(Engine& e,
                                                             const RealitySourceOptions& o,
                                                             TransportSource::Sink* downstream,
                                                             std::string* reason) {
  if (o.target_host.empty() || o.target_port == 0) {
    if (reason) *reason = "reality: the handshake target is required";
    return Errc::invalid_argument;
  }
  if (o.auth.server_names.empty()) {
    if (reason) *reason = "reality: at least one server name is required";
    return Errc::invalid_argument;
  }
  auto cert = reality::TemporaryCertificate::generate();
  if (!cert) {
    if (reason) *reason = "reality: cannot make the temporary certificate";
    return cert.error();
  }
  std::unique_ptr<RealitySource> s(new (std::nothrow)
                                       RealitySource(e, o, downstream, std::move(*cert)));
  if (!s) return Errc::no_memory;
  auto tcp = TcpSource::create(e, o.listen, o.port, o.listen_opts, s.get(), reason);
  if (!tcp) return tcp.error();
  s->tcp_ = std::move(*tcp);
  // Learn every (server name, ALPN class)'s post-handshake records now, as
  // Xray's listener does, so that clients rarely wait for a probe.
  for (const std::string& name : o.auth.server_names)
    for (auto c : {reality::AlpnClass::h2, reality::AlpnClass::other, reality::AlpnClass::none})
      (void)s->probe_for(name, c);
  return s;
}

RealitySource::RealitySource(Engine& e, const RealitySourceOptions& o,
                             TransportSource::Sink* downstream, reality::TemporaryCertificate cert)
    : engine_(e), opts_(o), downstream_(downstream), auth_(o.auth), cert_(std::move(cert)) {}

RealitySource::~RealitySource() {
  while (!gates_.empty()) gates_.back()->abort();
  stop_probes();
}

RealitySource::Probe* RealitySource::probe_for(std::string_view sni, reality::AlpnClass alpn) {
  if (!opts_.post_handshake_probe) return nullptr;
  for (auto& p : probes_)
    if (p->matches(sni, alpn)) return p.get();
  if (closing_) return nullptr;
  auto p = std::unique_ptr<Probe>(new (std::nothrow) Probe(*this, std::string(sni), alpn));
  if (!p) return nullptr;
  probes_.push_back(std::move(p));
  probes_.back()->start();
  return probes_.back().get();
}

void RealitySource::stop_probes() noexcept {
  for (auto& p : probes_) p->stop();
}

std::vector<size_t> RealitySource::post_handshake_lengths(std::string_view sni,
                                                          reality::AlpnClass alpn) const {
  for (const auto& p : probes_)
    if (p->matches(sni, alpn) && p->done()) return p->lengths();
  return {};
}

uint16_t RealitySource::port() const noexcept { return tcp_ ? tcp_->port() : 0; }

void RealitySource::on_accepted(std::unique_ptr<Transport> t, const AcceptInfo& info) {
  if (closing_) {
    close_and_delete(t.release());
    return;
  }
  stats_.accepted++;
  auto* g = new (std::nothrow) Gate(*this, std::move(t), info);
  if (!g) {
    close_and_delete(t.release());
    return;
  }
  gates_.push_back(g);
  g->start();
}

void RealitySource::gate_done(Gate* g, bool authenticated, bool relayed,
                              const std::string& reason) noexcept {
  gates_.erase(std::remove(gates_.begin(), gates_.end(), g), gates_.end());
  if (authenticated) {
    stats_.authenticated++;
    return;
  }
  if (relayed)
    stats_.relayed++;
  else
    stats_.failed++;
  stats_.last_reason = reason;
}

void RealitySource::close(CloseCallback cb, void* user) noexcept {
  closing_ = true;
  close_cb_ = cb;
  close_user_ = user;
  while (!gates_.empty()) gates_.back()->abort();
  stop_probes();
  tcp_->close(&RealitySource::listener_closed, this);
}

void RealitySource::listener_closed(void* self) {
  auto* s = static_cast<RealitySource*>(self);
  if (s->close_cb_) s->close_cb_(s->close_user_);
}

}  // namespace sluice
