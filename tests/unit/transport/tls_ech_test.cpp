// ECH: config parsing and filtering, and client/server handshakes in memory
// (accepted, rejected with and without retry configs, GREASE).
#include "crypto/tls_ech.hpp"
#include "crypto/tls_pem.hpp"
#include "tls_test_util.hpp"

using namespace sluice;
using namespace sluice::test;
using tls::HandshakeProgress;

namespace {

std::vector<uint8_t> list_of(const tls::EchKeyPairPem& kp) {
  auto l = tls::ech_config_list_from_text(kp.configs, nullptr);
  REQUIRE(l);
  return *l;
}

struct EchRig {
  Pki pki = make_pki("secret.test");
  tls::KeyPairPem pub = make_cert("public.test", &pki.ca);
  tls::EchKeyPairPem keys = *tls::generate_ech_keypair("public.test", 7);

  TlsServerOptions server(bool ech = true) {
    TlsServerOptions so = server_options(pki.leaf);
    TlsCertificateOptions p;
    p.server_name = {"public.test"};
    p.certificate = pub.certificate;
    p.key = pub.private_key;
    so.sni_certificates.push_back(p);
    if (ech) {
      so.ech.enabled = true;
      so.ech.key = keys.keys;
    }
    return so;
  }
  TlsClientOptions client(const std::string& configs) {
    TlsClientOptions co = client_options(pki.ca.certificate, "secret.test");
    co.ech.enabled = true;
    co.ech.config = configs;
    return co;
  }
};

}  // namespace

TEST_CASE("ECH keypair layout matches sing-box's", "[transport][ech]") {
  uint8_t priv[32];
  for (int i = 0; i < 32; ++i) priv[i] = static_cast<uint8_t>(i + 1);
  auto kp = tls::generate_ech_keypair("public.example", 0, priv);
  REQUIRE(kp);
  auto list = list_of(*kp);
  REQUIRE(list.size() == 75);  // ech.md 8: 3-suite layout, config_id 0
  CHECK(list[0] == 0x00);
  CHECK(list[1] == 0x49);
  auto cfgs = tls::parse_ech_config_list(list, nullptr);
  REQUIRE(cfgs);
  REQUIRE(cfgs->size() == 1);
  const auto& c = (*cfgs)[0];
  CHECK(c.version == 0xfe0d);
  CHECK(c.kem_id == 0x0020);
  CHECK(c.public_name == "public.example");
  CHECK(c.suites.size() == 3);
  // The public key for private key 01..20 (ech.md 8).
  const uint8_t expect[4] = {0x07, 0xa3, 0x7c, 0xbc};
  CHECK(std::equal(expect, expect + 4, c.public_key.begin()));
  auto keys = tls::parse_ech_keys(kp->keys, nullptr);
  REQUIRE(keys);
  CHECK(keys->size() == 1);
  CHECK((*keys)[0].config == c.raw);
  CHECK_FALSE(tls::generate_ech_keypair("1.2.3.4"));
}

