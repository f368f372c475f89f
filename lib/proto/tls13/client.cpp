// proto/tls13/client.cpp: see client.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tls13/client.hpp"

#include <algorithm>
#include <cstring>

#include "crypto/brotli.hpp"
#include "crypto/p256.hpp"
#include "crypto/p384.hpp"
#include "crypto/signature.hpp"
#include "crypto/tls_verify.hpp"
#include "proto/tls13/wire.hpp"

namespace sluice::tls13 {

namespace {

constexpr size_t kMaxTickets = 8;

constexpr uint8_t kServerCvContext[] = "TLS 1.3, server CertificateVerify";

uint16_t grease_from(uint8_t b) noexcept {
  const uint16_t v = static_cast<uint16_t>((b & 0xf0) | 0x0a);
  return static_cast<uint16_t>(v << 8 | v);
}

bool implemented_group(uint16_t g) noexcept {
  return g == kGroupX25519 || g == kGroupX25519Mlkem768 || g == kGroupSecp256r1 ||
         g == kGroupSecp384r1;
}

// offerable: the ticket can be offered with |profile| at |now_ms| (0: no
// clock): a known suite the profile lists, a PSK of its hash length, a
// ticket that fits its length prefix and has not outlived its lifetime.
bool offerable(const SessionTicket& t, const ClientProfile& profile, uint64_t now_ms) {
  const CipherSuite* suite = find_cipher_suite(t.cipher_suite);
  if (suite == nullptr || t.psk.len != suite->hash_len() || t.ticket.empty() ||
      t.ticket.size() > 0xffff - 6)
    return false;
  if (std::find(profile.cipher_suites.begin(), profile.cipher_suites.end(), t.cipher_suite) ==
      profile.cipher_suites.end())
    return false;
  if (now_ms != 0 && t.received_at_ms != 0 && now_ms > t.received_at_ms &&
      now_ms - t.received_at_ms > uint64_t{t.lifetime} * 1000)
    return false;
  return true;
}

void put_u16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}

}  // namespace

struct Client::Share {
  std::optional<X25519KeyPair> x25519;
  std::optional<pq::X25519Mlkem768Client> hybrid;
  std::optional<crypto::P256KeyPair> p256;
  std::optional<crypto::P384KeyPair> p384;
};

namespace {

// nist_key makes a P-256 or P-384 key pair: from the caller's random source
// when there is one (fixed traces), else from BoringSSL's RNG.
template <typename KeyPair, size_t kScalarLen>
Result<KeyPair> nist_key(const RandomSource& random) {
  if (!random) return KeyPair::generate();
  Result<KeyPair> kp = Errc::invalid_argument;
  for (int i = 0; i < 8 && !kp.has_value(); ++i) {
    std::array<uint8_t, kScalarLen> priv{};
    random(priv);
    kp = KeyPair::from_private(priv);
    secure_wipe(priv);
  }
  return kp;
}

}  // namespace

CertificateVerifier policy_verifier(std::shared_ptr<const tls::VerifyPolicy> policy) {
  return [policy = std::move(policy)](std::span<const CertificateEntry> chain,
                                      std::string_view host) -> Outcome {
    if (!policy) return Outcome::fail(Alert::internal_error, "no verification policy");
    std::vector<std::span<const uint8_t>> der;
    der.reserve(chain.size());
    for (const auto& e : chain) der.push_back(e.cert_data);
    std::string reason;
    const Errc e = policy->verify(der, host, &reason);
    if (e == Errc::ok) return Outcome::success();
    if (e == Errc::pin_mismatch)
      return Outcome::fail(Alert::bad_certificate, "certificate does not match the pins");
    // The alert follows the verifier's reason, as BoringSSL's client does.
    auto has = [&reason](const char* s) { return reason.find(s) != std::string::npos; };
    if (has("expired") || has("not yet valid"))
      return Outcome::fail(Alert::certificate_expired, "certificate expired or not yet valid");
    if (has("issuer") || has("self signed") || has("self-signed") || has("untrusted"))
      return Outcome::fail(Alert::unknown_ca, "certificate chain does not lead to a trusted CA");
    if (has("mismatch"))
      return Outcome::fail(Alert::bad_certificate, "certificate is not valid for the host");
    return Outcome::fail(Alert::bad_certificate, "certificate chain rejected");
  };
}

Client::Client(ClientConfig config) : cfg_(std::move(config)), share_(std::make_unique<Share>()) {}

Client::~Client() { secure_wipe(random_); }

void Client::draw(std::span<uint8_t> out) {
  if (cfg_.random)
    cfg_.random(out);
  else
    random_bytes(out);
}

void Client::transcript_add(std::span<const uint8_t> msg) {
  if (transcript_)
    transcript_->update(msg);
  else
    pending_transcript_.insert(pending_transcript_.end(), msg.begin(), msg.end());
}

std::vector<uint8_t> Client::transcript_hash() {
  std::vector<uint8_t> h(transcript_->size());
  Digest fork = *transcript_;
  (void)fork.finish(h);
  return h;
}

