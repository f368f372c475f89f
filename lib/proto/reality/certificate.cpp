// proto/reality/certificate.cpp: the temporary certificate (see
// certificate.hpp) and a minimal DER walker for the client's check.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/reality/certificate.hpp"

#include <algorithm>
#include <string>

#include "proto/base64.hpp"

namespace sluice::reality {
namespace {

constexpr uint8_t kEd25519Oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};  // 1.3.101.112

// Der reads one TLV at a time from a span; any overrun or an unsupported
// form (high tag numbers, indefinite or over-long lengths) fails it.
class Der {
 public:
  explicit Der(std::span<const uint8_t> in) noexcept : in_(in) {}
  bool ok() const noexcept { return ok_; }
  bool empty() const noexcept { return in_.empty(); }
  uint8_t peek_tag() const noexcept { return in_.empty() ? 0 : in_[0]; }

  // next reads a TLV of |tag| and returns its content.
  std::span<const uint8_t> next(uint8_t tag) noexcept {
    if (!ok_ || in_.size() < 2 || in_[0] != tag) return fail();
    size_t len = in_[1];
    size_t at = 2;
    if (len & 0x80) {
      const size_t n = len & 0x7f;
      if (n == 0 || n > 3 || in_.size() < 2 + n) return fail();
      len = 0;
      for (size_t i = 0; i < n; ++i) len = len << 8 | in_[2 + i];
      if (len < 0x80 || (n > 1 && in_[2] == 0)) return fail();  // DER: minimal length
      at += n;
    }
    if (in_.size() - at < len) return fail();
    auto content = in_.subspan(at, len);
    in_ = in_.subspan(at + len);
    return content;
  }

 private:
  std::span<const uint8_t> fail() noexcept {
    ok_ = false;
    in_ = {};
    return {};
  }
  std::span<const uint8_t> in_;
  bool ok_ = true;
};

void put_tlv(std::vector<uint8_t>& out, uint8_t tag, std::span<const uint8_t> content) {
  out.push_back(tag);
  if (content.size() < 0x80) {
    out.push_back(static_cast<uint8_t>(content.size()));
  } else if (content.size() < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(content.size()));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(content.size() >> 8));
    out.push_back(static_cast<uint8_t>(content.size()));
  }
  out.insert(out.end(), content.begin(), content.end());
}

// build_der makes the certificate for |pub| with a zero signature.
std::vector<uint8_t> build_der(std::span<const uint8_t, kEd25519PublicKeyLen> pub) {
  static constexpr char kZeroTime[] = "00010101000000Z";  // Go's zero time.Time
  const auto time = std::span(reinterpret_cast<const uint8_t*>(kZeroTime), sizeof kZeroTime - 1);
  std::vector<uint8_t> alg;
  put_tlv(alg, 0x30, kEd25519Oid);

  std::vector<uint8_t> tbs;
  const uint8_t version[] = {0x02, 0x01, 0x02};  // [0] EXPLICIT v3
  put_tlv(tbs, 0xa0, version);
  const uint8_t serial[] = {0x00};
  put_tlv(tbs, 0x02, serial);
  tbs.insert(tbs.end(), alg.begin(), alg.end());
  put_tlv(tbs, 0x30, {});  // issuer: empty Name
  std::vector<uint8_t> validity;
  put_tlv(validity, 0x18, time);
  put_tlv(validity, 0x18, time);
  put_tlv(tbs, 0x30, validity);
  put_tlv(tbs, 0x30, {});  // subject: empty Name
  std::vector<uint8_t> bits = {0x00};
  bits.insert(bits.end(), pub.begin(), pub.end());
  std::vector<uint8_t> spki = alg;
  put_tlv(spki, 0x03, bits);
  put_tlv(tbs, 0x30, spki);

  std::vector<uint8_t> body;
  put_tlv(body, 0x30, tbs);
  body.insert(body.end(), alg.begin(), alg.end());
  std::vector<uint8_t> sig(1 + kCertSignatureLen, 0);
  put_tlv(body, 0x03, sig);
  std::vector<uint8_t> der;
  put_tlv(der, 0x30, body);
  return der;
}

