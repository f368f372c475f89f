// hysteria2_session.hpp: Hysteria2Session, the `hysteria2` outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// One QUIC connection (QuicDial: ALPN h3, SNI, ECH, pins; Salamander below
// QUIC when obfs is set) is shared by every flow of the Session. It is
// dialed on the first open and authenticated with the HTTP/3 request
// `POST https://hysteria/auth` (hysteria-auth, hysteria-cc-rx = down_bps,
// hysteria-padding); the server's 233 makes it ready, and its
// hysteria-udp / hysteria-cc-rx are kept. Any other status fails every
// waiting open with Errc::auth_failed: "authentication refused: HTTP <n>
// from the server's masquerade (a wrong password, or not a Hysteria
// server)", and the connection is closed with H3_GENERAL_PROTOCOL_ERROR.
//
// TCP: each open_stream opens a bidirectional stream, writes the 0x401
// TCPRequest (random padding), reads the TCPResponse and hands the stream
// over (bytes after the response are pushed back into it); status 1 fails
// the open with Errc::connection_refused and the server's message. Opens
// made while the connection is being dialed or authenticated, or while the
// server's stream limit is reached, wait.
//
// UDP: open_datagram returns a flow with its own session ID (1, 2, ... per
// connection, as the official client); datagrams go as UDPMessages in
// DATAGRAM frames, fragmented to the connection's limit; replies are
// reassembled per session (one packet in progress). Datagrams sent before
// the connection is ready wait in a small queue. When the server says
// hysteria-udp false, or `udp` is off, open_datagram is not_supported once
// that is known and flows fail.
//
// Congestion: with up_bps, Brutal at up_bps (lowered to the server's
// hysteria-cc-rx when that is smaller), over BBR; without, BBR. A server
// answering hysteria-cc-rx "auto" hands the connection from Brutal to that
// BBR (quic::cc_hook::fall_back) right after authentication.
//
// Reconnect (QuicSharedSession): when the connection ends (idle timeout,
// server restart, stateless reset) its streams and flows fail with the
// reason; the next open dials again. Consecutive failed attempts back off:
// the next attempt waits 0.5 s, doubling up to 16 s, and opens made
// meanwhile wait for it.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "quic/h3_connection.hpp"
#include "session/quic_shared_session.hpp"
#include "sluice/config.hpp"

namespace sluice {

struct Hysteria2SessionOptions {
  std::string server;
  uint16_t server_port = 0;
  std::string password;
  // tls: client options (server_name, verification, pins, ECH); alpn
  // defaults to "h3".
  quic::QuicTlsOptions tls;
  uint64_t up_bps = 0;    // send rate for Brutal, bytes/s (0: BBR)
  uint64_t down_bps = 0;  // receive rate announced as hysteria-cc-rx (0: unknown)
  bool disable_loss_compensation = false;
  std::string obfs_password;  // Salamander PSK; empty: none
  bool udp = true;            // network includes udp
  uint64_t idle_timeout_ms = 30000;
  uint64_t keep_alive_ms = 10000;
  uint64_t handshake_timeout_ms = 10000;  // the QUIC handshake and the auth round trip
  size_t udp_queue = 64;                  // datagrams a flow keeps until the connection is ready
  // Port hopping (spec section 8; quic/endpoint.hpp): the server's ports as
  // inclusive ranges (empty: server_port only; set: the first connection
  // goes to a random one, as the official client), and a hop every
  // interval, random in [hop_interval_ms, hop_interval_max_ms].
  std::vector<std::pair<uint16_t, uint16_t>> server_ports;
  uint64_t hop_interval_ms = 30000;
  uint64_t hop_interval_max_ms = 0;
};

// hysteria2_session_options converts a config outbound (sing-box fields;
// |dial| for the handshake timeout) into session options; config_invalid
// or config_io with |why| for a TLS section it cannot use.
Result<Hysteria2SessionOptions> hysteria2_session_options(const Hysteria2OutboundOptions& o,
                                                          const DialOptions& dial,
                                                          std::string* why);

// make_hysteria2_session builds a hysteria2 outbound from its config (the
// Instance reaches it through a weak declaration: see
// lib/inbound/hysteria2_factory.hpp for why).
Result<std::unique_ptr<Session>> make_hysteria2_session(Engine& e, const OutboundOptions& o,
                                                        std::string* why);

using Hysteria2SessionStats = QuicSessionStats;

class Hysteria2Session final : public QuicSharedSession, private quic::H3StreamHandler {
 public:
  static Result<std::unique_ptr<Hysteria2Session>> create(Engine& e, std::string tag,
                                                          const Hysteria2SessionOptions& o,
                                                          std::string* why);
  ~Hysteria2Session() override;

  const char* type() const noexcept override { return "hysteria2"; }
  Result<std::unique_ptr<DatagramFlow>> open_datagram(DatagramHandler* h) noexcept override;

  bool server_udp() const noexcept { return server_udp_; }
  const std::string& server_rx() const noexcept { return server_rx_; }

  class Open;  // one open_stream (internal)
  class Flow;  // one UDP flow (internal)

 private:
  friend class Open;
  friend class Flow;

  Hysteria2Session(Engine& e, std::string tag, const Hysteria2SessionOptions& o,
                   std::shared_ptr<quic::QuicTlsContext> tls);

  // QuicSharedSession
  Result<std::unique_ptr<StreamOpen>> new_open(std::string_view host,
                                               uint16_t port) noexcept override;
  Status configure_dial(quic::QuicDialOptions& d, std::string* why) noexcept override;
  void on_connected(quic::QuicDialed& r) noexcept override;
  void on_handshake_timeout() noexcept override;
  void connection_gone(State was, uint64_t app_error, Errc& err,
                       std::string& why) noexcept override;
  bool has_flows() const noexcept override { return !flows_.empty(); }
  void fail_flows(Errc e) noexcept override;
  void on_ready() noexcept override;
  void on_closing() noexcept override;

  // ConnectionHandler
  void on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) override;
  void on_datagram(quic::Connection& c, const uint8_t* data, size_t len) override;
  // H3StreamHandler (the auth exchange)
  void on_headers(quic::H3Stream& s) override;
  void on_body(quic::H3Stream&, Slice&&) override {}
  void on_close(quic::H3Stream& s, Errc e) override;

  Hysteria2SessionOptions opts_;
  std::unique_ptr<quic::H3Connection> h3_;
  quic::H3Stream* auth_ = nullptr;
  bool server_udp_ = false;
  std::string server_rx_;
  std::unordered_map<uint32_t, Flow*> flows_;
  uint32_t next_sid_ = 1;
};

}  // namespace sluice
