// inbound/reality_source.cpp: the REALITY gate (see reality_source.hpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/reality_source.hpp"

#include <algorithm>
#include <chrono>
#include <new>
#include <vector>

#include "net/timer.hpp"
#include "proto/reality/target_hello.hpp"
#include "sluice/log.hpp"
#include "transport/tls13_transport.hpp"

namespace sluice {

namespace {

uint64_t unix_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

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
    if (!client_in_.push_back(std::move(data))) {
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
    if (phase_ != Phase::target_hello) return;
    phase_ = Phase::handshake;
    flight_wait_.stop();
    target_->set_handler(nullptr);
    close_and_delete(target_.release());

    auto server = std::unique_ptr<tls13::Server>(new (std::nothrow) tls13::Server(
        reality::server_config(target_reader_, src_.cert_, decision_.auth_key)));
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
};

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
  return s;
}

RealitySource::RealitySource(Engine& e, const RealitySourceOptions& o,
                             TransportSource::Sink* downstream, reality::TemporaryCertificate cert)
    : engine_(e), opts_(o), downstream_(downstream), auth_(o.auth), cert_(std::move(cert)) {}

RealitySource::~RealitySource() {
  while (!gates_.empty()) gates_.back()->abort();
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
  tcp_->close(&RealitySource::listener_closed, this);
}

void RealitySource::listener_closed(void* self) {
  auto* s = static_cast<RealitySource*>(self);
  if (s->close_cb_) s->close_cb_(s->close_user_);
}

}  // namespace sluice
