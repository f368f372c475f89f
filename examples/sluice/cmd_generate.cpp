// cmd_generate.cpp: `sluice generate`, key material for configs.
//
//   sluice generate tls-keypair <name> [--days N]
//       a self-signed ECDSA P-256 certificate for <name> (DNS name or IP)
//       and its key, PEM, plus both pin forms for clients
//   sluice generate ech-keypair <public_name>
//       an "ECH CONFIGS" block for clients (tls.ech.config) and the matching
//       "ECH KEYS" block for the server (tls.ech.key), as sing-box prints them
//   sluice generate uuid [name]
//       a random (version 4) UUID for a VLESS user, as sing-box prints one;
//       with a name of 1-30 characters, the UUIDv5 VLESS maps it to
//       (vless.md section 2, `xray uuid -i name`)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "commands.hpp"
#include "crypto/tls_ech.hpp"
#include "crypto/tls_keypair.hpp"
#include "crypto/tls_verify.hpp"
#include "proto/vless/user_id.hpp"
#include "sluice/cipher.hpp"

namespace sluice::cli {

namespace {
int usage() {
  std::fprintf(stderr,
               "usage: sluice generate tls-keypair <name> [--days N]\n"
               "       sluice generate ech-keypair <public_name>\n"
               "       sluice generate uuid [name]\n");
  return 2;
}

int generate_uuid(int argc, char** argv) {
  vless::UserId id;
  if (argc >= 3) {
    const std::string_view name = argv[2];
    if (name.empty() || name.size() > 30) {
      std::fprintf(stderr, "sluice generate uuid: a name has 1-30 characters\n");
      return 1;
    }
    id = vless::uuid_v5_nil(name);
  } else {
    random_bytes(id);
    id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x40);  // version 4
    id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);  // RFC 4122 variant
  }
  std::printf("%s\n", vless::format_user_id(id).c_str());
  return 0;
}
}  // namespace

int cmd_generate(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "uuid") == 0) return generate_uuid(argc, argv);
  if (argc < 3) return usage();
  const std::string what = argv[1];
  const std::string name = argv[2];
  if (what == "tls-keypair") {
    tls::CertificateRequest req;
    req.name = name;
    for (int i = 3; i + 1 < argc; ++i)
      if (std::strcmp(argv[i], "--days") == 0) req.not_after_s = std::atoll(argv[i + 1]) * 86400;
    auto kp = tls::generate_certificate(req);
    if (!kp) {
      std::fprintf(stderr, "sluice generate: %s\n", errc_message(kp.error()));
      return 1;
    }
    std::fputs(kp->private_key.c_str(), stdout);
    std::fputs(kp->certificate.c_str(), stdout);
    if (auto pins = tls::leaf_pins_pem(kp->certificate)) {
      std::fprintf(stderr, "certificate_sha256 (pinSHA256): %s\n", pins->first.c_str());
      std::fprintf(stderr, "certificate_public_key_sha256: %s\n", pins->second.c_str());
    }
    return 0;
  }
  if (what == "ech-keypair") {
    auto kp = tls::generate_ech_keypair(name);
    if (!kp) {
      std::fprintf(stderr, "sluice generate: \"%s\" is not a valid DNS public name\n",
                   name.c_str());
      return 1;
    }
    std::fputs(kp->configs.c_str(), stdout);
    std::fputs(kp->keys.c_str(), stdout);
    return 0;
  }
  return usage();
}

}  // namespace sluice::cli
