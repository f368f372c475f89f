// hysteria1_session.hpp: Hysteria1Session, the `hysteria` (v1, protocol
// version 3) outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// One QUIC connection (QuicDial: ALPN "hysteria", SNI, pins; XPlus below
// QUIC when obfs is set) is shared by every flow of the Session. It is
// dialed on the first open; the first bidirectional stream becomes the
// control stream and carries the ClientHello (auth bytes, up_bps as the
// client's send rate, down_bps as its receive rate). The ServerHello makes
// the connection ready; Brutal (v1 variant) then sends at the server's
// accepted receive rate clamped to up_bps. A refusal fails every waiting
// open with Errc::auth_failed and the server's message ("authentication
// refused by the server: auth error") and closes the connection with
// application code 2; a reply that does not parse closes it with code 1.
//
// TCP: each open_stream opens a bidirectional stream, writes the
// ClientRequest, reads the ServerResponse and hands the stream over (bytes
// after the response are pushed back into it); a refusal fails the open
// with Errc::connection_refused and the server's message.
//
// UDP: each open_datagram opens a bidirectional stream with a UDP request;
// the server's response assigns the session id, and the stream then only
// holds the session (closing the flow closes it; the server closing it
// fails the flow). Datagrams travel as UDPMessages in DATAGRAM frames,
// fragmented to the connection's limit; replies are reassembled by ONE
// defragmenter for the connection (as the official client). Datagrams sent
// before the session id is known wait in a small queue.
//
// recv_window_conn / recv_window are the QUIC stream / connection receive
// windows; disable_mtu_discovery fixes the UDP payload size.
//
// Reconnect (QuicSharedSession): when the connection ends its streams and flows fail with the
// reason ("connection lost: ..."); the next open dials again. Consecutive
// failed attempts back off 0.5 s, doubling up to 16 s.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/hysteria2/udp_message.hpp"
#include "session/quic_shared_session.hpp"

namespace sluice {

struct Hysteria1SessionOptions {
  std::string server;
  uint16_t server_port = 0;  // not dialled when server_ports is set
  // server_ports: port hopping (inclusive ranges): the connection starts on
  // a random port of them and moves to another every hop_interval_ms,
  // without a new handshake.
  std::vector<std::pair<uint16_t, uint16_t>> server_ports;
  uint64_t hop_interval_ms = 30000;
  std::string auth;  // raw auth bytes (auth_str, or the base64-decoded auth)
  // tls: client options (server_name, verification, pins); alpn defaults
  // to "hysteria".
  quic::QuicTlsOptions tls;
  uint64_t up_bps = 0;                    // client send rate, bytes/s (required, >= 16384)
  uint64_t down_bps = 0;                  // client receive rate, bytes/s (required, >= 16384)
  std::string obfs;                       // XPlus password; empty: none
  bool udp = true;                        // network includes udp
  uint64_t recv_window_conn = 16u << 20;  // QUIC stream receive window
  uint64_t recv_window = 40u << 20;       // QUIC connection receive window
  bool disable_mtu_discovery = false;
  uint64_t idle_timeout_ms = 20000;
  uint64_t keep_alive_ms = 8000;
  uint64_t handshake_timeout_ms = 10000;  // the QUIC handshake and the control exchange
  size_t udp_queue = 64;                  // datagrams a flow keeps until its session id is known
};

// hysteria1_session_options converts a config outbound (sing-box's
// `hysteria` fields; |dial| for the handshake timeout) into session
// options; config_invalid / not_supported with |why|.
Result<Hysteria1SessionOptions> hysteria1_session_options(const HysteriaOutboundOptions& o,
                                                          const DialOptions& dial,
                                                          std::string* why);

// make_hysteria1_session builds a `hysteria` outbound from its config.
Result<std::unique_ptr<Session>> make_hysteria1_session(Engine& e, const OutboundOptions& o,
                                                        std::string* why);

using Hysteria1SessionStats = QuicSessionStats;  // send_bps: the negotiated Brutal rate

class Hysteria1Session final : public QuicSharedSession, private TransportHandler {
 public:
  static Result<std::unique_ptr<Hysteria1Session>> create(Engine& e, std::string tag,
                                                          const Hysteria1SessionOptions& o,
                                                          std::string* why);
  ~Hysteria1Session() override;

  const char* type() const noexcept override { return "hysteria"; }
  Result<std::unique_ptr<DatagramFlow>> open_datagram(DatagramHandler* h) noexcept override;

  class Open;  // one open_stream (internal)
  class Flow;  // one UDP flow (internal)

 private:
  friend class Open;
  friend class Flow;

  Hysteria1Session(Engine& e, std::string tag, const Hysteria1SessionOptions& o,
                   std::shared_ptr<quic::QuicTlsContext> tls);
  void hello_failed(Errc e, uint64_t code, std::string_view reason,
                    const std::string& why) noexcept;
  void close_control() noexcept;
  void start_flows() noexcept;

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
  void on_ready() noexcept override { start_flows(); }
  void on_closing() noexcept override { close_control(); }

  // ConnectionHandler
  void on_datagram(quic::Connection& c, const uint8_t* data, size_t len) override;
  void on_streams_available(quic::Connection& c) override;
  // TransportHandler of the control stream
  void on_data(Slice&& d) override;
  void on_eof() override;
  void on_error(Errc e) override;

  Hysteria1SessionOptions opts_;
  std::unique_ptr<quic::QuicStream> ctrl_;
  std::vector<uint8_t> hello_;                  // ServerHello bytes so far
  std::vector<Flow*> flows_;                    // every open flow
  std::unordered_map<uint32_t, Flow*> by_sid_;  // ... whose session id is known
  hysteria2::Defragmenter defrag_;              // one per connection
};

}  // namespace sluice
