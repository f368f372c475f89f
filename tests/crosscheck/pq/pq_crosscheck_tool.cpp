// pq_crosscheck_tool: a line-oriented driver exposing sluice's ML-KEM-768 and
// X25519MLKEM768 to crosscheck.mjs, which compares them with
// @noble/post-quantum. One command per stdin line, one answer per stdout
// line, hex everywhere; an operation that fails answers "error <errc_name>".
//
//   keygen <seed 64>                       -> <ek> <dk>
//   encaps <ek> <m 32>                     -> <ct> <k>
//   decaps <dk> <ct>                       -> <k>
//   hybrid_client <seed 64> <x25519 priv>  -> <client share>
//   hybrid_finish <seed 64> <x25519 priv> <server share> -> <secret 64>
//   hybrid_server <client share> <m 32> <x25519 priv>    -> <server share> <secret 64>
//   engine_hybrid <seed 64> <client x25519 priv> <m 32> <server x25519 priv>
//     -> <ClientHello> <ServerHello> <server hs traffic> <client hs traffic>
//     sluice's TLS 1.3 engine (lib/proto/tls13) as client and server with an
//     X25519MLKEM768-only profile and TLS_AES_128_GCM_SHA256, randomness
//     fixed to the given values: the two hello messages as sent, then the
//     handshake traffic secrets each side derived (the client's read key
//     after the ServerHello, the server's read key), so the hybrid secret's
//     use in the key schedule can be recomputed independently.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/pq/mlkem768.hpp"
#include "crypto/pq/x25519_mlkem768.hpp"
#include "crypto/signature.hpp"
#include "crypto/tls_keypair.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/server.hpp"

using namespace sluice;
using namespace sluice::pq;

namespace {

bool unhex(const std::string& s, std::vector<uint8_t>* out) {
  if (s.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned v;
    if (std::sscanf(s.c_str() + i, "%2x", &v) != 1) return false;
    out->push_back(static_cast<uint8_t>(v));
  }
  return true;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

const char* errc_name_local(Errc e) {
  switch (e) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::bad_key:
      return "bad_key";
    case Errc::malformed:
      return "malformed";
    case Errc::crypto_failure:
      return "crypto_failure";
    default:
      return "other";
  }
}

// A ClientHello with X25519MLKEM768 as its only group and share.
constexpr uint16_t kEngineSuites[] = {tls13::kTlsAes128GcmSha256};
constexpr uint16_t kEngineGroups[] = {tls13::kGroupX25519Mlkem768};
constexpr uint16_t kEngineSigalgs[] = {tls13::kSigEcdsaSecp256r1Sha256};
constexpr uint16_t kEngineVersions[] = {tls13::kTls13};
constexpr tls13::ProfileExtension kEngineExtensions[] = {
    {tls13::ext::supported_groups, tls13::ExtKind::supported_groups, {}},
    {tls13::ext::signature_algorithms, tls13::ExtKind::signature_algorithms, {}},
    {tls13::ext::supported_versions, tls13::ExtKind::supported_versions, {}},
    {tls13::ext::key_share, tls13::ExtKind::key_share, {}},
};
constexpr tls13::ClientProfile kEngineProfile = {
    "pq-crosscheck",
    false,
    0,
    kEngineSuites,
    kEngineGroups,
    kEngineSigalgs,
    kEngineVersions,
    kEngineExtensions,
    tls13::PaddingRule::none,
};

std::string engine_hybrid(const std::vector<uint8_t>& seed, const std::vector<uint8_t>& xc,
                          const std::vector<uint8_t>& m, const std::vector<uint8_t>& xs) {
  static const std::shared_ptr<const crypto::SigningKey> key = [] {
    auto pem = tls::generate_certificate(tls::CertificateRequest{});
    auto k = pem ? crypto::SigningKey::from_pem(pem->private_key)
                 : Result<crypto::SigningKey>(Errc::crypto_failure);
    return k ? std::make_shared<const crypto::SigningKey>(std::move(*k)) : nullptr;
  }();
  if (!key) return "error key";
  // Draws in order (client.hpp, server.hpp): the client's random, its empty
  // session id, GREASE seeds, the ML-KEM seed and the hybrid's X25519 key;
  // the server's ML-KEM message, X25519 key, then its random.
  tls13::ClientConfig cc;
  cc.profile = &kEngineProfile;
  cc.server_name = "crosscheck";
  cc.alpn.clear();
  cc.verifier = [](std::span<const tls13::CertificateEntry>, std::string_view) {
    return tls13::Outcome::success();
  };
  int client_32 = 0;
  cc.random = [&](std::span<uint8_t> out) {
    if (out.size() == kMlkemSeedSize) {
      std::memcpy(out.data(), seed.data(), out.size());
    } else if (out.size() == 32 && client_32++ == 1) {
      std::memcpy(out.data(), xc.data(), 32);
    } else if (!out.empty()) {
      std::memset(out.data(), 0x11, out.size());
    }
  };
  tls13::ServerConfig sc;
  sc.certificate_chain = {std::vector<uint8_t>{0x30, 0x00}};  // never parsed by this client
  sc.key = key;
  sc.cipher_suites = {tls13::kTlsAes128GcmSha256};
  sc.groups = {tls13::kGroupX25519Mlkem768};
  int server_32 = 0;
  sc.random = [&](std::span<uint8_t> out) {
    const int n = out.size() == 32 ? server_32++ : -1;
    if (n == 0)
      std::memcpy(out.data(), m.data(), 32);
    else if (n == 1)
      std::memcpy(out.data(), xs.data(), 32);
    else if (!out.empty())
      std::memset(out.data(), 0x22, out.size());
  };
  tls13::Client client(cc);
  tls13::Server server(sc);
  if (!client.start()) return "error client_start";
  const std::vector<uint8_t> ch(client.output().begin(), client.output().end());
  if (tls13::Outcome o = server.receive(ch); !o) return std::string("error server_") + o.what();
  const auto out = server.output();
  if (out.size() < 5) return "error no_server_hello";
  const size_t sh_len = 5 + (size_t{out[3]} << 8 | out[4]);
  if (out.size() < sh_len) return "error short_server_hello";
  if (tls13::Outcome o = client.receive(out.first(sh_len)); !o)
    return std::string("error client_") + o.what();
  const auto s_hs = client.read_protection().traffic_secret().span();
  const auto c_hs = server.read_protection().traffic_secret().span();
  return hex(ch.data() + 5, ch.size() - 5) + " " + hex(out.data() + 5, sh_len - 5) + " " +
         hex(s_hs.data(), s_hs.size()) + " " + hex(c_hs.data(), c_hs.size());
}

std::string run(const std::string& line) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  std::vector<std::vector<uint8_t>> args;
  for (std::string a; in >> a;) {
    args.emplace_back();
    if (!unhex(a, &args.back())) return "error bad_hex";
  }
  auto need = [&](size_t n) { return args.size() == n; };
  auto fixed = [](const std::vector<uint8_t>& v, size_t n) { return v.size() == n; };

