// ssh_session.cpp: the ssh outbound's connection: dial, handshake, host key,
// authentication, channel opens, the pump, keepalive and reconnect.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/ssh_session.hpp"

#include <libssh/callbacks.h>
#include <libssh/server.h>  // ssh_send_keepalive (exported for clients too)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "net/engine_internal.hpp"
#include "session/ssh_channel.hpp"
#include "sluice/log.hpp"

namespace sluice {

struct SshSession::Open {
  OpenHandler* h = nullptr;
  std::string host;
  uint16_t port = 0;
  std::unique_ptr<SshChannel> ch;  // once the CHANNEL_OPEN went out
  uint64_t deadline = 0;
  Errc error = Errc::ok;  // when answered: ok hands ch over
  std::string why;
};

struct SshSession::PollBox {
  uv_poll_t h{};
  SshSession* owner = nullptr;   // null once the session let go of it
  SshSession* notify = nullptr;  // a closing session waiting for uv_close
};

namespace {

// libssh logs through one process-wide callback. Its "warning" level also
// carries routine events (the denied keepalive reply, the /dev/null
// known_hosts, each channel-open failure), and every failure that matters
// reaches sluice's log with its reason from the session itself, so libssh's
// lines go to the debug level.
void ssh_log_to_sluice(int priority, const char* function, const char* buffer, void*) {
  (void)function;
  if (buffer == nullptr || priority > SSH_LOG_WARNING) return;
  SLUICE_LOG_DEBUG("libssh: %s", buffer);
}

void init_libssh_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    ssh_init();
    ssh_set_log_callback(&ssh_log_to_sluice);
    ssh_set_log_level(SSH_LOG_WARNING);
  });
}

bool cpu_has_aes() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("aes");
#else
  return false;
#endif
}

// open_failure maps libssh's "Channel opening failure: channel N error (C)
// text" (RFC 4254 §5.1 reason C) to an error and words.
Errc open_failure(const char* text, const std::string& target, const std::string& server,
                  std::string* why) {
  int code = 0;
  const char* p = text ? std::strstr(text, "error (") : nullptr;
  if (p) code = std::atoi(p + 7);
  std::string detail = text ? text : "";
  if (p) {
    const char* q = std::strchr(p, ')');
    detail = q ? std::string(q + 1) : std::string();
    while (!detail.empty() && detail.front() == ' ') detail.erase(0, 1);
  }
  switch (code) {
    case 1:
      *why = "ssh server " + server + " refused to forward to " + target +
             ": administratively prohibited (1)" + (detail.empty() ? "" : ": " + detail) +
             " (AllowTcpForwarding / PermitOpen)";
      return Errc::connection_refused;
    case 2:
      *why = "ssh server " + server + " could not connect to " + target + ": connect failed (2)" +
             (detail.empty() ? "" : ": " + detail);
      return Errc::connection_refused;
    case 3:
      *why = "ssh server " + server + " does not support direct-tcpip channels: unknown " +
             "channel type (3)" + (detail.empty() ? "" : ": " + detail);
      return Errc::not_supported;
    case 4:
      *why = "ssh server " + server + " refused the channel to " + target +
             ": resource shortage (4)" + (detail.empty() ? "" : ": " + detail) +
             " (MaxSessions or a channel limit)";
      return Errc::limit_exceeded;
    default:
      *why = "ssh channel to " + target + " via " + server + " failed: " + std::string(text);
      return Errc::connection_reset;
  }
}

