// p256.cpp: see p256.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/p256.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdh.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/rand.h>

#include <memory>

namespace sluice::crypto {

namespace {

struct GroupFree {
  void operator()(EC_GROUP* g) const noexcept { EC_GROUP_free(g); }
};
struct PointFree {
  void operator()(EC_POINT* p) const noexcept { EC_POINT_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_clear_free(b); }
};
struct KeyFree {
  void operator()(EC_KEY* k) const noexcept { EC_KEY_free(k); }
};

}  // namespace

Result<P256KeyPair> P256KeyPair::from_private(std::span<const uint8_t> scalar) noexcept {
  if (scalar.size() != kP256ScalarLen) return Errc::invalid_argument;
  std::unique_ptr<EC_GROUP, GroupFree> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  std::unique_ptr<BIGNUM, BnFree> k(BN_bin2bn(scalar.data(), scalar.size(), nullptr));
  if (!group || !k) return Errc::no_memory;
  if (BN_is_zero(k.get()) || BN_cmp(k.get(), EC_GROUP_get0_order(group.get())) >= 0)
    return Errc::invalid_argument;
  std::unique_ptr<EC_POINT, PointFree> pub(EC_POINT_new(group.get()));
  P256KeyPair kp;
  if (!pub || !EC_POINT_mul(group.get(), pub.get(), k.get(), nullptr, nullptr, nullptr) ||
      EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, kp.public_.data(),
                         kp.public_.size(), nullptr) != kP256PointLen) {
    ERR_clear_error();
    return Errc::crypto_failure;
  }
  std::copy(scalar.begin(), scalar.end(), kp.private_.begin());
  return kp;
}

Result<P256KeyPair> P256KeyPair::generate() noexcept {
  std::array<uint8_t, kP256ScalarLen> s{};
  for (int tries = 0; tries < 64; ++tries) {
    RAND_bytes(s.data(), s.size());
    auto kp = from_private(s);
    if (kp.has_value() || kp.error() != Errc::invalid_argument) {
      OPENSSL_cleanse(s.data(), s.size());
      return kp;
    }
  }
  return Errc::crypto_failure;
}

P256KeyPair::~P256KeyPair() { OPENSSL_cleanse(private_.data(), private_.size()); }

Status P256KeyPair::shared_secret(std::span<const uint8_t> peer,
                                  std::span<uint8_t, 32> out) const noexcept {
  if (peer.size() != kP256PointLen || peer[0] != 0x04) return Errc::malformed;
  std::unique_ptr<EC_KEY, KeyFree> key(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  std::unique_ptr<BIGNUM, BnFree> k(BN_bin2bn(private_.data(), private_.size(), nullptr));
  if (!key || !k || !EC_KEY_set_private_key(key.get(), k.get())) {
    ERR_clear_error();
    return Errc::crypto_failure;
  }
  const EC_GROUP* group = EC_KEY_get0_group(key.get());
  std::unique_ptr<EC_POINT, PointFree> point(EC_POINT_new(group));
  // oct2point checks the point is on the curve.
  if (!point || !EC_POINT_oct2point(group, point.get(), peer.data(), peer.size(), nullptr)) {
    ERR_clear_error();
    return Errc::malformed;
  }
  if (ECDH_compute_key(out.data(), out.size(), point.get(), key.get(), nullptr) != 32) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return Errc::crypto_failure;
  }
  return {};
}

}  // namespace sluice::crypto
