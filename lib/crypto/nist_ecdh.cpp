// nist_ecdh.cpp: see nist_ecdh.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/nist_ecdh.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdh.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include <memory>

namespace sluice::crypto::nist {

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

Status public_point(int nid, std::span<const uint8_t> scalar, std::span<uint8_t> out) noexcept {
  std::unique_ptr<EC_GROUP, GroupFree> group(EC_GROUP_new_by_curve_name(nid));
  std::unique_ptr<BIGNUM, BnFree> k(BN_bin2bn(scalar.data(), scalar.size(), nullptr));
  if (!group || !k) return Errc::no_memory;
  if (BN_is_zero(k.get()) || BN_cmp(k.get(), EC_GROUP_get0_order(group.get())) >= 0)
    return Errc::invalid_argument;
  std::unique_ptr<EC_POINT, PointFree> pub(EC_POINT_new(group.get()));
  if (!pub || !EC_POINT_mul(group.get(), pub.get(), k.get(), nullptr, nullptr, nullptr) ||
      EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(),
                         out.size(), nullptr) != out.size()) {
    ERR_clear_error();
    return Errc::crypto_failure;
  }
  return {};
}

Status shared_x(int nid, std::span<const uint8_t> scalar, std::span<const uint8_t> peer,
                std::span<uint8_t> out) noexcept {
  if (peer.size() != 1 + 2 * out.size() || peer[0] != 0x04) return Errc::malformed;
  std::unique_ptr<EC_KEY, KeyFree> key(EC_KEY_new_by_curve_name(nid));
  std::unique_ptr<BIGNUM, BnFree> k(BN_bin2bn(scalar.data(), scalar.size(), nullptr));
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
  if (ECDH_compute_key(out.data(), out.size(), point.get(), key.get(), nullptr) !=
      static_cast<int>(out.size())) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return Errc::crypto_failure;
  }
  return {};
}

Status generate(int nid, std::span<uint8_t> scalar, std::span<uint8_t> pub) noexcept {
  for (int tries = 0; tries < 64; ++tries) {
    RAND_bytes(scalar.data(), scalar.size());
    const Status st = public_point(nid, scalar, pub);
    if (st || st.error() != Errc::invalid_argument) return st;
  }
  return Errc::crypto_failure;
}

}  // namespace sluice::crypto::nist