std::string methods_text(int m) {
  std::string s;
  auto add = [&](int bit, const char* name) {
    if (m & bit) {
      if (!s.empty()) s.push_back(',');
      s += name;
    }
  };
  add(SSH_AUTH_METHOD_PUBLICKEY, "publickey");
  add(SSH_AUTH_METHOD_PASSWORD, "password");
  add(SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive");
  add(SSH_AUTH_METHOD_HOSTBASED, "hostbased");
  add(SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic");
  return s.empty() ? "none" : s;
}

}  // namespace

SshSession::SshSession(Engine& e, std::string tag, SshSessionOptions o, std::unique_ptr<SshKeys> k)
    : Session(e, std::move(tag)), opts_(std::move(o)), keys_(std::move(k)), timer_(e), flush_(e) {}

Result<std::unique_ptr<SshSession>> SshSession::create(Engine& e, std::string tag,
                                                       SshSessionOptions o, std::string* why) {
  init_libssh_once();
  if (o.server.empty()) {
    if (why) *why = "server: required";
    return Errc::config_invalid;
  }
  if (o.server_port == 0) o.server_port = 22;
  if (o.user.empty()) o.user = "root";
  if (o.read_window < 65536) o.read_window = 65536;
  o.keys.host = o.server;
  o.keys.port = o.server_port;
  auto k = SshKeys::create(o.keys, why);
  if (!k) return k.error();
  if (o.password.empty() && (*k)->user_key_count() == 0) {
    if (why) *why = "no password and no private key to authenticate with";
    return Errc::config_invalid;
  }
  if (o.ciphers.empty()) {
    o.ciphers = cpu_has_aes() ? "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,"
                                "aes256-gcm@openssh.com,aes128-ctr,aes256-ctr"
                              : "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,"
                                "aes256-gcm@openssh.com,aes128-ctr,aes256-ctr";
  }
  std::unique_ptr<SshSession> s(new SshSession(e, std::move(tag), std::move(o), std::move(*k)));
  net::subscribe_network_changes(e, s.get());
  return s;
}

void SshSession::on_network_changed(unsigned flags) noexcept {
  if (state_ == State::idle || close_begun()) return;
  if (flags & net::kNetworkLinkChanged) {
    failures_ = 0;  // not the server's fault: no backoff
    if (state_ == State::ready) {
      if (pump_depth_ == 0) {
        connection_lost(Errc::network_changed, "the network changed");
      } else {
        dead_pending_ = true;
        dead_error_ = Errc::network_changed;
        dead_why_ = "the network changed";
      }
    } else if (pump_depth_ == 0) {
      if (dial_) {
        dial_->cancel();
        dial_ = nullptr;
      }
      connect_failed(Errc::network_changed,
                     "ssh server " + server_name() + ": the network changed while connecting");
      failures_ = 0;
    }
    arm_timer();
    return;
  }
  if ((flags & net::kNetworkWoke) && state_ == State::ready && ssh_ != nullptr) {
    ssh_send_keepalive(ssh_);  // a dead path shows up as silence (tick)
    ++stats_.keepalives_sent;
    after_call();
  }
}

SshSession::~SshSession() {
  net::unsubscribe_network_changes(engine(), this);
  for (auto& o : opens_) o->h = nullptr;
  opens_.clear();
  answering_.clear();
  if (dial_) {
    dial_->cancel();
    dial_ = nullptr;
  }
  teardown(false);
}

std::string SshSession::server_name() const {
  return opts_.server + ":" + std::to_string(opts_.server_port);
}

SshSessionStats SshSession::stats() const {
  SshSessionStats s = stats_;
  s.channels = 0;
  for (auto* c : channels_) s.channels += c != nullptr;
  s.connected = state_ == State::ready;
  const uint64_t sent = sock_counter_.out_bytes - out_base_;
  s.out_unsent = s.connected && sent < handed_ ? handed_ - sent : 0;
  if (s.connected) {
    const char* in = ssh_get_cipher_in(ssh_);
    const char* out = ssh_get_cipher_out(ssh_);
    s.cipher_in = in ? in : "";
    s.cipher_out = out ? out : "";
  }
  return s;
}

uint8_t* SshSession::scratch() noexcept {
  if (!scratch_) scratch_.reset(new (std::nothrow) uint8_t[opts_.read_window]);
  return scratch_.get();
}

// --- opens -------------------------------------------------------------------

void SshSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  if (close_begun()) {
    h->on_open(Errc::canceled, "outbound closed");
    return;
  }
  if (host.empty() || port == 0) {
    h->on_open(Errc::invalid_argument, "invalid target address");
    return;
  }
  const uint64_t now = engine().now_ms();
  if (state_ == State::idle && failures_ > 0 && now < backoff_until_ms_) {
    const std::string why = last_why_ + " (next attempt in " +
                            std::to_string((backoff_until_ms_ - now + 999) / 1000) + " s)";
    h->on_open(last_error_, why.c_str());
    return;
  }
  auto o = std::unique_ptr<Open>(new (std::nothrow) Open);
  if (!o) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  o->h = h;
  o->host.assign(host);
  o->port = port;
  Open& ref = *o;
  opens_.push_back(std::move(o));
  idle_since_ms_ = 0;
  if (state_ == State::ready) {
    start_open(ref);
    deliver_opens();
    arm_timer();
  } else if (state_ == State::idle) {
    start_connect();
  }
}

void SshSession::start_open(Open& o) noexcept {
  const std::string target = o.host + ":" + std::to_string(o.port);
  o.ch.reset(new (std::nothrow) SshChannel(*this, target));
  if (!o.ch || !o.ch->init()) {
    o.ch.reset();
    o.error = Errc::no_memory;
    o.why = "ssh: cannot create a channel: " + std::string(ssh_get_error(ssh_));
  } else {
    o.deadline = engine().now_ms() + opts_.open_timeout_ms;
  }
  service_opens();
  update_poll();
}