  if (cmd == "keygen" && need(1) && fixed(args[0], kMlkemSeedSize)) {
    const auto dk = Mlkem768DecapsKey::from_seed(
        std::span<const uint8_t, kMlkemSeedSize>(args[0].data(), kMlkemSeedSize));
    uint8_t dkb[kMlkem768DecapsKeySize];
    dk.encode(dkb);
    const auto ek = dk.encaps_key().bytes();
    return hex(ek.data(), ek.size()) + " " + hex(dkb, sizeof(dkb));
  }
  if (cmd == "encaps" && need(2) && fixed(args[1], kMlkemMessageSize)) {
    auto ek = Mlkem768EncapsKey::parse(args[0]);
    if (!ek) return std::string("error ") + errc_name_local(ek.error());
    uint8_t ct[kMlkem768CiphertextSize], k[kMlkemSharedSecretSize];
    ek->encapsulate_deterministic(
        std::span<const uint8_t, kMlkemMessageSize>(args[1].data(), kMlkemMessageSize), ct, k);
    return hex(ct, sizeof(ct)) + " " + hex(k, sizeof(k));
  }
  if (cmd == "decaps" && need(2)) {
    auto dk = Mlkem768DecapsKey::parse(args[0]);
    if (!dk) return std::string("error ") + errc_name_local(dk.error());
    uint8_t k[kMlkemSharedSecretSize];
    const Status s = dk->decapsulate(args[1], k);
    if (!s) return std::string("error ") + errc_name_local(s.error());
    return hex(k, sizeof(k));
  }
  if ((cmd == "hybrid_client" && need(2)) || (cmd == "hybrid_finish" && need(3))) {
    if (!fixed(args[0], kMlkemSeedSize) || !fixed(args[1], 32)) return "error usage";
    const auto client = X25519Mlkem768Client::from_seed_for_test(
        std::span<const uint8_t, kMlkemSeedSize>(args[0].data(), kMlkemSeedSize),
        std::span<const uint8_t, 32>(args[1].data(), 32));
    if (cmd == "hybrid_client") return hex(client.share().data(), client.share().size());
    uint8_t secret[kX25519Mlkem768SecretSize];
    const Status s = client.finish(args[2], secret);
    if (!s) return std::string("error ") + errc_name_local(s.error());
    return hex(secret, sizeof(secret));
  }
  if (cmd == "hybrid_server" && need(3) && fixed(args[1], kMlkemMessageSize) &&
      fixed(args[2], 32)) {
    uint8_t share[kX25519Mlkem768ServerShareSize], secret[kX25519Mlkem768SecretSize];
    const Status s = x25519_mlkem768_server_for_test(
        args[0], std::span<const uint8_t, kMlkemMessageSize>(args[1].data(), kMlkemMessageSize),
        std::span<const uint8_t, 32>(args[2].data(), 32), share, secret);
    if (!s) return std::string("error ") + errc_name_local(s.error());
    return hex(share, sizeof(share)) + " " + hex(secret, sizeof(secret));
  }
  if (cmd == "engine_hybrid" && need(4) && fixed(args[0], kMlkemSeedSize) && fixed(args[1], 32) &&
      fixed(args[2], kMlkemMessageSize) && fixed(args[3], 32))
    return engine_hybrid(args[0], args[1], args[2], args[3]);
  return "error usage";
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  for (std::string line; std::getline(std::cin, line);) {
    if (line.empty()) continue;
    std::cout << run(line) << '\n';
  }
  return 0;
}