Outcome Client::build_client_hello(std::vector<uint8_t>& out, bool after_hrr) {
  const ClientProfile& p = *cfg_.profile;
  if (!after_hrr) {
    draw(random_);
    session_id_.assign(p.session_id_len, 0);
    draw(session_id_);
    std::array<uint8_t, 6> seeds{};
    draw(seeds);
    for (size_t i = 0; i < seeds.size(); ++i) grease_[i] = grease_from(seeds[i]);
    if (grease_[3] == grease_[2]) grease_[3] ^= 0x1010;  // two distinct GREASE extensions
    order_.clear();
    for (size_t i = 0; i < p.extensions.size(); ++i)
      if (p.extensions[i].kind != ExtKind::grease_first &&
          p.extensions[i].kind != ExtKind::grease_last)
        order_.push_back(i);
    if (p.permute_extensions) {
      for (size_t i = order_.size(); i > 1; --i) {
        std::array<uint8_t, 4> r{};
        draw(r);
        const uint32_t x = uint32_t{r[0]} << 24 | uint32_t{r[1]} << 16 | uint32_t{r[2]} << 8 | r[3];
        std::swap(order_[i - 1], order_[x % i]);
      }
    }
    // ECH GREASE: outer, HKDF-SHA256, AES-128-GCM, random config id, a
    // 32-byte enc and a payload of 128..224 bytes (step 32) plus a tag.
    ech_grease_.clear();
    const bool ech = std::any_of(p.extensions.begin(), p.extensions.end(), [](const auto& e) {
      return e.kind == ExtKind::encrypted_client_hello;
    });
    std::array<uint8_t, 2> sel{};
    if (ech) draw(sel);
    const size_t payload = 128 + 32 * (sel[1] % 4) + kAeadTagLen;
    if (ech) ech_grease_.push_back(0);
    if (ech) {
      put_u16(ech_grease_, 0x0001);
      put_u16(ech_grease_, 0x0001);
      ech_grease_.push_back(sel[0]);
      put_u16(ech_grease_, 32);
      std::vector<uint8_t> rnd(32 + payload);
      draw(rnd);
      ech_grease_.insert(ech_grease_.end(), rnd.begin(), rnd.begin() + 32);
      put_u16(ech_grease_, static_cast<uint16_t>(payload));
      ech_grease_.insert(ech_grease_.end(), rnd.begin() + 32, rnd.end());
    }

    offer_psk_ =
        cfg_.ticket.has_value() && offerable(*cfg_.ticket, p, cfg_.now_ms ? cfg_.now_ms() : 0);

    offered_groups_.clear();
    for (uint16_t g : p.groups) {
      if (g == kGroupX25519Mlkem768 && cfg_.key_shares == KeySharePolicy::hybrid_and_x25519)
        offered_groups_.push_back(g);
      if (g == kGroupX25519) offered_groups_.push_back(g);
    }
    if (offered_groups_.empty())
      return Outcome::fail(Alert::internal_error, "profile offers no implemented group");
  }

  // Key shares for the groups being offered (fresh after a HelloRetryRequest).
  share_->x25519.reset();
  share_->hybrid.reset();
  share_->p256.reset();
  share_->p384.reset();
  for (uint16_t g : offered_groups_) {
    if (g == kGroupSecp256r1) {
      auto kp = nist_key<crypto::P256KeyPair, crypto::kP256ScalarLen>(cfg_.random);
      if (!kp) return Outcome::fail(Alert::internal_error, "P-256 key generation failed");
      share_->p256.emplace(*kp);
    } else if (g == kGroupSecp384r1) {
      auto kp = nist_key<crypto::P384KeyPair, crypto::kP384ScalarLen>(cfg_.random);
      if (!kp) return Outcome::fail(Alert::internal_error, "P-384 key generation failed");
      share_->p384.emplace(*kp);
    } else if (g == kGroupX25519) {
      std::array<uint8_t, 32> priv{};
      draw(priv);
      auto kp = X25519KeyPair::from_private(priv);
      secure_wipe(priv);
      if (!kp) return Outcome::fail(Alert::internal_error, "X25519 key generation failed");
      share_->x25519.emplace(*kp);
    } else {
      if (cfg_.random) {
        std::array<uint8_t, pq::kMlkemSeedSize> seed{};
        std::array<uint8_t, 32> priv{};
        draw(seed);
        draw(priv);
        share_->hybrid.emplace(pq::X25519Mlkem768Client::from_seed_for_test(seed, priv));
        secure_wipe(seed);
        secure_wipe(priv);
      } else {
        auto h = pq::X25519Mlkem768Client::generate();
        if (!h) return Outcome::fail(Alert::internal_error, "ML-KEM key generation failed");
        share_->hybrid.emplace(*h);
      }
    }
  }

  auto map = [this](uint16_t v, size_t which) { return v == kGrease ? grease_[which] : v; };
  const bool pq_listed = cfg_.key_shares == KeySharePolicy::hybrid_and_x25519;
  ClientHelloFields f;
  f.random = random_;
  f.legacy_session_id = session_id_;
  for (uint16_t c : p.cipher_suites) f.cipher_suites.push_back(map(c, 0));

  auto body_for = [&](const ProfileExtension& e, std::vector<uint8_t>& b) -> bool {
    Writer w(b);
    switch (e.kind) {
      case ExtKind::literal:
        w.bytes(e.literal);
        return true;
      case ExtKind::grease_first:
        return true;
      case ExtKind::grease_last:
        w.u8(0);
        return true;
      case ExtKind::server_name: {
        if (cfg_.server_name.empty()) return false;
        const size_t l = w.open_prefix(2);
        w.u8(0);
        const size_t n = w.open_prefix(2);
        w.bytes(
            {reinterpret_cast<const uint8_t*>(cfg_.server_name.data()), cfg_.server_name.size()});
        return w.close_prefix(n) && w.close_prefix(l);
      }
      case ExtKind::supported_groups: {
        const size_t l = w.open_prefix(2);
        for (uint16_t g : p.groups)
          if (g != kGroupX25519Mlkem768 || pq_listed) w.u16(map(g, 1));
        return w.close_prefix(l);
      }
      case ExtKind::signature_algorithms: {
        const size_t l = w.open_prefix(2);
        for (uint16_t s : p.signature_algorithms) w.u16(map(s, 5));
        return w.close_prefix(l);
      }
      case ExtKind::supported_versions: {
        const size_t l = w.open_prefix(1);
        for (uint16_t v : p.versions) w.u16(map(v, 4));
        return w.close_prefix(l);
      }
      case ExtKind::key_share: {
        const size_t l = w.open_prefix(2);
        const bool grease = std::find(p.groups.begin(), p.groups.end(), kGrease) != p.groups.end();
        if (grease && !after_hrr) {
          w.u16(grease_[1]);
          w.u16(1);
          w.u8(0);
        }
        for (uint16_t g : offered_groups_) {
          w.u16(g);
          const size_t k = w.open_prefix(2);
          if (g == kGroupX25519)
            w.bytes(share_->x25519->public_key());
          else if (g == kGroupSecp256r1)
            w.bytes(share_->p256->public_key());
          else if (g == kGroupSecp384r1)
            w.bytes(share_->p384->public_key());
          else
            w.bytes(share_->hybrid->share());
          if (!w.close_prefix(k)) return false;
        }
        return w.close_prefix(l);
      }
      case ExtKind::alpn: {
        if (cfg_.alpn.empty()) return false;
        const size_t l = w.open_prefix(2);
        for (const auto& a : cfg_.alpn) {
          const size_t n = w.open_prefix(1);
          w.bytes({reinterpret_cast<const uint8_t*>(a.data()), a.size()});
          if (a.empty() || !w.close_prefix(n)) return false;
        }
        return w.close_prefix(l);
      }
      case ExtKind::application_settings: {
        if (std::find(cfg_.alpn.begin(), cfg_.alpn.end(), "h2") == cfg_.alpn.end()) return false;
        const size_t l = w.open_prefix(2);
        const size_t n = w.open_prefix(1);
        w.bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("h2"), 2));
        return w.close_prefix(n) && w.close_prefix(l);
      }
      case ExtKind::encrypted_client_hello:
        w.bytes(ech_grease_);
        return true;
      case ExtKind::cookie: {
        if (cookie_.empty()) return false;
        const size_t l = w.open_prefix(2);
        w.bytes(cookie_);
        return w.close_prefix(l);
      }
    }
    return false;
  };

  auto add = [&](const ProfileExtension& e) {
    std::vector<uint8_t> b;
    if (!body_for(e, b)) return;
    uint16_t type = e.type;
    if (e.kind == ExtKind::grease_first) type = grease_[2];
    if (e.kind == ExtKind::grease_last) type = grease_[3];
    f.extensions.emplace_back(type, std::move(b));
  };
  for (const auto& e : p.extensions)
    if (e.kind == ExtKind::grease_first) add(e);
  for (size_t i : order_) add(p.extensions[i]);
  const bool cookie_placed = std::any_of(p.extensions.begin(), p.extensions.end(),
                                         [](const auto& e) { return e.kind == ExtKind::cookie; });
  if (!cookie_.empty() && !cookie_placed) {
    std::vector<uint8_t> c;
    Writer w(c);
    const size_t l = w.open_prefix(2);
    w.bytes(cookie_);
    if (!w.close_prefix(l)) return Outcome::fail(Alert::internal_error, "cookie too long");
    f.extensions.emplace_back(ext::cookie, std::move(c));
  }
  for (const auto& e : p.extensions)
    if (e.kind == ExtKind::grease_last) add(e);

  // pre_shared_key (§4.2.11), last of all, with a zero binder that
  // fill_binder() replaces once the rest of the hello is final.
  std::vector<uint8_t> psk;
  if (offer_psk_) {
    const bool has_modes = std::any_of(f.extensions.begin(), f.extensions.end(), [](const auto& e) {
      return e.first == ext::psk_key_exchange_modes;
    });
    // A profile without psk_key_exchange_modes gets psk_dhe_ke only (§4.2.9).
    if (!has_modes)
      f.extensions.emplace_back(ext::psk_key_exchange_modes, std::vector<uint8_t>{0x01, 0x01});
    const SessionTicket& t = *cfg_.ticket;
    uint64_t age_ms = 0;
    if (cfg_.now_ms && t.received_at_ms != 0) {
      const uint64_t now = cfg_.now_ms();
      age_ms = now > t.received_at_ms ? now - t.received_at_ms : 0;
    }
    Writer w(psk);
    const size_t ids = w.open_prefix(2);
    const size_t id = w.open_prefix(2);
    w.bytes(t.ticket);
    (void)w.close_prefix(id);
    w.u32(static_cast<uint32_t>(age_ms + t.age_add));  // obfuscated_ticket_age, mod 2^32
    const bool ids_ok = w.close_prefix(ids);
    const size_t binders = w.open_prefix(2);
    const size_t binder = w.open_prefix(1);
    w.zeros(t.psk.len);
    if (!ids_ok || !w.close_prefix(binder) || !w.close_prefix(binders))
      return Outcome::fail(Alert::internal_error, "pre_shared_key does not encode");
  }

  if (p.padding == PaddingRule::boringssl) {
    std::vector<uint8_t> probe;
    if (!encode_client_hello(f, probe))
      return Outcome::fail(Alert::internal_error, "ClientHello does not encode");
    // The padding goes before pre_shared_key and counts it, as BoringSSL's.
    const size_t len = probe.size() + (psk.empty() ? 0 : 4 + psk.size());
    if (len > 0xff && len < 0x200) {
      size_t pad = 0x200 - len;
      pad = pad >= 4 + 1 ? pad - 4 : 1;
      f.extensions.emplace_back(ext::padding, std::vector<uint8_t>(pad, 0));
    }
  }
  if (!psk.empty()) f.extensions.emplace_back(ext::pre_shared_key, std::move(psk));
  sent_extensions_.clear();
  for (const auto& [t, b] : f.extensions) sent_extensions_.push_back(t);
  out.clear();
  if (!encode_client_hello(f, out))
    return Outcome::fail(Alert::internal_error, "ClientHello does not encode");
  return Outcome::success();
}