void SshSession::service_opens() noexcept {
  for (size_t i = 0; i < opens_.size();) {
    Open& o = *opens_[i];
    if (o.error == Errc::ok && !o.ch) {
      ++i;  // waits for the connection
      continue;
    }
    if (o.error == Errc::ok) {
      const int rc = ssh_channel_open_forward(o.ch->raw(), o.host.c_str(), o.port, "127.0.0.1", 0);
      if (rc == SSH_AGAIN) {
        ++i;
        continue;
      }
      if (rc == SSH_OK) {
        channels_.push_back(o.ch.get());
        o.ch->opened();
      } else {
        o.error = open_failure(ssh_get_error(ssh_), o.ch->target(), server_name(), &o.why);
        o.ch->release_raw(true);
        o.ch.reset();
      }
    }
    answering_.push_back(std::move(opens_[i]));
    opens_.erase(opens_.begin() + static_cast<ptrdiff_t>(i));
  }
  // Canceled opens still waiting for the server: close once it answers.
  for (size_t i = 0; i < abandoned_.size();) {
    SshChannel* c = abandoned_[i].get();
    const std::string& t = c->target();
    const size_t colon = t.rfind(':');
    const int rc = ssh_channel_open_forward(c->raw(), t.substr(0, colon).c_str(),
                                            std::atoi(t.c_str() + colon + 1), "127.0.0.1", 0);
    if (rc == SSH_AGAIN) {
      ++i;
      continue;
    }
    abandoned_.erase(abandoned_.begin() + static_cast<ptrdiff_t>(i));  // closes it
  }
}

void SshSession::deliver_opens() noexcept {
  while (!answering_.empty()) {
    std::unique_ptr<Open> o = std::move(answering_.front());
    answering_.erase(answering_.begin());
    if (o->h == nullptr) continue;  // canceled meanwhile; ch (if any) closes
    OpenHandler* h = o->h;
    if (o->error == Errc::ok && o->ch) {
      h->on_open(std::unique_ptr<Stream>(o->ch.release()), "");
    } else {
      h->on_open(o->error, o->why.c_str());
    }
  }
}

void SshSession::fail_opens(Errc e, const std::string& why) noexcept {
  for (auto& o : opens_) {
    if (o->ch) {
      o->ch->release_raw(state_ != State::idle && ssh_ != nullptr);
      o->ch.reset();
    }
    o->error = e;
    o->why = why;
    answering_.push_back(std::move(o));
  }
  opens_.clear();
}

void SshSession::cancel_open(OpenHandler* h) noexcept {
  for (size_t i = 0; i < opens_.size(); ++i) {
    if (opens_[i]->h != h) continue;
    std::unique_ptr<Open> o = std::move(opens_[i]);
    opens_.erase(opens_.begin() + static_cast<ptrdiff_t>(i));
    if (o->ch && ssh_ != nullptr) abandoned_.push_back(std::move(o->ch));
    return;
  }
  for (auto& o : answering_) {
    if (o->h == h) o->h = nullptr;
  }
}

void SshSession::forget(SshChannel* c) noexcept {
  for (auto& p : channels_) {
    if (p == c) p = nullptr;
  }
  for (auto& p : marked_) {
    if (p == c) p = nullptr;
  }
  for (auto& p : servicing_) {
    if (p == c) p = nullptr;
  }
  if (pump_depth_ == 0) {
    channels_.erase(std::remove(channels_.begin(), channels_.end(), nullptr), channels_.end());
  }
}

// --- connecting --------------------------------------------------------------

void SshSession::start_connect() noexcept {
  state_ = State::dialing;
  hs_deadline_ = engine().now_ms() + opts_.dial.connect_timeout_ms + opts_.handshake_timeout_ms;
  arm_timer();
  if (!opts_.client_version.empty() && !warned_version_) {
    warned_version_ = true;
    SLUICE_LOG_WARN(
        "ssh outbound %s: client_version \"%s\" ignored: libssh 0.10 always sends "
        "SSH-2.0-libssh_0.10.x",
        tag().c_str(), opts_.client_version.c_str());
  }
  dial_ = net::Dial::start(engine(), opts_.server, opts_.server_port, opts_.dial, this);
}

void SshSession::on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) {
  dial_ = nullptr;
  if (!t) {
    connect_failed(t.error(), "ssh server " + server_name() + ": " + reason);
    return;
  }
  int fd = -1;
  uv_os_fd_t ufd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>((*t)->handle()), &ufd) == 0) fd = dup(ufd);
  close_and_delete(t->release());
  if (fd < 0) {
    connect_failed(Errc::io_error, "ssh server " + server_name() + ": cannot take the socket");
    return;
  }
  std::string why;
  Status st = setup_ssh(fd, &why);
  if (!st) {
    connect_failed(st.error(), "ssh server " + server_name() + ": " + why);
    return;
  }
  state_ = State::handshake;
  ++pump_depth_;
  handshake_step();
  --pump_depth_;
  if (dead_pending_) arm_timer();
}

