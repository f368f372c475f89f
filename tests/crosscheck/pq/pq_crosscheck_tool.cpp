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
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/pq/mlkem768.hpp"
#include "crypto/pq/x25519_mlkem768.hpp"

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