// fill_binder writes the PSK binder at the end of |hello| (the last bytes of
// pre_shared_key, the last extension): HMAC over the transcript up to the
// hello without its binders list (§4.2.11.2), keyed from the ticket's PSK.
Outcome Client::fill_binder(std::vector<uint8_t>& hello) {
  if (!offer_psk_) return Outcome::success();
  const CipherSuite& suite = *find_cipher_suite(cfg_.ticket->cipher_suite);
  const size_t hl = suite.hash_len();
  const size_t binders_len = 2 + 1 + hl;
  if (hello.size() < binders_len + 4)
    return Outcome::fail(Alert::internal_error, "hello too short for its binder");
  // Before the ServerHello the transcript is only a HelloRetryRequest's
  // (message_hash + HRR, whose suite has the ticket's hash).
  Digest d = transcript_ ? *transcript_ : Digest(suite.hash);
  d.update(std::span(hello).first(hello.size() - binders_len));
  std::array<uint8_t, kMaxDigestLen> hash{};
  KeySchedule ks(suite);
  Secret key, binder;
  if (!d.finish(std::span(hash.data(), hl)) || !ks.early(cfg_.ticket->psk.span()) ||
      !ks.binder_key(key) || !finished_verify_data(suite, key.span(), {hash.data(), hl}, binder))
    return Outcome::fail(Alert::internal_error, "PSK binder derivation failed");
  std::copy(binder.bytes.begin(), binder.bytes.begin() + hl, hello.end() - hl);
  return Outcome::success();
}