Status SshSession::setup_ssh(int fd, std::string* why) noexcept {
  ssh_ = ssh_new();
  if (ssh_ == nullptr) {
    ::close(fd);
    *why = "ssh_new failed";
    return Errc::no_memory;
  }
  // libssh sets TCP_NODELAY only on sockets it connects itself.
  const int on = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  socket_t sock = fd;
  if (ssh_options_set(ssh_, SSH_OPTIONS_FD, &sock) != SSH_OK) {
    ::close(fd);
    *why = ssh_get_error(ssh_);
    return Errc::internal;
  }
  const unsigned int port = opts_.server_port;
  const bool no = false;
  const int one = 1;
  const std::string& kh = keys_->known_hosts();
  struct {
    enum ssh_options_e o;
    const void* v;
  } const options[] = {
      {SSH_OPTIONS_HOST, opts_.server.c_str()},
      {SSH_OPTIONS_PORT, &port},
      {SSH_OPTIONS_USER, opts_.user.c_str()},
      {SSH_OPTIONS_PROCESS_CONFIG, &no},  // never ~/.ssh/config in a library
      {SSH_OPTIONS_KNOWNHOSTS, kh.empty() ? "/dev/null" : kh.c_str()},
      {SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null"},
      {SSH_OPTIONS_NODELAY, &one},
      {SSH_OPTIONS_COMPRESSION, "no"},
      {SSH_OPTIONS_CIPHERS_C_S, opts_.ciphers.c_str()},
      {SSH_OPTIONS_CIPHERS_S_C, opts_.ciphers.c_str()},
  };
  for (const auto& op : options) {
    if (ssh_options_set(ssh_, op.o, op.v) != SSH_OK) {
      *why = std::string("ssh option: ") + ssh_get_error(ssh_);
      return Errc::config_invalid;
    }
  }
  if (!keys_->hostkeys_option().empty() &&
      ssh_options_set(ssh_, SSH_OPTIONS_HOSTKEYS, keys_->hostkeys_option().c_str()) != SSH_OK) {
    *why = "host_key_algorithms \"" + keys_->hostkeys_option() + "\": " + ssh_get_error(ssh_);
    return Errc::config_invalid;
  }
  ssh_set_blocking(ssh_, 0);
  sock_counter_ = {};
  raw_counter_ = {};
  ssh_set_counters(ssh_, &sock_counter_, &raw_counter_);
  poll_ = new (std::nothrow) PollBox;
  if (poll_ == nullptr) return Errc::no_memory;
  poll_->owner = this;
  poll_->h.data = poll_;
  const int rc = uv_poll_init(engine().loop(), &poll_->h, fd);
  if (rc != 0) {
    delete poll_;
    poll_ = nullptr;
    *why = std::string("uv_poll_init: ") + uv_strerror(rc);
    return Errc::io_error;
  }
  poll_events_ = 0;
  return {};
}

bool SshSession::socket_gone() const noexcept {
  // libssh closes its socket itself on a socket error or EOF.
  return ssh_ != nullptr && (ssh_get_fd(ssh_) == SSH_INVALID_SOCKET ||
                             (ssh_get_status(ssh_) & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0);
}

void SshSession::handshake_step() noexcept {
  int rc = ssh_connect(ssh_);
  if (rc == SSH_AGAIN && socket_gone()) rc = SSH_ERROR;
  if (rc == SSH_AGAIN) {
    update_poll();
    return;
  }
  if (rc != SSH_OK) {
    std::string why = "ssh handshake with " + server_name() + " failed: " + ssh_get_error(ssh_);
    Errc e = Errc::protocol_violation;  // key exchange / algorithm negotiation
    if (ssh_get_serverbanner(ssh_) == nullptr) {
      e = Errc::connection_reset;
      // sshd drops connections beyond MaxStartups before its banner.
      why +=
          " (the server closed the connection before its SSH banner: sshd's MaxStartups "
          "limit of unauthenticated connections reached, or not an SSH server)";
    }
    connect_failed(e, why);
    return;
  }
  std::string why;
  Status st = keys_->check_host_key(ssh_, &why);
  if (!st) {
    connect_failed(st.error(), "ssh server " + server_name() + ": " + why);
    return;
  }
  state_ = State::auth;
  auth_step_ = AuthStep::none;
  auth_key_ = 0;
  auth_methods_ = 0;
  auth_rejected_.clear();
  auth_step();
}

void SshSession::auth_step() noexcept {
  if (socket_gone()) {
    connect_failed(Errc::connection_reset,
                   "ssh server " + server_name() +
                       " closed the connection during authentication: " + ssh_get_error(ssh_));
    return;
  }
  auto failed = [&](const std::string& what) {
    connect_failed(Errc::auth_failed, "ssh authentication as \"" + opts_.user + "\" to " +
                                          server_name() + " failed: " + what);
  };
  while (true) {
    int rc;
    switch (auth_step_) {
      case AuthStep::none:
        rc = ssh_userauth_none(ssh_, nullptr);
        if (rc == SSH_AUTH_AGAIN) return update_poll();
        if (rc == SSH_AUTH_SUCCESS) return became_ready();
        if (rc == SSH_AUTH_ERROR) return failed(ssh_get_error(ssh_));
        auth_methods_ = ssh_userauth_list(ssh_, nullptr);
        auth_step_ = AuthStep::key;
        continue;
      case AuthStep::key:
        if (auth_key_ >= keys_->user_key_count()) {
          auth_step_ = AuthStep::password;
          continue;
        }
        if (!(auth_methods_ & SSH_AUTH_METHOD_PUBLICKEY)) {
          auth_rejected_ += std::string(auth_rejected_.empty() ? "" : "; ") +
                            "the server does not accept public keys";
          auth_step_ = AuthStep::password;
          continue;
        }
        rc = ssh_userauth_publickey(ssh_, nullptr, keys_->user_key(auth_key_));
        if (rc == SSH_AUTH_AGAIN) return update_poll();
        if (rc == SSH_AUTH_SUCCESS) return became_ready();
        if (rc == SSH_AUTH_ERROR) return failed(ssh_get_error(ssh_));
        if (rc == SSH_AUTH_PARTIAL) {
          auth_methods_ = ssh_userauth_list(ssh_, nullptr);
          auth_step_ = AuthStep::password;
          continue;
        }
        auth_rejected_ += std::string(auth_rejected_.empty() ? "" : "; ") + "the server rejected " +
                          keys_->user_key_name(auth_key_);
        ++auth_key_;
        continue;
      case AuthStep::password:
        if (opts_.password.empty()) {
          return failed((auth_rejected_.empty() ? std::string("no method left") : auth_rejected_) +
                        " (the server allows: " + methods_text(auth_methods_) + ")");
        }
        if (!(auth_methods_ & SSH_AUTH_METHOD_PASSWORD)) {
          return failed((auth_rejected_.empty() ? "" : auth_rejected_ + "; ") +
                        "the server does not accept passwords (it allows: " +
                        methods_text(auth_methods_) + ")");
        }
        rc = ssh_userauth_password(ssh_, nullptr, opts_.password.c_str());
        if (rc == SSH_AUTH_AGAIN) return update_poll();
        if (rc == SSH_AUTH_SUCCESS) return became_ready();
        if (rc == SSH_AUTH_ERROR) return failed(ssh_get_error(ssh_));
        if (rc == SSH_AUTH_PARTIAL) {
          return failed("the server wants a further method after the password (it allows: " +
                        methods_text(ssh_userauth_list(ssh_, nullptr)) + ")");
        }
        return failed((auth_rejected_.empty() ? "" : auth_rejected_ + "; ") +
                      "the server rejected the password");
    }
  }
}

void SshSession::became_ready() noexcept {
  event_ = ssh_event_new();
  if (event_ == nullptr || ssh_event_add_session(event_, ssh_) != SSH_OK) {
    connect_failed(Errc::no_memory, "ssh: cannot create the event loop glue");
    return;
  }
  state_ = State::ready;
  ++stats_.connects;
  failures_ = 0;
  const uint64_t now = engine().now_ms();
  last_rx_bytes_ = sock_counter_.in_bytes;
  last_rx_ms_ = now;
  next_keepalive_ms_ = now + opts_.keepalive_interval_ms / 2;
  idle_since_ms_ = 0;
  SLUICE_LOG_DEBUG("ssh outbound %s: connected to %s (%s)", tag().c_str(), server_name().c_str(),
                   ssh_get_cipher_out(ssh_));
  for (auto& o : opens_) {
    if (!o->ch && o->error == Errc::ok) {
      const std::string target = o->host + ":" + std::to_string(o->port);
      o->ch.reset(new (std::nothrow) SshChannel(*this, target));
      if (!o->ch || !o->ch->init()) {
        o->ch.reset();
        o->error = Errc::no_memory;
        o->why = "ssh: cannot create a channel";
      } else {
        o->deadline = now + opts_.open_timeout_ms;
      }
    }
  }
  service_opens();
  update_poll();
  arm_timer();
}

void SshSession::connect_failed(Errc e, const std::string& why) noexcept {
  ++stats_.connect_failures;
  ++failures_;
  const uint64_t shift = std::min<uint32_t>(failures_ - 1, 16);
  backoff_until_ms_ =
      engine().now_ms() + std::min(opts_.backoff_max_ms, opts_.backoff_min_ms << shift);
  last_error_ = e;
  last_why_ = why;
  SLUICE_LOG_WARN("ssh outbound %s: %s", tag().c_str(), why.c_str());
  if (pump_depth_ > 0) {
    // Inside a poll callback: finish the teardown from the timer, outside;
    // the poll handle goes now (libssh may have closed its socket).
    close_poll();
    dead_pending_ = true;
    dead_error_ = e;
    dead_why_ = why;
    fail_opens(e, why);
    state_ = State::idle;
    return;
  }
  fail_opens(e, why);
  teardown(false);
  deliver_opens();
}

void SshSession::connection_lost(Errc e, const std::string& why) noexcept {
  ++stats_.connections_lost;
  const std::string msg = "ssh connection to " + server_name() + " lost: " + why;
  SLUICE_LOG_WARN("ssh outbound %s: %s", tag().c_str(), msg.c_str());
  for (SshChannel* c : channels_) {
    if (c) c->conn_lost(e, msg);
  }
  channels_.clear();
  fail_opens(e, msg);
  teardown(false);
  deliver_opens();
}

void SshSession::teardown(bool send_disconnect) noexcept {
  for (SshChannel* c : channels_) {
    if (c) c->conn_lost(Errc::canceled, "ssh connection closed");
  }
  channels_.clear();
  marked_.clear();
  for (auto& p : servicing_) p = nullptr;
  for (auto& a : abandoned_) a->release_raw(false);
  abandoned_.clear();
  for (auto& o : opens_) {
    if (o->ch) o->ch->release_raw(false);
  }
  for (auto& o : answering_) {
    if (o->ch && o->error != Errc::ok) o->ch->release_raw(false);
  }
  close_poll();
  if (event_) {
    if (ssh_) ssh_event_remove_session(event_, ssh_);
    ssh_event_free(event_);
    event_ = nullptr;
  }
  if (ssh_) {
    if (send_disconnect) ssh_disconnect(ssh_);
    ssh_free(ssh_);  // closes the socket
    ssh_ = nullptr;
  }
  state_ = State::idle;
  write_blocked_ = false;
  handed_ = 0;
  out_base_ = 0;
  flush_out_ = UINT64_MAX;
  flush_.stop();
  poll_events_ = 0;
  dead_pending_ = false;
}

void SshSession::close_poll() noexcept {
  if (poll_ == nullptr) return;
  poll_->owner = nullptr;
  if (closing_) poll_->notify = this;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_->h), [](uv_handle_t* h) {
    auto* box = static_cast<PollBox*>(h->data);
    SshSession* s = box->notify;
    delete box;
    if (s) {
      s->detach_from_engine();
      if (s->close_cb_) s->close_cb_(s->close_user_);
    }
  });
  poll_ = nullptr;
  poll_events_ = 0;
}

