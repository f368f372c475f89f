// inbound/connection_limit.hpp: ConnectionLimit, an inbound's admission
// control: at most max_connections open connections, and at most
// max_connections_per_ip from one source address (docs/config.md, "Listen
// fields").
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A connection counts from accept until its client transport closes,
// whoever owns it by then: the handshake (ServerDriver::Conn), a stream
// Relay (the Slot is its RelayObserver) or a UDP association. admit() hands
// out a Slot; deleting the Slot (or its on_relay_done) gives the place back.
//
// Ownership: reference-counted by hand (one thread). The inbound holds one
// reference and each Slot one, so relays that outlive a closed inbound still
// release into a live object; the last release deletes it.
// Threads: the Engine's loop thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <unordered_map>

#include "session/relay.hpp"

namespace sluice {

class ConnectionLimit {
 public:
  struct Options {
    uint32_t max_connections = 0;         // 0 = no limit
    uint32_t max_connections_per_ip = 0;  // 0 = no limit
  };

  // Slot is one admitted connection's place.
  class Slot final : public RelayObserver {
   public:
    ~Slot() override;
    // on_relay_done: the relay that took the connection ended; frees itself.
    void on_relay_done(const RelayResult&) override { delete this; }

   private:
    friend class ConnectionLimit;
    Slot(ConnectionLimit* l, const std::array<uint8_t, 16>& key) noexcept : limit_(l), key_(key) {}
    ConnectionLimit* limit_;
    std::array<uint8_t, 16> key_;  // the peer address, IPv4 as v4-mapped IPv6
  };

  // Refusal says why admit refused.
  enum class Refusal : uint8_t { none, total, per_ip, no_memory };

  // create returns a limit with one reference (the caller's), or nullptr
  // when neither limit is set (or out of memory).
  static ConnectionLimit* create(const Options& o) noexcept;
  // release_owner drops the creator's reference.
  void release_owner() noexcept { unref(); }

  // admit returns a Slot for a connection from |peer| (ss_family 0:
  // unknown, counted in the total only), or nullptr and why.
  Slot* admit(const sockaddr_storage& peer, Refusal* why) noexcept;

  uint32_t open() const noexcept { return open_; }
  // open_from: connections open from the address |peer| now.
  uint32_t open_from(const sockaddr_storage& peer) const noexcept;
  const Options& options() const noexcept { return opts_; }

  // refusal_name: "max_connections reached", ...
  static const char* refusal_name(Refusal r) noexcept;

 private:
  explicit ConnectionLimit(const Options& o) noexcept : opts_(o) {}
  void release(const std::array<uint8_t, 16>& key) noexcept;
  void unref() noexcept {
    if (--refs_ == 0) delete this;
  }
  static bool key_of(const sockaddr_storage& peer, std::array<uint8_t, 16>* key) noexcept;

  struct KeyHash {
    size_t operator()(const std::array<uint8_t, 16>& k) const noexcept;
  };

  Options opts_;
  uint32_t open_ = 0;  // admitted, not yet released
  uint32_t refs_ = 1;  // the owner's + one per Slot
  // per_ip_: open connections per source address (entries at zero erased).
  std::unordered_map<std::array<uint8_t, 16>, uint32_t, KeyHash> per_ip_;
};

}  // namespace sluice