Outcome Client::fail(Outcome o) {
  if (state_ == State::failed) return o;
  error_ = o;
  io_.queue_alert(AlertLevel::fatal, o.alert());
  state_ = State::failed;
  return o;
}

Outcome Client::start() {
  if (state_ != State::idle) return Outcome::fail(Alert::internal_error, "client already started");
  if (!cfg_.verifier || cfg_.profile == nullptr)
    return fail(Outcome::fail(Alert::internal_error, "client needs a profile and a verifier"));
  std::vector<uint8_t> msg;
  if (Outcome o = build_client_hello(msg, false); !o) return fail(o);
  if (cfg_.pre_send && share_->x25519 && session_id_.size() == 32) {
    constexpr size_t kSessionIdAt = 4 + 2 + 32 + 1;
    ClientHelloHookView view{msg, std::span(msg).subspan(kSessionIdAt, 32),
                             std::span<const uint8_t>(msg).subspan(6, 32),
                             share_->x25519->private_key()};
    cfg_.pre_send(view);
    std::copy(msg.begin() + kSessionIdAt, msg.begin() + kSessionIdAt + 32, session_id_.begin());
  }
  if (Outcome o = fill_binder(msg); !o) return fail(o);
  ch1_ = msg;
  transcript_add(msg);
  (void)io_.queue_plaintext(ContentType::handshake, msg, 0x0301);
  state_ = State::wait_server_hello;
  return Outcome::success();
}

Outcome Client::receive(std::span<const uint8_t> bytes) {
  if (state_ == State::failed) return error_;
  if (state_ == State::idle) return Outcome::fail(Alert::internal_error, "client not started");
  Outcome o = io_.receive(
      bytes,
      [this](ContentType type, std::span<uint8_t> content) { return on_record(type, content); },
      [this] { return state_ != State::failed && !peer_closed_; });
  if (!o && state_ != State::failed) return fail(o);
  return o;
}