// --- the pump ----------------------------------------------------------------

void SshSession::on_poll(uv_poll_t* h, int status, int events) {
  (void)events;
  auto* box = static_cast<PollBox*>(h->data);
  SshSession* s = box->owner;
  if (s == nullptr) return;
  if (status < 0) {
    // libuv reports POLLERR (a reset) as UV_EBADF and stops the handle: let
    // libssh read what is left and fail with its own words first.
    s->poll_events_ = 0;
    if (s->ssh_ != nullptr) s->pump();
    if (s->poll_ == nullptr || box->owner != s || s->dead_pending_ || s->state_ == State::idle)
      return;
    const char* e = s->ssh_ ? ssh_get_error(s->ssh_) : "";
    const std::string why =
        e && *e ? std::string(e)
                : std::string("socket error: ") +
                      (status == UV_EBADF ? "connection reset" : uv_strerror(status));
    if (s->state_ == State::ready) {
      s->connection_lost(Errc::connection_reset, why);
    } else {
      std::string w = "ssh server " + s->server_name() + ": " + why;
      if (s->state_ == State::handshake && ssh_get_serverbanner(s->ssh_) == nullptr) {
        w += " before its SSH banner (sshd's MaxStartups limit of unauthenticated connections "
             "reached, or not an SSH server)";
      }
      s->connect_failed(Errc::connection_reset, w);
    }
    return;
  }
  s->pump();
}

