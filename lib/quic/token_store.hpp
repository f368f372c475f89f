// token_store.hpp: TokenStore, the NEW_TOKEN tokens a QUIC client holds.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A server's NEW_TOKEN (RFC 9000 §8.1.3) lets the client's next connection
// to it skip address validation. The store keeps the newest token per
// server address, at most capacity() of them (the least recently stored
// goes first), and hands each out once: a token sent on two connections
// would let an observer link them. Every client Endpoint of an Engine
// shares the Engine's store (token_store_for) unless its options name
// another, so a reconnect through a new Endpoint (QuicDial makes one per
// dial) still finds the token the last connection received.
//
// Threads: the Engine's loop thread.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sluice/engine.hpp"

namespace sluice::quic {

class TokenStore {
 public:
  static constexpr size_t kDefaultCapacity = 1024;
  static constexpr size_t kMaxTokenLen = 512;  // longer ones are not kept

  explicit TokenStore(size_t capacity = kDefaultCapacity) noexcept : capacity_(capacity) {}

  // put keeps |token| for the server at |server|, replacing an older one;
  // false (nothing kept) for an empty or over-long token or capacity 0.
  bool put(const sockaddr* server, std::string_view token);
  // take removes and returns the token kept for |server| (empty if none).
  std::string take(const sockaddr* server);
  size_t size() const noexcept { return index_.size(); }
  size_t capacity() const noexcept { return capacity_; }

  // key: family, port and IP of |a| (a token is for one server address).
  static std::string key(const sockaddr* a);

 private:
  struct Entry {
    std::string key;
    std::string token;
  };
  size_t capacity_;
  std::list<Entry> entries_;  // newest first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

// token_store_for returns |e|'s store, creating it on first use.
std::shared_ptr<TokenStore> token_store_for(Engine& e);

}  // namespace sluice::quic