Outcome Client::on_record(ContentType type, std::span<uint8_t> body) {
  switch (type) {
    case ContentType::change_cipher_spec: {
      // Middlebox compatibility (RFC 8446 §5, App. D.4): one byte 01, only
      // between the ServerHello and the server Finished.
      const bool in_handshake =
          state_ != State::connected && state_ != State::wait_server_hello && state_ != State::idle;
      const bool after_hrr = state_ == State::wait_server_hello && hrr_;
      if ((!in_handshake && !after_hrr) || body.size() != 1 || body[0] != 1)
        return Outcome::fail(Alert::unexpected_message, "unexpected change_cipher_spec");
      return Outcome::success();
    }
    case ContentType::alert:
      return on_alert(body);
    case ContentType::handshake:
      if (!io_.read.active() && state_ != State::wait_server_hello)
        return Outcome::fail(Alert::unexpected_message, "plaintext handshake after ServerHello");
      return io_.handshake(
          body, [this](const HandshakeView& m) { return on_message(m); },
          [](HandshakeType t) {
            return t == HandshakeType::server_hello || t == HandshakeType::finished ||
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

Outcome Client::on_message(const HandshakeView& msg) {
  const auto unexpected = Outcome::fail(Alert::unexpected_message, "unexpected handshake message");
  switch (state_) {
    case State::wait_server_hello:
      return msg.type == HandshakeType::server_hello ? on_server_hello(msg) : unexpected;
    case State::wait_encrypted_extensions:
      return msg.type == HandshakeType::encrypted_extensions ? on_encrypted_extensions(msg)
                                                             : unexpected;
    case State::wait_certificate:
      if (msg.type == HandshakeType::certificate) return on_certificate(msg);
      if (msg.type == HandshakeType::compressed_certificate) return on_compressed_certificate(msg);
      if (msg.type == HandshakeType::certificate_request)
        return Outcome::fail(Alert::handshake_failure, "client certificates are not supported");
      return unexpected;
    case State::wait_certificate_verify:
      return msg.type == HandshakeType::certificate_verify ? on_certificate_verify(msg)
                                                           : unexpected;
    case State::wait_finished:
      return msg.type == HandshakeType::finished ? on_finished(msg) : unexpected;
    case State::connected:
    case State::closed:
      return on_post_handshake(msg);
    default:
      return unexpected;
  }
}

Outcome Client::on_server_hello(const HandshakeView& msg) {
  ServerHello sh;
  if (Outcome o = parse_server_hello(msg.body, sh); !o) return o;
  const Extension* sv = sh.extensions.find(ext::supported_versions);
  if (sv == nullptr)
    return Outcome::fail(Alert::protocol_version, "server does not negotiate TLS 1.3");
  uint16_t version = 0;
  if (Outcome o = parse_server_supported_version(sv->data, version); !o) return o;
  if (version != kTls13 || sh.legacy_version != kTls12)
    return Outcome::fail(Alert::illegal_parameter, "server selected a version other than TLS 1.3");
  if (!std::equal(sh.legacy_session_id_echo.begin(), sh.legacy_session_id_echo.end(),
                  session_id_.begin(), session_id_.end()))
    return Outcome::fail(Alert::illegal_parameter, "session id echo does not match");
  const CipherSuite* suite = find_cipher_suite(sh.cipher_suite);
  const auto& offered = cfg_.profile->cipher_suites;
  if (suite == nullptr ||
      std::find(offered.begin(), offered.end(), sh.cipher_suite) == offered.end())
    return Outcome::fail(Alert::illegal_parameter, "server selected a suite not offered");
  if (suite_ != nullptr && suite_ != suite)
    return Outcome::fail(Alert::illegal_parameter, "cipher suite changed after HelloRetryRequest");
  for (const auto& e : sh.extensions.all()) {
    const bool allowed =
        e.type == ext::supported_versions || e.type == ext::key_share ||
        (sh.is_hello_retry_request && e.type == ext::cookie) ||
        (!sh.is_hello_retry_request && offer_psk_ && e.type == ext::pre_shared_key);
    if (!allowed)
      return Outcome::fail(Alert::unsupported_extension, "unexpected extension in ServerHello");
  }
  if (sh.is_hello_retry_request) return on_hello_retry(sh, msg);

  const Extension* ks = sh.extensions.find(ext::key_share);
  if (ks == nullptr)
    return Outcome::fail(Alert::missing_extension, "ServerHello without key_share");
  if (const Extension* pk = sh.extensions.find(ext::pre_shared_key)) {
    Reader r(pk->data);
    const uint16_t selected = r.u16();
    if (!r.ok() || !r.empty())
      return Outcome::fail(Alert::decode_error, "malformed pre_shared_key in ServerHello");
    if (selected != 0)
      return Outcome::fail(Alert::illegal_parameter, "server selected a PSK not offered");
    if (find_cipher_suite(cfg_.ticket->cipher_suite)->hash != suite->hash)
      return Outcome::fail(Alert::illegal_parameter,
                           "server resumed with a suite of another hash than the ticket's");
    resumed_ = true;
  }
  KeyShareEntry share;
  if (Outcome o = parse_server_key_share(ks->data, share); !o) return o;
  if (std::find(offered_groups_.begin(), offered_groups_.end(), share.group) ==
      offered_groups_.end())
    return Outcome::fail(Alert::illegal_parameter, "server share for a group not offered");

  std::array<uint8_t, pq::kX25519Mlkem768SecretSize> secret{};
  size_t secret_len = 0;
  if (share.group == kGroupX25519) {
    if (share.key_exchange.size() != kX25519KeyLen)
      return Outcome::fail(Alert::illegal_parameter, "X25519 share of the wrong length");
    if (!share_->x25519->shared_secret(share.key_exchange, secret))
      return Outcome::fail(Alert::illegal_parameter, "X25519 share of low order");
    secret_len = kX25519KeyLen;
  } else if (share.group == kGroupSecp256r1) {
    if (!share_->p256->shared_secret(share.key_exchange, std::span(secret).first<32>()))
      return Outcome::fail(Alert::illegal_parameter, "bad P-256 server share");
    secret_len = 32;
  } else if (share.group == kGroupSecp384r1) {
    if (!share_->p384->shared_secret(share.key_exchange,
                                     std::span(secret).first<crypto::kP384SecretLen>()))
      return Outcome::fail(Alert::illegal_parameter, "bad P-384 server share");
    secret_len = crypto::kP384SecretLen;
  } else {
    const Status st = share_->hybrid->finish(share.key_exchange, secret);
    if (!st) return Outcome::fail(Alert::illegal_parameter, "bad X25519MLKEM768 server share");
    secret_len = pq::kX25519Mlkem768SecretSize;
  }
  suite_ = suite;
  group_ = share.group;
  if (!transcript_) {
    transcript_.emplace(suite->hash);
    transcript_->update(pending_transcript_);
    pending_transcript_.clear();
  }
  transcript_->update(msg.raw);
  ks_.emplace(*suite);
  const auto hello_hash = transcript_hash();
  Status st = ks_->early(resumed_ ? cfg_.ticket->psk.span() : std::span<const uint8_t>());
  if (st) st = ks_->handshake(std::span(secret.data(), secret_len), hello_hash);
  secure_wipe(secret);
  if (st) st = io_.read.init(*suite, ks_->server_handshake_traffic().span());
  if (st) st = io_.write.init(*suite, ks_->client_handshake_traffic().span());
  if (!st) return Outcome::fail(Alert::internal_error, "handshake key derivation failed");
  share_->x25519.reset();
  share_->hybrid.reset();
  share_->p256.reset();
  share_->p384.reset();
  state_ = State::wait_encrypted_extensions;
  return Outcome::success();
}

Outcome Client::on_hello_retry(const ServerHello& sh, const HandshakeView& msg) {
  if (hrr_) return Outcome::fail(Alert::unexpected_message, "second HelloRetryRequest");
  const Extension* ks = sh.extensions.find(ext::key_share);
  const Extension* cookie = sh.extensions.find(ext::cookie);
  uint16_t group = 0;
  if (ks != nullptr) {
    if (Outcome o = parse_hrr_key_share(ks->data, group); !o) return o;
    const auto& groups = cfg_.profile->groups;
    const bool listed =
        std::find(groups.begin(), groups.end(), group) != groups.end() &&
        (group != kGroupX25519Mlkem768 || cfg_.key_shares == KeySharePolicy::hybrid_and_x25519);
    if (!listed ||
        std::find(offered_groups_.begin(), offered_groups_.end(), group) != offered_groups_.end())
      return Outcome::fail(Alert::illegal_parameter, "HelloRetryRequest for an unusable group");
    if (!implemented_group(group))
      return Outcome::fail(Alert::handshake_failure,
                           "HelloRetryRequest asks for a group this engine does not support");
  }
  if (cookie != nullptr) {
    Reader r(cookie->data);
    const Bytes c = r.vec16();
    if (!r.ok() || !r.empty() || c.empty())
      return Outcome::fail(Alert::decode_error, "malformed cookie");
    cookie_.assign(c.begin(), c.end());
  }
  if (ks == nullptr && cookie == nullptr)
    return Outcome::fail(Alert::illegal_parameter, "HelloRetryRequest changes nothing");

  suite_ = find_cipher_suite(sh.cipher_suite);
  hrr_ = true;
  // Transcript: message_hash(Hash(ClientHello1)) || HelloRetryRequest (§4.4.1).
  transcript_.emplace(suite_->hash);
  std::array<uint8_t, kMaxDigestLen> h1{};
  if (!Digest::hash(suite_->hash, pending_transcript_, h1))
    return Outcome::fail(Alert::internal_error, "hash failed");
  pending_transcript_.clear();
  const std::array<uint8_t, 4> mh = {static_cast<uint8_t>(HandshakeType::message_hash), 0, 0,
                                     static_cast<uint8_t>(suite_->hash_len())};
  transcript_->update(mh);
  transcript_->update(std::span(h1.data(), suite_->hash_len()));
  transcript_->update(msg.raw);
  if (group != 0) offered_groups_ = {group};
  // A ticket of another hash than the retry's suite cannot be used (§4.1.4).
  if (offer_psk_ && find_cipher_suite(cfg_.ticket->cipher_suite)->hash != suite_->hash)
    offer_psk_ = false;

  std::vector<uint8_t> ch2;
  if (Outcome o = build_client_hello(ch2, true); !o) return o;
  if (Outcome o = fill_binder(ch2); !o) return o;
  transcript_->update(ch2);
  if (session_id_.size() == 32 && !sent_ccs_) {
    const std::array<uint8_t, 1> ccs = {1};
    (void)io_.queue_plaintext(ContentType::change_cipher_spec, ccs, kTls12);
    sent_ccs_ = true;
  }
  (void)io_.queue_plaintext(ContentType::handshake, ch2, kTls12);
  return Outcome::success();
}

Outcome Client::on_encrypted_extensions(const HandshakeView& msg) {
  ExtensionList ee;
  if (Outcome o = parse_encrypted_extensions(msg.body, ee); !o) return o;
  for (const auto& e : ee.all()) {
    if (is_grease(e.type) || std::find(sent_extensions_.begin(), sent_extensions_.end(), e.type) ==
                                 sent_extensions_.end())
      return Outcome::fail(Alert::unsupported_extension,
                           "EncryptedExtensions answers nothing sent");
    switch (e.type) {
      case ext::key_share:
      case ext::supported_versions:
      case ext::cookie:
      case ext::psk_key_exchange_modes:
      case ext::pre_shared_key:
      case ext::signature_algorithms:
      case ext::padding:
      case ext::status_request:
      case ext::signed_certificate_timestamp:
        return Outcome::fail(Alert::illegal_parameter,
                             "extension not allowed in EncryptedExtensions");
      case ext::alpn: {
        Reader r(e.data);
        Reader list(r.vec16());
        const Bytes proto = list.vec8();
        if (!r.ok() || !r.empty() || !list.ok() || !list.empty() || proto.empty())
          return Outcome::fail(Alert::decode_error, "malformed ALPN in EncryptedExtensions");
        const std::string chosen(proto.begin(), proto.end());
        if (std::find(cfg_.alpn.begin(), cfg_.alpn.end(), chosen) == cfg_.alpn.end())
          return Outcome::fail(Alert::illegal_parameter, "server chose an ALPN not offered");
        alpn_ = chosen;
        break;
      }
      default:
        break;
    }
  }
  transcript_->update(msg.raw);
  // A resumed handshake has no Certificate or CertificateVerify (§2.2).
  state_ = resumed_ ? State::wait_finished : State::wait_certificate;
  return Outcome::success();
}

Outcome Client::on_certificate(const HandshakeView& msg) {
  return accept_certificate(msg.body, msg);
}

// RFC 8879 §4: algorithm(2) uncompressed_length(3) compressed_certificate_message<1..2^24-1>.
Outcome Client::on_compressed_certificate(const HandshakeView& msg) {
  if (std::find(sent_extensions_.begin(), sent_extensions_.end(), ext::compress_certificate) ==
      sent_extensions_.end())
    return Outcome::fail(Alert::unexpected_message,
                         "CompressedCertificate without compress_certificate offered");
  CompressedCertificate cc;
  if (Outcome o = parse_compressed_certificate(msg.body, cc); !o) return o;
  if (cc.algorithm != kCertCompressionBrotli)
    return Outcome::fail(Alert::bad_certificate,
                         "CompressedCertificate algorithm is not brotli (the only one offered)");
  if (cc.uncompressed_length == 0)
    return Outcome::fail(Alert::bad_certificate, "CompressedCertificate declares length 0");
  if (cc.uncompressed_length > cfg_.max_certificate_len)
    return Outcome::fail(Alert::bad_certificate,
                         "CompressedCertificate uncompressed_length over the configured cap");
  std::vector<uint8_t> body(cc.uncompressed_length);
  if (!crypto::brotli_decompress_exact(cc.compressed, body))
    return Outcome::fail(Alert::bad_certificate,
                         "CompressedCertificate does not decompress to its declared length");
  return accept_certificate(body, msg);
}

// accept_certificate takes a Certificate body (sent as is or decompressed)
// and hashes |msg| (the message as received) into the transcript.
Outcome Client::accept_certificate(std::span<const uint8_t> body, const HandshakeView& msg) {
  Certificate cert;
  if (Outcome o = parse_certificate(body, cert); !o) return o;
  if (!cert.request_context.empty())
    return Outcome::fail(Alert::illegal_parameter, "certificate_request_context not empty");
  if (cert.count == 0) return Outcome::fail(Alert::decode_error, "server sent no certificate");
  if (Outcome o = cfg_.verifier(std::span(cert.entries.data(), cert.count), cfg_.server_name); !o)
    return o;
  leaf_.assign(cert.entries[0].cert_data.begin(), cert.entries[0].cert_data.end());
  transcript_->update(msg.raw);
  state_ = State::wait_certificate_verify;
  return Outcome::success();
}

Outcome Client::on_certificate_verify(const HandshakeView& msg) {
  CertificateVerify cv;
  if (Outcome o = parse_certificate_verify(msg.body, cv); !o) return o;
  const auto& adv = cfg_.profile->signature_algorithms;
  const auto& extra = cfg_.extra_signature_schemes;
  if (is_grease(cv.scheme) || (std::find(adv.begin(), adv.end(), cv.scheme) == adv.end() &&
                               std::find(extra.begin(), extra.end(), cv.scheme) == extra.end()))
    return Outcome::fail(Alert::illegal_parameter, "CertificateVerify scheme not offered");
  std::vector<uint8_t> content(64, 0x20);
  content.insert(content.end(), std::begin(kServerCvContext), std::end(kServerCvContext));
  const auto h = transcript_hash();
  content.insert(content.end(), h.begin(), h.end());
  const Status st = crypto::verify_certificate_signature(cv.scheme, leaf_, content, cv.signature);
  if (!st) {
    switch (st.error()) {
      case Errc::not_supported:
        return Outcome::fail(Alert::illegal_parameter, "signature scheme does not fit the key");
      case Errc::malformed:
        return Outcome::fail(Alert::bad_certificate, "leaf certificate does not parse");
      default:
        return Outcome::fail(Alert::decrypt_error, "CertificateVerify signature is wrong");
    }
  }
  transcript_->update(msg.raw);
  state_ = State::wait_finished;
  return Outcome::success();
}

Outcome Client::on_finished(const HandshakeView& msg) {
  const auto before = transcript_hash();
  Secret expected;
  if (!finished_verify_data(*suite_, ks_->server_handshake_traffic().span(), before, expected))
    return Outcome::fail(Alert::internal_error, "Finished derivation failed");
  Bytes got;
  if (Outcome o = parse_finished(msg.body, suite_->hash_len(), got); !o) return o;
  if (!constant_time_equal(got, expected.span()))
    return Outcome::fail(Alert::decrypt_error, "server Finished does not verify");
  transcript_->update(msg.raw);
  const auto server_finished_hash = transcript_hash();
  Secret mine;
  if (!ks_->master(server_finished_hash) ||
      !finished_verify_data(*suite_, ks_->client_handshake_traffic().span(), server_finished_hash,
                            mine))
    return Outcome::fail(Alert::internal_error, "master secret derivation failed");
  if (session_id_.size() == 32 && !sent_ccs_) {
    const std::array<uint8_t, 1> ccs = {1};
    (void)io_.queue_plaintext(ContentType::change_cipher_spec, ccs, kTls12);
    sent_ccs_ = true;
  }
  std::vector<uint8_t> fin;
  if (!encode_finished(mine.span(), fin) || !io_.queue_protected(ContentType::handshake, fin))
    return Outcome::fail(Alert::internal_error, "cannot send Finished");
  transcript_->update(fin);
  Status st = ks_->resumption(transcript_hash());
  if (st) st = io_.read.init(*suite_, ks_->server_application_traffic().span());
  if (st) st = io_.write.init(*suite_, ks_->client_application_traffic().span());
  if (!st) return Outcome::fail(Alert::internal_error, "traffic key derivation failed");
  leaf_.clear();
  state_ = State::connected;
  return Outcome::success();
}

Outcome Client::on_post_handshake(const HandshakeView& msg) {
  if (msg.type == HandshakeType::new_session_ticket) {
    NewSessionTicket t;
    if (Outcome o = parse_new_session_ticket(msg.body, t); !o) return o;
    SessionTicket s;
    s.lifetime = t.lifetime;
    s.age_add = t.age_add;
    s.ticket.assign(t.ticket.begin(), t.ticket.end());
    s.cipher_suite = suite_->id;
    s.received_at_ms = cfg_.now_ms ? cfg_.now_ms() : 0;
    if (!ks_->ticket_psk(t.nonce, s.psk))
      return Outcome::fail(Alert::internal_error, "ticket PSK derivation failed");
    if (tickets_.size() == kMaxTickets) tickets_.erase(tickets_.begin());
    tickets_.push_back(std::move(s));
    return Outcome::success();
  }
  if (msg.type == HandshakeType::key_update) return io_.key_update(msg, !sent_close_);
  return Outcome::fail(Alert::unexpected_message, "unexpected post-handshake message");
}

Outcome Client::on_alert(std::span<const uint8_t> body) {
  if (body.size() != 2) return Outcome::fail(Alert::decode_error, "alert is not two bytes");
  bool close_notify = false;
  Outcome o = parse_alert(body, close_notify);
  if (close_notify) peer_closed_ = true;
  if (o) return o;
  error_ = o;  // the peer's fatal alert: not answered
  state_ = State::failed;
  return o;
}

Status Client::send(std::span<const uint8_t> data) {
  if (state_ != State::connected || sent_close_) return Errc::invalid_state;
  return io_.queue_protected(ContentType::application_data, data);
}

std::vector<uint8_t> Client::take_application_data() { return io_.take_application_data(); }

Status Client::request_key_update() {
  if (state_ != State::connected || sent_close_) return Errc::invalid_state;
  return io_.request_key_update();
}

Status Client::close() {
  if (state_ != State::connected || sent_close_) return Errc::invalid_state;
  io_.queue_alert(AlertLevel::warning, Alert::close_notify);
  sent_close_ = true;
  return {};
}

}  // namespace sluice::tls13