void SshSession::pump() noexcept {
  ++pump_depth_;
  switch (state_) {
    case State::handshake:
      handshake_step();
      break;
    case State::auth:
      auth_step();
      break;
    case State::ready:
      // libssh reads 4 KiB per recv() (a 32 KiB packet takes eight): run
      // it while socket bytes keep moving, up to 128 KiB per readiness. A
      // round that sent something is followed by one that finds the socket
      // writable and clears libssh's flag (see update_poll); a round that
      // moved nothing ends it. (Progress is the socket counter's: the
      // payload counter moves only when a whole packet is in, which ended
      // this loop after one recv() per readiness.)
      for (int i = 0; i < 32; ++i) {
        const uint64_t in = sock_counter_.in_bytes;
        const uint64_t out = sock_counter_.out_bytes;
        const int rc = ssh_event_dopoll(event_, 0);
        if (rc == SSH_ERROR) {
          dead_pending_ = true;
          dead_error_ = Errc::connection_reset;
          dead_why_ = ssh_get_error(ssh_);
          break;
        }
        if (rc != SSH_OK || (sock_counter_.in_bytes == in && sock_counter_.out_bytes == out)) break;
      }
      update_poll();
      if (!dead_pending_) after_pump();
      break;
    default:
      break;
  }
  --pump_depth_;
  if (pump_depth_ == 0) {
    channels_.erase(std::remove(channels_.begin(), channels_.end(), nullptr), channels_.end());
    if (state_ == State::ready) check_alive();
    if (dead_pending_) {
      tick();  // tears down now that nothing iterates
      return;
    }
    deliver_opens();
    update_poll();
  }
}