TEST_CASE("ECH config lists: Cloudflare vector, malformed, wrong KEM", "[transport][ech]") {
  auto cf = tls::ech_config_list_from_text(
      "AEX+DQBBrAAgACCInfIgdvp+"
      "4xqPkMYvPt1Rv7zxtllWm3SjIjWxBoEgfAAEAAEAAQASY2xvdWRmbGFyZS1lY2guY29tAAA=",
      nullptr);
  REQUIRE(cf);
  auto parsed = tls::parse_ech_config_list(*cf, nullptr);
  REQUIRE(parsed);
  CHECK((*parsed)[0].config_id == 0xac);
  CHECK((*parsed)[0].public_name == "cloudflare-ech.com");
  CHECK(tls::filter_ech_config_list(*cf, nullptr));

  std::string why;
  std::vector<uint8_t> bad = *cf;
  bad[1] += 1;  // list length off by one
  CHECK(tls::parse_ech_config_list(bad, &why).error() == Errc::malformed);
  CHECK_FALSE(why.empty());
  bad = *cf;
  bad.resize(20);
  CHECK_FALSE(tls::parse_ech_config_list(bad, nullptr));
  CHECK_FALSE(tls::ech_config_list_from_text(
      "-----BEGIN ECH CONFIGS-----\nAAA=\n-----END ECH CONFIGS-----\nx", &why));
  CHECK_THAT(why, Catch::Contains("after the PEM block"));

  // KEM 0x0010 (P-256) only: nothing usable. BoringSSL would reject the
  // whole list; the filter says why instead.
  std::vector<uint8_t> p256 = *cf;
  p256[7] = 0x00;
  p256[8] = 0x10;
  CHECK(tls::filter_ech_config_list(p256, &why).error() == Errc::not_supported);
  CHECK_THAT(why, Catch::Contains("no usable ECH config"));
  // Both entries in one list: the X25519 one survives.
  std::vector<uint8_t> both = {0, 0};
  both.insert(both.end(), p256.begin() + 2, p256.end());
  both.insert(both.end(), cf->begin() + 2, cf->end());
  both[0] = static_cast<uint8_t>((both.size() - 2) >> 8);
  both[1] = static_cast<uint8_t>(both.size() - 2);
  auto f = tls::filter_ech_config_list(both, nullptr);
  REQUIRE(f);
  CHECK(*f == *cf);
}

TEST_CASE("ECH accepted: the real SNI never appears in clear", "[transport][ech]") {
  EchRig rig;
  Pair p(client_ctx(rig.client(rig.keys.configs)), server_ctx(rig.server()));
  auto [pc, ps] = p.handshake();
  INFO(p.client->failure_reason());
  REQUIRE(pc == HandshakeProgress::done);
  CHECK(p.client->ech_accepted());
  CHECK(p.server->ech_accepted());
  CHECK(p.server->server_name() == "secret.test");  // the inner SNI
  CHECK(p.client_hello.find("secret.test") == std::string::npos);
  CHECK(p.client_hello.find("public.test") != std::string::npos);
}

TEST_CASE("ECH rejected with retry configs (rotated keys), then accepted", "[transport][ech]") {
  EchRig rig;
  auto old_keys = *tls::generate_ech_keypair("public.test", 7);
  auto cctx = client_ctx(rig.client(old_keys.configs));
  auto sctx = server_ctx(rig.server());
  std::vector<uint8_t> retry;
  {
    Pair p(cctx, sctx);
    auto [pc, ps] = p.handshake();
    REQUIRE(pc == HandshakeProgress::failed);
    CHECK(p.client->error() == Errc::ech_rejected);
    CHECK(p.client_hello.find("secret.test") == std::string::npos);
    retry = p.client->ech_retry_configs();
    REQUIRE_FALSE(retry.empty());
    CHECK(retry == sctx->ech_retry_configs());
  }
  tls::TlsClientParams prm;
  prm.ech_config_list = *tls::filter_ech_config_list(retry, nullptr);
  Pair p(cctx, sctx, std::move(prm));
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  CHECK(p.client->ech_accepted());
}

TEST_CASE("ECH rejected without retry configs fails, never falls back", "[transport][ech]") {
  EchRig rig;
  Pair p(client_ctx(rig.client(rig.keys.configs)), server_ctx(rig.server(false)));
  auto [pc, ps] = p.handshake();
  REQUIRE(pc == HandshakeProgress::failed);
  CHECK(p.client->error() == Errc::ech_rejected);
  CHECK(p.client->ech_retry_configs().empty());
  CHECK_THAT(p.client->failure_reason(), Catch::Contains("without retry configs"));
  CHECK(p.client_hello.find("secret.test") == std::string::npos);
}

TEST_CASE("ECH GREASE: an extension is sent, the handshake is plain", "[transport][ech]") {
  EchRig rig;
  TlsClientOptions co = client_options(rig.pki.ca.certificate, "secret.test");
  co.ech.enabled = true;
  co.ech.grease = true;
  Pair p(client_ctx(co), server_ctx(rig.server()));
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  CHECK_FALSE(p.client->ech_accepted());
  const std::string ext("\xfe\x0d", 2);
  CHECK(p.client_hello.find(ext) != std::string::npos);
}
