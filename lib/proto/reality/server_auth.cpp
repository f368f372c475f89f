// proto/reality/server_auth.cpp: see server_auth.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/reality/server_auth.hpp"

#include <algorithm>
#include <cstring>

#include "proto/tls13/wire.hpp"
#include "sluice/cipher.hpp"

namespace sluice::reality {

ClientHelloReader::State ClientHelloReader::read(std::span<const uint8_t> in) {
  message_.clear();
  size_t at = 0;
  size_t need = 0;  // the handshake message's full length, once its header is in
  while (true) {
    if (at >= kMaxClientHelloBytes) return fail("ClientHello too large");
    if (in.size() - at < tls13::kRecordHeaderLen) return State::need_more;
    const uint8_t type = in[at];
    const uint16_t version = static_cast<uint16_t>(in[at + 1] << 8 | in[at + 2]);
    const size_t len = static_cast<size_t>(in[at + 3] << 8 | in[at + 4]);
    if (type != static_cast<uint8_t>(tls13::ContentType::handshake))
      return fail("first record is not a TLS handshake record");
    if ((version >> 8) != 0x03) return fail("record version is not TLS");
    if (len == 0 || len > tls13::kMaxPlaintext) return fail("handshake record length invalid");
    if (in.size() - at - tls13::kRecordHeaderLen < len) return State::need_more;
    const auto body = in.subspan(at + tls13::kRecordHeaderLen, len);
    message_.insert(message_.end(), body.begin(), body.end());
    at += tls13::kRecordHeaderLen + len;
    if (need == 0 && message_.size() >= 4) {
      if (message_[0] != static_cast<uint8_t>(tls13::HandshakeType::client_hello))
        return fail("first handshake message is not a ClientHello");
      need = 4 + (static_cast<size_t>(message_[1]) << 16 | static_cast<size_t>(message_[2]) << 8 |
                  message_[3]);
      if (need > kMaxClientHelloBytes) return fail("ClientHello too large");
    }
    if (need != 0 && message_.size() >= need) {
      if (message_.size() != need)
        return fail("ClientHello record carries more than the ClientHello");
      break;
    }
  }
  const std::span<const uint8_t> raw(message_);
  hello_ = {};
  if (!tls13::parse_client_hello(raw.subspan(4), raw, hello_))
    return fail("ClientHello does not parse");
  consumed_ = at;
  return State::done;
}

size_t ServerAuth::RandomHash::operator()(const Random& r) const noexcept {
  size_t h = 0;
  std::memcpy(&h, r.data(), sizeof h);  // the random is uniform: any 8 bytes hash it
  return h;
}

ServerAuth::ServerAuth(ServerOptions options) : options_(std::move(options)) {
  if (options_.short_ids.empty()) options_.short_ids.push_back(ShortId{});
}

bool ServerAuth::remember(const Random& r, uint64_t now_unix_ms) {
  const uint64_t window = options_.max_time_difference_ms;
  while (!order_.empty() && window != 0 && order_.front().first + 2 * window < now_unix_ms) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
  if (seen_.count(r) != 0) return false;
  if (options_.replay_capacity == 0) return true;
  while (order_.size() >= options_.replay_capacity) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
  seen_.insert(r);
  order_.emplace_back(now_unix_ms, r);
  return true;
}

Decision ServerAuth::inspect(const tls13::ClientHello& hello, uint64_t now_unix_ms) {
  Decision d;
  const auto refuse = [&d](const char* why) {
    d.reason = why;
    secure_wipe(d.auth_key);
    return d;
  };

  const tls13::Extension* sv = hello.extensions.find(tls13::ext::supported_versions);
  tls13::Bytes versions;
  bool v13 = false;
  if (sv != nullptr && tls13::parse_u16_list(sv->data, 1, versions))
    for (size_t i = 0; i + 1 < versions.size(); i += 2)
      v13 = v13 || (versions[i] == 0x03 && versions[i + 1] == 0x04);
  if (!v13) return refuse("unsupported TLS version");

  const std::string_view sni = hello_server_name(hello);
  if (std::find(options_.server_names.begin(), options_.server_names.end(), sni) ==
      options_.server_names.end())
    return refuse("server name mismatch");

  if (hello.legacy_session_id.size() != kSessionIdLen)
    return refuse("session id is not 32 bytes: not a REALITY client");
  auto share = find_client_x25519(hello);
  if (!share) return refuse("no X25519 key share");
  if (!server_auth_key(options_.private_key, *share, hello.random, d.auth_key))
    return refuse("X25519 key share of low order");
  std::array<uint8_t, kPlaintextLen> pt{};
  if (!open_session_id(d.auth_key, hello.raw, pt))
    return refuse("authentication failed: session id does not open with this key");
  d.plaintext = decode_plaintext(pt);

  if (options_.min_version && d.plaintext.version < *options_.min_version)
    return refuse("client version below min_client_version");
  if (options_.max_version && d.plaintext.version > *options_.max_version)
    return refuse("client version above max_client_version");
  if (options_.max_time_difference_ms != 0) {
    const uint64_t client_ms = static_cast<uint64_t>(d.plaintext.unix_seconds) * 1000;
    const uint64_t diff =
        client_ms > now_unix_ms ? client_ms - now_unix_ms : now_unix_ms - client_ms;
    if (diff > options_.max_time_difference_ms)
      return refuse("client time outside max_time_difference");
  }
  if (std::find(options_.short_ids.begin(), options_.short_ids.end(), d.plaintext.short_id) ==
      options_.short_ids.end())
    return refuse("unknown short id");
  Random r{};
  std::copy(hello.random.begin(), hello.random.end(), r.begin());
  if (!remember(r, now_unix_ms)) return refuse("replayed ClientHello");
  d.authenticated = true;
  return d;
}

std::string_view hello_server_name(const tls13::ClientHello& hello) noexcept {
  const tls13::Extension* sn = hello.extensions.find(tls13::ext::server_name);
  if (sn == nullptr) return {};
  tls13::Reader r(sn->data);
  tls13::Reader list(r.vec16());
  const uint8_t type = list.u8();
  const auto name = list.vec16();
  if (!r.ok() || !r.empty() || !list.ok() || type != 0) return {};
  return {reinterpret_cast<const char*>(name.data()), name.size()};
}

AlpnClass hello_alpn_class(const tls13::ClientHello& hello) noexcept {
  const tls13::Extension* al = hello.extensions.find(tls13::ext::alpn);
  if (al == nullptr) return AlpnClass::none;
  tls13::Reader r(al->data);
  tls13::Reader list(r.vec16());
  const auto first = list.vec8();
  if (!r.ok() || !list.ok() || first.empty()) return AlpnClass::none;
  return first.size() == 2 && first[0] == 'h' && first[1] == '2' ? AlpnClass::h2 : AlpnClass::other;
}

}  // namespace sluice::reality