void SshSession::after_pump() noexcept {
  service_opens();
  update_poll();  // before any handler runs (and may make sockets)
  const uint64_t rx = sock_counter_.in_bytes;
  if (rx != last_rx_bytes_) {
    last_rx_bytes_ = rx;
    last_rx_ms_ = engine().now_ms();
  }
  // Only channels with news or bytes waiting; a channel may mark itself
  // again while being serviced (it then waits for the next pump).
  servicing_.swap(marked_);
  for (SshChannel* c : servicing_) {
    if (c) c->unmark();
  }
  for (size_t i = 0; i < servicing_.size(); ++i) {
    if (servicing_[i] && state_ == State::ready) servicing_[i]->service();
  }
  servicing_.clear();
}

bool SshSession::check_alive() noexcept {
  if (ssh_ == nullptr) return false;
  const int st = ssh_get_status(ssh_);
  if ((st & (SSH_CLOSED | SSH_CLOSED_ERROR)) || !ssh_is_connected(ssh_)) {
    if (!dead_pending_) {
      dead_pending_ = true;
      dead_error_ = Errc::connection_reset;
      const char* d = ssh_get_disconnect_message(ssh_);
      dead_why_ =
          d && *d ? std::string("server disconnected: ") + d : std::string(ssh_get_error(ssh_));
      if (dead_why_.empty()) dead_why_ = "connection closed";
    }
    return false;
  }
  return true;
}

void SshSession::after_call() noexcept {
  if (ssh_ == nullptr) return;
  update_poll();  // first: a closed socket must not stay watched
  if (pump_depth_ == 0 && state_ == State::ready && !dead_pending_ && !check_alive()) {
    timer_.start(0, &SshSession::on_timer, this);
  }
}

void SshSession::update_poll() noexcept {
  if (poll_ == nullptr || ssh_ == nullptr) return;
  if (socket_gone()) {
    // libssh closed the descriptor inside the call that just returned.
    // Close the poll handle now, before any new socket can reuse the
    // number: uv_close's EPOLL_CTL_DEL would otherwise hit that socket.
    close_poll();
    if ((state_ == State::ready || state_ == State::handshake || state_ == State::auth) &&
        !dead_pending_) {
      dead_pending_ = true;
      dead_error_ = Errc::connection_reset;
      const char* e = ssh_get_error(ssh_);
      dead_why_ = e && *e ? e : "connection closed";
      if (state_ != State::ready) dead_why_ = "ssh server " + server_name() + ": " + dead_why_;
    }
    if (pump_depth_ == 0) timer_.start(0, &SshSession::on_timer, this);
    return;
  }
  // libssh flags SSH_WRITE_PENDING after every send(), also one that took
  // the whole buffer; only a poll that finds the socket writable and the
  // buffer empty clears it. Watching the socket for writability on that
  // flag cost an epoll round trip (four epoll_ctl calls with libuv's
  // uv_poll_start) per packet sent. Once ready, the socket byte counter
  // says more: bytes handed to libssh and not yet written mean the socket
  // is full (watch it); none left means at most framing bytes wait, and one
  // zero-timeout poll from the flush timer settles that cheaply.
  const bool pending = (ssh_get_poll_flags(ssh_) & SSH_WRITE_PENDING) != 0;
  const bool was_blocked = write_blocked_;
  bool watch = pending;
  write_blocked_ = false;
  if (state_ == State::ready) {
    const uint64_t sent = sock_counter_.out_bytes - out_base_;
    if (!pending || sent >= handed_) {
      // Empty, or at most framing bytes left: count afresh from here, so
      // framing and control packets sent meanwhile cannot pile up into a
      // surplus that would hide unsent payload later.
      handed_ = 0;
      out_base_ = sock_counter_.out_bytes;
    }
    if (!pending) {
      flush_out_ = UINT64_MAX;
    } else if (sent < handed_) {
      write_blocked_ = handed_ - sent >= kOutBudget;
    } else if (flush_out_ != sock_counter_.out_bytes) {
      watch = false;
      if (!flush_.armed()) flush_.start(0, &SshSession::on_flush, this);
    }
    // else: a flush found the socket full with framing bytes left: watch it
    // (no zero-delay retries while it stays full).
  }
  const int want = UV_READABLE | (watch ? UV_WRITABLE : 0);
  if (want != poll_events_) {
    poll_events_ = want;
    uv_poll_start(&poll_->h, want, &SshSession::on_poll);
  }
  if (was_blocked && !write_blocked_) {
    // The socket drained outside a pump: channels with queued bytes go on
    // from their own timers (never from inside another channel's write).
    for (SshChannel* c : channels_) {
      if (c) c->kick_if_pending();
    }
  }
}

// --- the timer ---------------------------------------------------------------

void SshSession::on_timer(void* self) { static_cast<SshSession*>(self)->tick(); }

void SshSession::on_flush(void* self) {
  auto* s = static_cast<SshSession*>(self);
  if (s->state_ == State::ready && s->poll_ != nullptr && s->pump_depth_ == 0) {
    s->flush_out_ = s->sock_counter_.out_bytes;
    s->pump();
  }
}

