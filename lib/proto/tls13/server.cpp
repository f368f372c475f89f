// proto/tls13/server.cpp: see server.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tls13/server.hpp"

#include <algorithm>
#include <cstring>

#include "crypto/p256.hpp"
#include "crypto/p384.hpp"
#include "crypto/pq/x25519_mlkem768.hpp"
#include "proto/tls13/wire.hpp"

namespace sluice::tls13 {

namespace {

constexpr uint8_t kServerCvContext[] = "TLS 1.3, server CertificateVerify";

bool implemented_group(uint16_t g) noexcept {
  return g == kGroupX25519 || g == kGroupX25519Mlkem768 || g == kGroupSecp256r1 ||
         g == kGroupSecp384r1;
}

// nist_exchange answers a P-256 or P-384 client share: a fresh key pair
// (from |random| when set, for fixed traces), its public point into |share|
// and the shared x-coordinate into |secret|.
template <typename KeyPair, size_t kScalarLen, size_t kSecretLen>
Outcome nist_exchange(const RandomSource& random, Bytes peer, std::vector<uint8_t>& share,
                      std::span<uint8_t, kSecretLen> secret, const char* bad_share) {
  Result<KeyPair> kp = Errc::invalid_argument;
  for (int i = 0; i < 8 && !kp.has_value(); ++i) {
    if (random) {
      std::array<uint8_t, kScalarLen> priv{};
      random(priv);
      kp = KeyPair::from_private(priv);
      secure_wipe(priv);
    } else {
      kp = KeyPair::generate();
    }
  }
  if (!kp) return Outcome::fail(Alert::internal_error, "ECDH key generation failed");
  if (!kp->shared_secret(peer, secret)) return Outcome::fail(Alert::illegal_parameter, bad_share);
  share.assign(kp->public_key().begin(), kp->public_key().end());
  return Outcome::success();
}

bool contains(const std::vector<uint16_t>& v, uint16_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// A ticket is nonce(12) || AES-256-GCM(ticket_key, nonce, ad = kTicketAd,
// state) || tag(16); the state is version(1) suite(2) issued_ms(8)
// age_add(4) lifetime(4) psk<1..48>.
constexpr uint8_t kTicketAd[] = {'s', 'l', 'u', 'i', 'c', 'e', ' ', 't', 'i', 'c', 'k', 'e', 't'};
constexpr uint8_t kTicketVersion = 1;
constexpr size_t kTicketKeyLen = 32;
constexpr size_t kMaxTicketLen =
    kAeadNonceLen + 1 + 2 + 8 + 4 + 4 + 1 + kMaxSecretLen + kAeadTagLen;

struct TicketState {
  uint16_t suite = 0;
  uint64_t issued_ms = 0;
  uint32_t age_add = 0;
  uint32_t lifetime = 0;
  Secret psk;
};

bool seal_ticket(std::span<const uint8_t> key, std::span<const uint8_t, kAeadNonceLen> nonce,
                 const TicketState& st, std::vector<uint8_t>& out) {
  auto aead = Aead::create(AeadAlgorithm::aes_256_gcm, key);
  if (!aead) return false;
  out.assign(nonce.begin(), nonce.end());
  Writer w(out);
  w.u8(kTicketVersion);
  w.u16(st.suite);
  w.u32(static_cast<uint32_t>(st.issued_ms >> 32));
  w.u32(static_cast<uint32_t>(st.issued_ms));
  w.u32(st.age_add);
  w.u32(st.lifetime);
  const size_t l = w.open_prefix(1);
  w.bytes(st.psk.span());
  (void)w.close_prefix(l);
  const size_t len = out.size() - kAeadNonceLen;
  out.resize(out.size() + kAeadTagLen);
  return aead
      ->seal(nonce, kTicketAd, out.data() + kAeadNonceLen, len, out.data() + kAeadNonceLen + len)
      .has_value();
}

// open_ticket: false for anything that is not a ticket sealed under |key|.
bool open_ticket(std::span<const uint8_t> key, Bytes ticket, TicketState& st) {
  if (ticket.size() < kAeadNonceLen + kAeadTagLen + 1 || ticket.size() > kMaxTicketLen)
    return false;
  auto aead = Aead::create(AeadAlgorithm::aes_256_gcm, key);
  if (!aead) return false;
  std::array<uint8_t, kMaxTicketLen> buf{};
  const size_t len = ticket.size() - kAeadNonceLen - kAeadTagLen;
  std::copy(ticket.begin() + kAeadNonceLen, ticket.end() - kAeadTagLen, buf.begin());
  if (!aead->open(ticket.first(kAeadNonceLen), kTicketAd, buf.data(), len,
                  ticket.data() + ticket.size() - kAeadTagLen))
    return false;
  Reader r(std::span<const uint8_t>(buf.data(), len));
  const uint8_t version = r.u8();
  st.suite = r.u16();
  const uint64_t hi = r.u32();
  st.issued_ms = hi << 32 | r.u32();
  st.age_add = r.u32();
  st.lifetime = r.u32();
  const Bytes psk = r.vec8();
  const bool ok = r.ok() && r.empty() && version == kTicketVersion && !psk.empty() &&
                  psk.size() <= kMaxSecretLen;
  if (ok) {
    std::copy(psk.begin(), psk.end(), st.psk.bytes.begin());
    st.psk.len = psk.size();
  }
  secure_wipe(buf);
  return ok;
}

}  // namespace

Server::Server(ServerConfig config) : cfg_(std::move(config)) {}
Server::~Server() = default;

void Server::draw(std::span<uint8_t> out) {
  if (cfg_.random)
    cfg_.random(out);
  else
    random_bytes(out);
}

std::vector<uint8_t> Server::transcript_hash() {
  std::vector<uint8_t> h(transcript_->size());
  Digest fork = *transcript_;
  (void)fork.finish(h);
  return h;
}

size_t Server::padding_for(size_t wire_length, size_t content_len) noexcept {
  const size_t natural = kRecordHeaderLen + content_len + kSealOverhead;
  if (wire_length <= natural || content_len > kMaxPlaintext) return 0;
  return std::min(wire_length - natural, kMaxPlaintext - content_len);
}

namespace {

// client_accepts_compression: the compressor is set and the ClientHello's
// compress_certificate (RFC 8879 §3: algorithms<2..2^8-2>) lists its
// algorithm. A malformed extension counts as no offer.
bool client_accepts_compression(const ClientHello& ch, const CertificateCompressor& c) {
  if (!c.compress) return false;
  const Extension* e = ch.extensions.find(ext::compress_certificate);
  if (e == nullptr) return false;
  Reader r(e->data);
  Reader list(r.vec8());
  if (!r.ok() || !r.empty()) return false;
  while (list.ok() && !list.empty())
    if (list.u16() == c.algorithm && list.ok()) return true;
  return false;
}

}  // namespace

Outcome Server::fail(Outcome o) {
  if (state_ == State::failed) return o;
  error_ = o;
  io_.queue_alert(AlertLevel::fatal, o.alert());
  state_ = State::failed;
  return o;
}

Outcome Server::receive(std::span<const uint8_t> bytes) {
  if (state_ == State::failed) return error_;
  Outcome o = io_.receive(
      bytes,
      [this](ContentType type, std::span<uint8_t> content) { return on_record(type, content); },
      [this] { return state_ != State::failed && !peer_closed_; });
  if (!o && state_ != State::failed) return fail(o);
  return o;
}

Outcome Server::on_record(ContentType type, std::span<uint8_t> body) {
  switch (type) {
    case ContentType::change_cipher_spec:
      // Tolerated once the first ClientHello is in, until the client Finished.
      if ((state_ == State::wait_finished || hrr_) && body.size() == 1 && body[0] == 1)
        return Outcome::success();
      return Outcome::fail(Alert::unexpected_message, "unexpected change_cipher_spec");
    case ContentType::alert:
      return on_alert(body);
    case ContentType::handshake:
      return io_.handshake(
          body, [this](const HandshakeView& m) { return on_message(m); },
          [](HandshakeType t) {
            return t == HandshakeType::client_hello || t == HandshakeType::finished ||
                   t == HandshakeType::key_update;
          },
          [this] { return state_ != State::failed; });
    case ContentType::application_data:
      if (state_ != State::connected)
        return Outcome::fail(Alert::unexpected_message, "application data before Finished");
      io_.append_application_data(body);
      return Outcome::success();
    default:
      return Outcome::fail(Alert::unexpected_message, "unknown content type");
  }
}

Outcome Server::on_message(const HandshakeView& msg) {
  const auto unexpected = Outcome::fail(Alert::unexpected_message, "unexpected handshake message");
  switch (state_) {
    case State::wait_client_hello:
      return msg.type == HandshakeType::client_hello ? on_client_hello(msg) : unexpected;
    case State::wait_finished:
      return msg.type == HandshakeType::finished ? on_finished(msg) : unexpected;
    case State::connected:
      return on_post_handshake(msg);
    default:
      return unexpected;
  }
}

Outcome Server::send_hello_retry(const ClientHello& ch, uint16_t group) {
  // Transcript: message_hash(Hash(ClientHello1)) || HelloRetryRequest.
  transcript_.emplace(suite_->hash);
  std::array<uint8_t, kMaxDigestLen> h1{};
  if (!Digest::hash(suite_->hash, ch.raw, h1))
    return Outcome::fail(Alert::internal_error, "hash failed");
  const std::array<uint8_t, 4> mh = {static_cast<uint8_t>(HandshakeType::message_hash), 0, 0,
                                     static_cast<uint8_t>(suite_->hash_len())};
  transcript_->update(mh);
  transcript_->update(std::span(h1.data(), suite_->hash_len()));

  ServerHelloFields f;
  f.random = kHelloRetryRequestRandom;
  f.legacy_session_id_echo.assign(ch.legacy_session_id.begin(), ch.legacy_session_id.end());
  f.cipher_suite = suite_->id;
  std::vector<uint8_t> cookie;
  if (!cfg_.retry_cookie.empty()) {
    Writer w(cookie);
    const size_t l = w.open_prefix(2);
    w.bytes(cfg_.retry_cookie);
    if (!w.close_prefix(l)) return Outcome::fail(Alert::internal_error, "cookie too long");
  }
  auto add = [&](uint16_t type) {
    for (const auto& e : f.extensions)
      if (e.first == type) return;
    if (type == ext::supported_versions)
      f.extensions.emplace_back(type, std::vector<uint8_t>{0x03, 0x04});
    if (type == ext::key_share && group != 0)
      f.extensions.emplace_back(type, std::vector<uint8_t>{static_cast<uint8_t>(group >> 8),
                                                           static_cast<uint8_t>(group)});
    if (type == ext::cookie && !cookie.empty()) f.extensions.emplace_back(type, cookie);
  };
  for (uint16_t type : cfg_.hello_template.retry_extension_order) add(type);
  for (uint16_t type : {ext::supported_versions, ext::key_share, ext::cookie}) add(type);
  std::vector<uint8_t> hrr;
  if (!encode_server_hello(f, hrr)) return Outcome::fail(Alert::internal_error, "HRR encoding");
  transcript_->update(hrr);
  (void)io_.queue_plaintext(ContentType::handshake, hrr);
  if (compat_) {
    const std::array<uint8_t, 1> ccs = {1};
    (void)io_.queue_plaintext(ContentType::change_cipher_spec, ccs);
  }
  hrr_ = true;
  hrr_group_ = group;
  return Outcome::success();
}

Outcome Server::accept_psk(const ClientHello& ch, const Digest& before_ch, Secret& psk,
                           int& index) {
  index = -1;
  const Extension* pk = ch.extensions.find(ext::pre_shared_key);
  if (pk == nullptr) return Outcome::success();
  OfferedPsks offered;
  if (Outcome o = parse_offered_psks(pk->data, offered); !o) return o;
  const Extension* modes = ch.extensions.find(ext::psk_key_exchange_modes);
  if (modes == nullptr)
    return Outcome::fail(Alert::missing_extension, "pre_shared_key without psk_key_exchange_modes");
  Reader mr(modes->data);
  const Bytes mlist = mr.vec8();
  if (!mr.ok() || !mr.empty() || mlist.empty())
    return Outcome::fail(Alert::decode_error, "malformed psk_key_exchange_modes");
  const bool dhe = std::find(mlist.begin(), mlist.end(), 1) != mlist.end();  // psk_dhe_ke
  if (cfg_.ticket_key.size() != kTicketKeyLen || !cfg_.now_ms || !dhe) return Outcome::success();

  const uint64_t now = cfg_.now_ms();
  TicketState st;
  for (size_t i = 0; i < std::min(offered.count, kMaxPskIdentities); ++i) {
    if (!open_ticket(cfg_.ticket_key, offered.identities[i].identity, st)) continue;
    const CipherSuite* ts = find_cipher_suite(st.suite);
    if (ts == nullptr || ts->hash != suite_->hash || st.psk.len != ts->hash_len()) continue;
    // Freshness (§8.3): the server's age of the ticket and the client's
    // (obfuscated_ticket_age - age_add) agree within the window.
    const uint64_t server_age = now > st.issued_ms ? now - st.issued_ms : 0;
    if (now < st.issued_ms || server_age > uint64_t{st.lifetime} * 1000) continue;
    const uint32_t client_age = offered.identities[i].obfuscated_ticket_age - st.age_add;
    const uint64_t diff =
        server_age > client_age ? server_age - client_age : uint64_t{client_age} - server_age;
    if (diff > cfg_.ticket_age_window_ms) continue;

    // The binder (§4.2.11.2) over the hello without its binders list.
    const Bytes binder = offered.binders[i];
    if (binder.size() != suite_->hash_len())
      return Outcome::fail(Alert::illegal_parameter, "PSK binder of the wrong length");
    Digest d = before_ch;
    d.update(ch.raw.first(ch.raw.size() - offered.binders_len));
    std::array<uint8_t, kMaxDigestLen> hash{};
    KeySchedule ks(*suite_);
    Secret key, expected;
    if (!d.finish(std::span(hash.data(), suite_->hash_len())) || !ks.early(st.psk.span()) ||
        !ks.binder_key(key) ||
        !finished_verify_data(*suite_, key.span(), {hash.data(), suite_->hash_len()}, expected))
      return Outcome::fail(Alert::internal_error, "PSK binder derivation failed");
    if (!constant_time_equal(binder, expected.span()))
      return Outcome::fail(Alert::decrypt_error, "PSK binder does not verify");
    psk = st.psk;
    index = static_cast<int>(i);
    return Outcome::success();
  }
  return Outcome::success();
}

Outcome Server::send_tickets() {
  if (cfg_.ticket_key.size() != kTicketKeyLen || !cfg_.now_ms) return Outcome::success();
  for (size_t i = 0; i < cfg_.tickets_per_connection && i < 256; ++i) {
    const std::array<uint8_t, 1> nonce = {static_cast<uint8_t>(i)};
    TicketState st;
    st.suite = suite_->id;
    st.issued_ms = cfg_.now_ms();
    st.lifetime = std::min<uint32_t>(cfg_.ticket_lifetime, 604800);
    std::array<uint8_t, 4 + kAeadNonceLen> rnd{};
    draw(rnd);
    st.age_add = uint32_t{rnd[0]} << 24 | uint32_t{rnd[1]} << 16 | uint32_t{rnd[2]} << 8 | rnd[3];
    if (!ks_->ticket_psk(nonce, st.psk))
      return Outcome::fail(Alert::internal_error, "ticket PSK derivation failed");
    std::vector<uint8_t> ticket, msg;
    if (!seal_ticket(cfg_.ticket_key, std::span(rnd).subspan<4, kAeadNonceLen>(), st, ticket) ||
        !encode_new_session_ticket(st.lifetime, st.age_add, nonce, ticket, msg) ||
        !io_.queue_protected(ContentType::handshake, msg))
      return Outcome::fail(Alert::internal_error, "cannot send a NewSessionTicket");
  }
  return Outcome::success();
}

Outcome Server::on_client_hello(const HandshakeView& msg) {
  if (cfg_.certificate_chain.empty() || !cfg_.key)
    return Outcome::fail(Alert::internal_error, "server has no certificate or key");
  if (!cfg_.ticket_key.empty() && cfg_.ticket_key.size() != kTicketKeyLen)
    return Outcome::fail(Alert::internal_error, "server ticket_key is not 32 bytes");
  if (!cfg_.ticket_key.empty() && !cfg_.now_ms)
    return Outcome::fail(Alert::internal_error, "server ticket_key set without a now_ms clock");
  ClientHello ch;
  if (Outcome o = parse_client_hello(msg.body, msg.raw, ch); !o) return o;
  ch_raw_.assign(msg.raw.begin(), msg.raw.end());

  const Extension* sv = ch.extensions.find(ext::supported_versions);
  Bytes versions;
  if (sv == nullptr) return Outcome::fail(Alert::protocol_version, "client does not offer TLS 1.3");
  if (Outcome o = parse_u16_list(sv->data, 1, versions); !o) return o;
  bool v13 = false;
  for (size_t i = 0; i + 1 < versions.size(); i += 2)
    v13 = v13 || (versions[i] == 0x03 && versions[i + 1] == 0x04);
  if (!v13) return Outcome::fail(Alert::protocol_version, "client does not offer TLS 1.3");

  // Suite: the template's, else the first in the server's order.
  const CipherSuite* suite = nullptr;
  const std::vector<uint16_t> forced = {cfg_.hello_template.cipher_suite};
  for (uint16_t want : cfg_.hello_template.cipher_suite ? forced : cfg_.cipher_suites) {
    for (size_t i = 0; i + 1 < ch.cipher_suites.size() && !suite; i += 2)
      if ((ch.cipher_suites[i] << 8 | ch.cipher_suites[i + 1]) == want)
        suite = find_cipher_suite(want);
    if (suite) break;
  }
  if (suite == nullptr) return Outcome::fail(Alert::handshake_failure, "no common cipher suite");
  if (hrr_ && suite != suite_)
    return Outcome::fail(Alert::illegal_parameter, "suite changed after HelloRetryRequest");

  // Signature scheme: the client's first one the key fits.
  const Extension* sa = ch.extensions.find(ext::signature_algorithms);
  if (sa == nullptr) return Outcome::fail(Alert::missing_extension, "no signature_algorithms");
  Bytes sigalgs;
  if (Outcome o = parse_u16_list(sa->data, 2, sigalgs); !o) return o;
  uint16_t scheme = cfg_.key->supports(cfg_.signature_scheme) ? cfg_.signature_scheme : 0;
  for (size_t i = 0; i + 1 < sigalgs.size() && scheme == 0; i += 2) {
    const auto s = static_cast<uint16_t>(sigalgs[i] << 8 | sigalgs[i + 1]);
    if (cfg_.key->supports(s)) scheme = s;
  }
  if (scheme == 0)
    return Outcome::fail(Alert::handshake_failure, "no signature scheme fits the key");

  // Group: the server's first with a client share, else HRR for one listed.
  const Extension* sg = ch.extensions.find(ext::supported_groups);
  const Extension* ks = ch.extensions.find(ext::key_share);
  if (sg == nullptr || ks == nullptr)
    return Outcome::fail(Alert::missing_extension, "no supported_groups or key_share");
  Bytes groups_list;
  if (Outcome o = parse_u16_list(sg->data, 2, groups_list); !o) return o;
  std::vector<uint16_t> client_groups;
  for (size_t i = 0; i + 1 < groups_list.size(); i += 2)
    client_groups.push_back(static_cast<uint16_t>(groups_list[i] << 8 | groups_list[i + 1]));
  std::array<KeyShareEntry, kMaxKeyShares> shares;
  size_t nshares = 0;
  if (Outcome o = parse_client_key_shares(ks->data, shares, nshares); !o) return o;
  for (size_t i = 0; i < nshares; ++i)
    if (!contains(client_groups, shares[i].group))
      return Outcome::fail(Alert::illegal_parameter, "key share for a group not listed");
  const KeyShareEntry* share = nullptr;
  for (uint16_t g : cfg_.groups) {
    if (!implemented_group(g)) continue;
    for (size_t i = 0; i < nshares && !share; ++i)
      if (shares[i].group == g) share = &shares[i];
    if (share) break;
  }
  compat_ = !ch.legacy_session_id.empty();
  // The transcript before this hello, for a PSK binder: empty, or
  // message_hash + HelloRetryRequest.
  const Digest before_ch = hrr_ ? *transcript_ : Digest(suite->hash);

  if (hrr_) {
    const Extension* cookie = ch.extensions.find(ext::cookie);
    if (!cfg_.retry_cookie.empty()) {
      Reader r(cookie ? cookie->data : Bytes{});
      const Bytes c = r.vec16();
      if (cookie == nullptr || !r.ok() || !r.empty() ||
          !std::equal(c.begin(), c.end(), cfg_.retry_cookie.begin(), cfg_.retry_cookie.end()))
        return Outcome::fail(Alert::illegal_parameter, "cookie not echoed");
    }
    if (hrr_group_ != 0 && (share == nullptr || share->group != hrr_group_ || nshares != 1))
      return Outcome::fail(Alert::illegal_parameter, "second ClientHello ignores the HRR group");
    transcript_->update(msg.raw);
  } else {
    suite_ = suite;
    uint16_t retry_group = 0;
    if (share == nullptr) {
      for (uint16_t g : cfg_.groups)
        if (implemented_group(g) && contains(client_groups, g)) {
          retry_group = g;
          break;
        }
      if (retry_group == 0) return Outcome::fail(Alert::handshake_failure, "no common group");
    }
    if (retry_group != 0 || !cfg_.retry_cookie.empty()) {
      if (Outcome o = send_hello_retry(ch, retry_group); !o) return o;
      return Outcome::success();  // wait for the second ClientHello
    }
    transcript_.emplace(suite->hash);
    transcript_->update(msg.raw);
  }
  if (share == nullptr) return Outcome::fail(Alert::handshake_failure, "no usable key share");

  // SNI and ALPN.
  if (const Extension* sn = ch.extensions.find(ext::server_name)) {
    Reader r(sn->data);
    Reader list(r.vec16());
    const uint8_t type = list.u8();
    const Bytes name = list.vec16();
    if (!r.ok() || !r.empty() || !list.ok() || type != 0 || name.empty())
      return Outcome::fail(Alert::decode_error, "malformed server_name");
    sni_.assign(name.begin(), name.end());
  }
  std::vector<uint8_t> ee_alpn;
  if (const Extension* al = ch.extensions.find(ext::alpn); al && !cfg_.alpn.empty()) {
    Reader r(al->data);
    Reader list(r.vec16());
    std::vector<std::string> offered;
    while (list.ok() && !list.empty()) {
      const Bytes p = list.vec8();
      if (p.empty()) return Outcome::fail(Alert::decode_error, "empty ALPN protocol");
      offered.emplace_back(p.begin(), p.end());
    }
    if (!r.ok() || !r.empty() || !list.ok() || offered.empty())
      return Outcome::fail(Alert::decode_error, "malformed ALPN");
    for (const auto& mine : cfg_.alpn)
      if (std::find(offered.begin(), offered.end(), mine) != offered.end()) {
        alpn_ = mine;
        break;
      }
    if (alpn_.empty()) return Outcome::fail(Alert::no_application_protocol, "no common ALPN");
    Writer w(ee_alpn);
    const size_t l = w.open_prefix(2);
    const size_t n = w.open_prefix(1);
    w.bytes({reinterpret_cast<const uint8_t*>(alpn_.data()), alpn_.size()});
    (void)w.close_prefix(n);
    (void)w.close_prefix(l);
  }

  // Key exchange.
  std::vector<uint8_t> server_share;
  std::array<uint8_t, pq::kX25519Mlkem768SecretSize> secret{};
  size_t secret_len = 0;
  if (share->group == kGroupX25519) {
    if (share->key_exchange.size() != kX25519KeyLen)
      return Outcome::fail(Alert::illegal_parameter, "X25519 share of the wrong length");
    std::array<uint8_t, 32> priv{};
    draw(priv);
    auto kp = X25519KeyPair::from_private(priv);
    secure_wipe(priv);
    if (!kp) return Outcome::fail(Alert::internal_error, "X25519 key generation failed");
    if (!kp->shared_secret(share->key_exchange, secret))
      return Outcome::fail(Alert::illegal_parameter, "X25519 share of low order");
    server_share.assign(kp->public_key().begin(), kp->public_key().end());
    secret_len = kX25519KeyLen;
  } else if (share->group == kGroupSecp256r1) {
    if (Outcome o = nist_exchange<crypto::P256KeyPair, crypto::kP256ScalarLen, 32>(
            cfg_.random, share->key_exchange, server_share, std::span(secret).first<32>(),
            "bad P-256 client share");
        !o)
      return o;
    secret_len = 32;
  } else if (share->group == kGroupSecp384r1) {
    if (Outcome o =
            nist_exchange<crypto::P384KeyPair, crypto::kP384ScalarLen, crypto::kP384SecretLen>(
                cfg_.random, share->key_exchange, server_share,
                std::span(secret).first<crypto::kP384SecretLen>(), "bad P-384 client share");
        !o)
      return o;
    secret_len = crypto::kP384SecretLen;
  } else {
    std::array<uint8_t, pq::kX25519Mlkem768ServerShareSize> out{};
    std::array<uint8_t, pq::kX25519Mlkem768SecretSize> s{};
    Status st;
    if (cfg_.random) {
      std::array<uint8_t, pq::kMlkemMessageSize> m{};
      std::array<uint8_t, 32> priv{};
      draw(m);
      draw(priv);
      st = pq::x25519_mlkem768_server_for_test(share->key_exchange, m, priv, out, s);
    } else {
      st = pq::x25519_mlkem768_server(share->key_exchange, out, s);
    }
    if (!st) return Outcome::fail(Alert::illegal_parameter, "bad X25519MLKEM768 client share");
    server_share.assign(out.begin(), out.end());
    secret = s;
    secure_wipe(s);
    secret_len = pq::kX25519Mlkem768SecretSize;
  }
  group_ = share->group;
  scheme_ = scheme;

  Secret psk;
  int psk_index = -1;
  if (Outcome o = accept_psk(ch, before_ch, psk, psk_index); !o) return o;
  resumed_ = psk_index >= 0;

  // ServerHello.
  ServerHelloFields f;
  if (cfg_.hello_template.random)
    std::copy(cfg_.hello_template.random->begin(), cfg_.hello_template.random->end(),
              f.random.begin());
  else
    draw(f.random);
  f.legacy_session_id_echo.assign(ch.legacy_session_id.begin(), ch.legacy_session_id.end());
  f.cipher_suite = suite_->id;
  for (uint16_t type : cfg_.hello_template.extension_order) {
    if (type == ext::supported_versions) {
      f.extensions.emplace_back(ext::supported_versions, std::vector<uint8_t>{0x03, 0x04});
    } else if (type == ext::key_share) {
      std::vector<uint8_t> k;
      Writer w(k);
      w.u16(group_);
      const size_t l = w.open_prefix(2);
      w.bytes(server_share);
      (void)w.close_prefix(l);
      f.extensions.emplace_back(ext::key_share, std::move(k));
    } else if (type == ext::pre_shared_key && resumed_) {
      f.extensions.emplace_back(ext::pre_shared_key,
                                std::vector<uint8_t>{0, static_cast<uint8_t>(psk_index)});
    }
  }
  const size_t required = resumed_ ? 3 : 2;
  if (resumed_ && f.extensions.size() == 2)  // a template without pre_shared_key: last
    f.extensions.emplace_back(ext::pre_shared_key,
                              std::vector<uint8_t>{0, static_cast<uint8_t>(psk_index)});
  if (f.extensions.size() != required || f.extensions[0].first == f.extensions[1].first)
    return Outcome::fail(Alert::internal_error,
                         "ServerHello template must order supported_versions and key_share");
  std::vector<uint8_t> sh;
  if (!encode_server_hello(f, sh)) return Outcome::fail(Alert::internal_error, "SH encoding");
  transcript_->update(sh);
  (void)io_.queue_plaintext(ContentType::handshake, sh);
  if (compat_ && !hrr_) {
    const std::array<uint8_t, 1> ccs = {1};
    (void)io_.queue_plaintext(ContentType::change_cipher_spec, ccs);
  }

  ks_.emplace(*suite_);
  Status st = ks_->early(psk.span());
  if (st) st = ks_->handshake(std::span(secret.data(), secret_len), transcript_hash());
  secure_wipe(secret);
  if (st) st = io_.read.init(*suite_, ks_->client_handshake_traffic().span());
  if (st) st = io_.write.init(*suite_, ks_->server_handshake_traffic().span());
  if (!st) return Outcome::fail(Alert::internal_error, "handshake key derivation failed");

  // EncryptedExtensions, Certificate, CertificateVerify, Finished; ends[i]
  // is where each message ends in |flight| (for one record per message).
  std::vector<uint8_t> flight;
  std::array<size_t, 4> ends{};
  {
    std::vector<uint8_t> body;
    Writer w(body);
    const size_t l = w.open_prefix(2);
    if (!ee_alpn.empty()) {
      w.u16(ext::alpn);
      const size_t d = w.open_prefix(2);
      w.bytes(ee_alpn);
      (void)w.close_prefix(d);
    }
    (void)w.close_prefix(l);
    (void)encode_handshake(HandshakeType::encrypted_extensions, body, flight);
  }
  ends[0] = flight.size();
  if (!resumed_) {
    std::vector<uint8_t> body;
    Writer w(body);
    w.u8(0);
    const size_t l = w.open_prefix(3);
    for (const auto& der : cfg_.certificate_chain) {
      const size_t c = w.open_prefix(3);
      w.bytes(der);
      if (!w.close_prefix(c)) return Outcome::fail(Alert::internal_error, "certificate too big");
      w.u16(0);
    }
    if (!w.close_prefix(l)) return Outcome::fail(Alert::internal_error, "chain too big");
    std::vector<uint8_t> compressed;
    if (client_accepts_compression(ch, cfg_.certificate_compressor) &&
        cfg_.certificate_compressor.compress(body, compressed) && !compressed.empty() &&
        compressed.size() < (1u << 24)) {
      std::vector<uint8_t> cc;
      Writer cw(cc);
      cw.u16(cfg_.certificate_compressor.algorithm);
      cw.u24(static_cast<uint32_t>(body.size()));
      const size_t m = cw.open_prefix(3);
      cw.bytes(compressed);
      (void)cw.close_prefix(m);
      (void)encode_handshake(HandshakeType::compressed_certificate, cc, flight);
    } else {
      (void)encode_handshake(HandshakeType::certificate, body, flight);
    }
  }
  ends[1] = flight.size();
  transcript_->update(flight);
  if (!resumed_) {
    std::vector<uint8_t> content(64, 0x20);
    content.insert(content.end(), std::begin(kServerCvContext), std::end(kServerCvContext));
    const auto h = transcript_hash();
    content.insert(content.end(), h.begin(), h.end());
    std::vector<uint8_t> body;
    Writer w(body);
    w.u16(scheme_);
    const size_t l = w.open_prefix(2);
    if (!cfg_.key->sign(scheme_, content, body))
      return Outcome::fail(Alert::internal_error, "CertificateVerify signing failed");
    (void)w.close_prefix(l);
    const size_t at = flight.size();
    (void)encode_handshake(HandshakeType::certificate_verify, body, flight);
    transcript_->update(std::span(flight).subspan(at));
  }
  ends[2] = flight.size();
  {
    Secret verify;
    if (!finished_verify_data(*suite_, ks_->server_handshake_traffic().span(), transcript_hash(),
                              verify))
      return Outcome::fail(Alert::internal_error, "Finished derivation failed");
    const size_t at = flight.size();
    (void)encode_finished(verify.span(), flight);
    transcript_->update(std::span(flight).subspan(at));
  }
  ends[3] = flight.size();
  if (cfg_.flight_record_lengths.size() == ends.size() && !resumed_) {
    size_t at = 0;
    for (size_t i = 0; i < ends.size(); ++i) {
      const auto msg = std::span(flight).subspan(at, ends[i] - at);
      if (!io_.queue_protected(ContentType::handshake, msg,
                               padding_for(cfg_.flight_record_lengths[i], msg.size())))
        return Outcome::fail(Alert::internal_error, "cannot seal the server flight");
      at = ends[i];
    }
  } else if (!io_.queue_protected(ContentType::handshake, flight,
                                  padding_for(cfg_.flight_record_length, flight.size()))) {
    return Outcome::fail(Alert::internal_error, "cannot seal the server flight");
  }
  if (!ks_->master(transcript_hash()) ||
      !io_.write.init(*suite_, ks_->server_application_traffic().span()))
    return Outcome::fail(Alert::internal_error, "master secret derivation failed");
  if (cfg_.flight_extra_record_length != 0 &&
      !io_.queue_protected(ContentType::application_data, {},
                           padding_for(cfg_.flight_extra_record_length, 0)))
    return Outcome::fail(Alert::internal_error, "cannot seal the flight's extra record");
  state_ = State::wait_finished;
  return Outcome::success();
}

Outcome Server::on_finished(const HandshakeView& msg) {
  Secret expected;
  if (!finished_verify_data(*suite_, ks_->client_handshake_traffic().span(), transcript_hash(),
                            expected))
    return Outcome::fail(Alert::internal_error, "Finished derivation failed");
  Bytes got;
  if (Outcome o = parse_finished(msg.body, suite_->hash_len(), got); !o) return o;
  if (!constant_time_equal(got, expected.span()))
    return Outcome::fail(Alert::decrypt_error, "client Finished does not verify");
  transcript_->update(msg.raw);
  if (!ks_->resumption(transcript_hash()) ||
      !io_.read.init(*suite_, ks_->client_application_traffic().span()))
    return Outcome::fail(Alert::internal_error, "traffic key derivation failed");
  state_ = State::connected;
  for (size_t len : cfg_.post_handshake_record_lengths)
    if (!io_.queue_protected(ContentType::application_data, {}, padding_for(len, 0)))
      return Outcome::fail(Alert::internal_error, "cannot seal a post-handshake record");
  return send_tickets();
}

Outcome Server::on_post_handshake(const HandshakeView& msg) {
  if (msg.type != HandshakeType::key_update)
    return Outcome::fail(Alert::unexpected_message, "unexpected post-handshake message");
  return io_.key_update(msg, !sent_close_);
}

Outcome Server::on_alert(std::span<const uint8_t> body) {
  if (body.size() != 2) return Outcome::fail(Alert::decode_error, "alert is not two bytes");
  bool close_notify = false;
  Outcome o = parse_alert(body, close_notify);
  if (close_notify) peer_closed_ = true;
  if (o) return o;
  error_ = o;  // the peer's fatal alert: not answered
  state_ = State::failed;
  return o;
}

Status Server::send(std::span<const uint8_t> data) {
  if (state_ != State::connected || sent_close_) return Errc::invalid_state;
  size_t padding = 0;
  if (!sent_app_ && !data.empty()) {
    sent_app_ = true;
    if (data.size() <= kMaxPlaintext)
      padding = padding_for(cfg_.first_app_record_length, data.size());
  }
  return io_.queue_protected(ContentType::application_data, data, padding);
}

std::vector<uint8_t> Server::take_application_data() { return io_.take_application_data(); }

Status Server::request_key_update() {
  if (state_ != State::connected || sent_close_) return Errc::invalid_state;
  return io_.request_key_update();
}

Status Server::close() {
  if (state_ != State::connected || sent_close_) return Errc::invalid_state;
  io_.queue_alert(AlertLevel::warning, Alert::close_notify);
  sent_close_ = true;
  return {};
}

}  // namespace sluice::tls13