// pkcs8_pem wraps an Ed25519 seed as a PKCS#8 PEM (RFC 8410 §7).
std::string pkcs8_pem(std::span<const uint8_t> seed) {
  std::vector<uint8_t> der = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                              0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
  der.insert(der.end(), seed.begin(), seed.end());
  std::string pem = "-----BEGIN PRIVATE KEY-----\n";
  pem += base64_encode(der);
  pem += "\n-----END PRIVATE KEY-----\n";
  secure_wipe(der);
  return pem;
}

}  // namespace

Result<TemporaryCertificate> TemporaryCertificate::create(std::span<const uint8_t> seed) {
  auto kp = Ed25519KeyPair::from_seed(seed);
  if (!kp) return kp.error();
  std::string pem = pkcs8_pem(seed);
  auto key = crypto::SigningKey::from_pem(pem);
  secure_wipe({reinterpret_cast<uint8_t*>(pem.data()), pem.size()});
  if (!key) return Errc::crypto_failure;
  TemporaryCertificate c;
  std::copy(kp->public_key().begin(), kp->public_key().end(), c.public_.begin());
  c.der_ = build_der(c.public_);
  c.key_ = std::make_shared<crypto::SigningKey>(std::move(*key));
  return c;
}

Result<TemporaryCertificate> TemporaryCertificate::generate() {
  std::array<uint8_t, kEd25519SeedLen> seed{};
  random_bytes(seed);
  auto c = create(seed);
  secure_wipe(seed);
  return c;
}

std::vector<uint8_t> TemporaryCertificate::signed_for(const AuthKey& auth_key) const {
  std::vector<uint8_t> der = der_;
  certificate_hmac(auth_key, public_, std::span(der).last<kCertSignatureLen>());
  return der;
}

void certificate_hmac(const AuthKey& auth_key, std::span<const uint8_t> public_key,
                      std::span<uint8_t, kCertSignatureLen> out) noexcept {
  (void)Hmac::mac(DigestAlgorithm::sha512, auth_key, public_key, out);  // out is 64 bytes
}

Result<CertificateFields> parse_certificate_fields(std::span<const uint8_t> cert) {
  Der top(cert);
  Der c(top.next(0x30));
  if (!top.ok() || !top.empty()) return Errc::malformed;
  Der tbs(c.next(0x30));
  const auto sig_alg = c.next(0x30);
  const auto sig_bits = c.next(0x03);
  if (!c.ok() || !c.empty() || sig_alg.empty() || sig_bits.empty() || sig_bits[0] != 0)
    return Errc::malformed;
  if (tbs.peek_tag() == 0xa0) (void)tbs.next(0xa0);  // version
  (void)tbs.next(0x02);                              // serialNumber
  (void)tbs.next(0x30);                              // signature
  (void)tbs.next(0x30);                              // issuer
  (void)tbs.next(0x30);                              // validity
  (void)tbs.next(0x30);                              // subject
  Der spki(tbs.next(0x30));
  if (!tbs.ok()) return Errc::malformed;
  const auto key_alg = spki.next(0x30);
  const auto key_bits = spki.next(0x03);
  if (!spki.ok() || !spki.empty() || key_bits.empty() || key_bits[0] != 0) return Errc::malformed;
  CertificateFields f;
  Der alg(key_alg);
  const auto oid = alg.next(0x06);
  f.ed25519 = alg.ok() && alg.empty() && oid.size() == 3 &&
              std::equal(oid.begin(), oid.end(), kEd25519Oid + 2);
  f.public_key = key_bits.subspan(1);
  f.signature = sig_bits.subspan(1);
  return f;
}

bool is_reality_certificate(std::span<const uint8_t> cert, const AuthKey& auth_key) {
  auto f = parse_certificate_fields(cert);
  if (!f || !f->ed25519 || f->public_key.size() != kEd25519PublicKeyLen ||
      f->signature.size() != kCertSignatureLen)
    return false;
  std::array<uint8_t, kCertSignatureLen> mac{};
  certificate_hmac(auth_key, f->public_key, mac);
  return constant_time_equal(mac, f->signature);
}

}  // namespace sluice::reality