void SshSession::tick() noexcept {
  const uint64_t now = engine().now_ms();
  if (dead_pending_) {
    dead_pending_ = false;
    if (state_ == State::ready) {
      connection_lost(dead_error_, dead_why_);
    } else if (state_ != State::idle) {
      connect_failed(dead_error_, dead_why_);  // libssh closed the socket mid-handshake
    } else {
      fail_opens(dead_error_, dead_why_);
      teardown(false);
      deliver_opens();
    }
  }
  if ((state_ == State::dialing || state_ == State::handshake || state_ == State::auth) &&
      now >= hs_deadline_) {
    if (dial_) {
      dial_->cancel();
      dial_ = nullptr;
    }
    connect_failed(
        Errc::timed_out,
        "ssh server " + server_name() + ": connection and handshake did not finish within " +
            std::to_string((opts_.dial.connect_timeout_ms + opts_.handshake_timeout_ms) / 1000) +
            " s");
  }
  if (state_ == State::ready) {
    for (size_t i = 0; i < opens_.size();) {
      Open& o = *opens_[i];
      if (o.ch && o.deadline <= now) {
        o.error = Errc::timed_out;
        o.why = "ssh server " + server_name() + " did not answer the channel open to " +
                o.ch->target() + " within " + std::to_string(opts_.open_timeout_ms / 1000) + " s";
        abandoned_.push_back(std::move(o.ch));
        answering_.push_back(std::move(opens_[i]));
        opens_.erase(opens_.begin() + static_cast<ptrdiff_t>(i));
        continue;
      }
      ++i;
    }
    const uint64_t rx = sock_counter_.in_bytes;
    if (rx != last_rx_bytes_) {
      last_rx_bytes_ = rx;
      last_rx_ms_ = now;
    }
    const uint64_t interval = opts_.keepalive_interval_ms;
    if (interval > 0 && now >= next_keepalive_ms_) {
      const uint64_t silent = now - last_rx_ms_;
      if (silent >= interval * opts_.keepalive_max_missed) {
        connection_lost(Errc::timed_out, "no data from the server for " +
                                             std::to_string(silent / 1000) +
                                             " s (keepalive@openssh.com unanswered)");
        arm_timer();
        return;
      }
      // libssh 0.10 sends only every other call in non-blocking mode (the
      // previous request's reply is consumed instead): call at interval/2.
      if (silent >= interval / 2) {
        ssh_send_keepalive(ssh_);
        ++stats_.keepalives_sent;
        update_poll();
      }
      next_keepalive_ms_ = now + std::max<uint64_t>(interval / 2, 1);
    }
    bool any = !opens_.empty();
    for (auto* c : channels_) any = any || c != nullptr;
    if (any) {
      idle_since_ms_ = 0;
    } else if (idle_since_ms_ == 0) {
      idle_since_ms_ = now;
    } else if (opts_.idle_timeout_ms > 0 && now - idle_since_ms_ >= opts_.idle_timeout_ms) {
      SLUICE_LOG_DEBUG("ssh outbound %s: idle, disconnecting", tag().c_str());
      teardown(true);
    }
  }
  deliver_opens();
  arm_timer();
}

void SshSession::arm_timer() noexcept {
  if (closing_) return;
  const uint64_t now = engine().now_ms();
  uint64_t due = UINT64_MAX;
  if (dead_pending_) due = now;
  if (state_ == State::dialing || state_ == State::handshake || state_ == State::auth)
    due = std::min(due, hs_deadline_);
  if (state_ == State::ready) {
    for (auto& o : opens_) {
      if (o->ch) due = std::min(due, o->deadline);
    }
    if (opts_.keepalive_interval_ms > 0) due = std::min(due, next_keepalive_ms_);
    if (opts_.idle_timeout_ms > 0) {
      due = std::min(due, idle_since_ms_ ? idle_since_ms_ + opts_.idle_timeout_ms
                                         : now + opts_.idle_timeout_ms);
    }
  }
  if (due == UINT64_MAX) {
    timer_.stop();
    return;
  }
  timer_.start(due > now ? due - now : 0, &SshSession::on_timer, this);
}

// --- close -------------------------------------------------------------------

void SshSession::close(CloseCallback cb, void* user) noexcept {
  if (!begin_close()) return;
  closing_ = true;
  net::unsubscribe_network_changes(engine(), this);
  timer_.stop();
  if (dial_) {
    dial_->cancel();
    dial_ = nullptr;
  }
  const char* why = net::closing_all(engine()) ? "engine stopping" : "outbound closing";
  for (SshChannel* c : channels_) {
    if (c) c->conn_lost(Errc::canceled, why);
  }
  channels_.clear();
  fail_opens(Errc::canceled, why);
  close_cb_ = cb;
  close_user_ = user;
  const bool waits = poll_ != nullptr;
  teardown(state_ == State::ready);
  deliver_opens();
  if (!waits) {
    detach_from_engine();
    if (cb) net::defer(engine(), cb, user);
  }
}

}  // namespace sluice
