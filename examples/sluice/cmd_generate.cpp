// cmd_generate.cpp: `sluice generate`, key material for configs.
//
//   sluice generate tls-keypair <name> -o <dir> [--days N]
//       a private CA and a P-256 leaf certificate it issued for <name> (DNS
//       name or IP address, also the subjectAltName), written as
//       <dir>/cert.pem (the leaf, for the server's certificate_path),
//       <dir>/key.pem (its key, mode 0600, the server's key_path) and
//       <dir>/ca.pem (the CA, which clients trust with certificate_path).
//       The CA's key is not kept: it signs this one leaf and is discarded,
//       so the CA cannot vouch for anything else. Existing files are not
//       overwritten. Prints the file names and the leaf's two pin forms
//       (certificate_public_key_sha256, and certificate_sha256 / pinSHA256)
//       for clients that pin instead.
//   sluice generate ech-keypair <public_name>
//       an "ECH CONFIGS" block for clients (tls.ech.config) and the matching
//       "ECH KEYS" block for the server (tls.ech.key), as sing-box prints them
//   sluice generate reality-keypair [--short-ids N]
//       an X25519 key pair for REALITY as sing-box prints it ("PrivateKey:"
//       for the server's tls.reality.private_key, "PublicKey:" for the
//       clients' public_key) and N (default 1, at most 16) random 8-byte
//       short ids ("ShortId:") for short_id
//   sluice generate uuid [name]
//       a random (version 4) UUID for a VLESS user, as sing-box prints one;
//       with a name of 1-30 characters, the UUIDv5 VLESS maps it to
//       (vless.md section 2, `xray uuid -i name`)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "commands.hpp"
#include "crypto/tls_ech.hpp"
#include "crypto/tls_keypair.hpp"
#include "crypto/tls_verify.hpp"
#include "proto/reality/auth.hpp"
#include "proto/vless/user_id.hpp"
#include "sluice/cipher.hpp"

namespace sluice::cli {

namespace {
int usage() {
  std::fprintf(stderr,
               "usage: sluice generate tls-keypair <name> -o <dir> [--days N]\n"
               "       sluice generate ech-keypair <public_name>\n"
               "       sluice generate reality-keypair [--short-ids N]\n"
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
int generate_reality_keypair(int argc, char** argv) {
  int short_ids = 1;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--short-ids") == 0 && i + 1 < argc) {
      char* end = nullptr;
      const long n = std::strtol(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0' || n < 0 || n > 16) {
        std::fprintf(stderr, "sluice generate: --short-ids takes 0..16, got \"%s\"\n", argv[i]);
        return 2;
      }
      short_ids = static_cast<int>(n);
    } else {
      std::fprintf(stderr, "sluice generate: unexpected argument \"%s\"\n", argv[i]);
      return 2;
    }
  }
  reality::Key priv{};
  random_bytes(priv);
  std::printf("PrivateKey: %s\n", reality::encode_key(priv).c_str());
  std::printf("PublicKey: %s\n", reality::encode_key(reality::public_key_of(priv)).c_str());
  secure_wipe(priv);
  for (int i = 0; i < short_ids; ++i) {
    reality::ShortId id{};
    random_bytes(id);
    std::printf("ShortId: ");
    for (uint8_t b : id) std::printf("%02x", b);
    std::printf("\n");
  }
  return 0;
}

// write_new_file creates |path| with |mode| (failing if it exists) and
// writes |text| to it.
bool write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    std::fprintf(stderr, "sluice generate: %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "sluice generate: %s: %s\n", path.c_str(), std::strerror(errno));
      ::close(fd);
      ::unlink(path.c_str());
      return false;
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    std::fprintf(stderr, "sluice generate: %s: %s\n", path.c_str(), std::strerror(errno));
    ::unlink(path.c_str());
    return false;
  }
  return true;
}

int generate_tls_keypair(const std::string& name, int argc, char** argv) {
  std::string dir;
  int64_t days = 365;
  for (int i = 3; i < argc; ++i) {
    const std::string_view a = argv[i];
    if ((a == "-o" || a == "--out") && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--days" && i + 1 < argc) {
      char* end = nullptr;
      days = std::strtoll(argv[++i], &end, 10);
      if (end == nullptr || *end != '\0' || days < 1 || days > 36500) {
        std::fprintf(stderr, "sluice generate: --days takes 1..36500, got \"%s\"\n", argv[i]);
        return 2;
      }
    } else {
      std::fprintf(stderr, "sluice generate: unexpected argument \"%s\"\n", argv[i]);
      return usage();
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr,
                 "sluice generate tls-keypair: give -o <dir> for the key and certificates\n");
    return usage();
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "sluice generate: %s: %s\n", dir.c_str(), std::strerror(errno));
    return 1;
  }
  tls::CertificateRequest ca_req;
  // A subject of its own (a CA named like its leaf would look self-issued),
  // also a well-formed DNS name, since it lands in the CA's subjectAltName
  // too and strict parsers (Go's) refuse malformed ones.
  ca_req.name = "sluice-ca-for-";
  for (char ch : name) {
    const bool ok =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    ca_req.name.push_back(ok ? ch : '-');
  }
  ca_req.is_ca = true;
  ca_req.not_after_s = days * 86400;
  auto ca = tls::generate_certificate(ca_req);
  if (!ca) {
    std::fprintf(stderr, "sluice generate: CA: %s\n", errc_message(ca.error()));
    return 1;
  }
  tls::CertificateRequest leaf_req;
  leaf_req.name = name;
  leaf_req.not_after_s = days * 86400;
  leaf_req.issuer_cert_pem = ca->certificate;
  leaf_req.issuer_key_pem = ca->private_key;
  auto leaf = tls::generate_certificate(leaf_req);
  if (!leaf) {
    std::fprintf(stderr, "sluice generate: certificate: %s\n", errc_message(leaf.error()));
    return 1;
  }
  auto pins = tls::leaf_pins_pem(leaf->certificate);
  if (!pins) {
    std::fprintf(stderr, "sluice generate: pins: %s\n", errc_message(pins.error()));
    return 1;
  }
  const std::string cert_path = dir + "/cert.pem";
  const std::string key_path = dir + "/key.pem";
  const std::string ca_path = dir + "/ca.pem";
  // The key first, so a failure never leaves a certificate without it.
  if (!write_new_file(key_path, leaf->private_key, 0600)) return 1;
  if (!write_new_file(cert_path, leaf->certificate, 0644)) {
    ::unlink(key_path.c_str());
    return 1;
  }
  if (!write_new_file(ca_path, ca->certificate, 0644)) {
    ::unlink(key_path.c_str());
    ::unlink(cert_path.c_str());
    return 1;
  }
  std::printf("server certificate_path: %s\n", cert_path.c_str());
  std::printf("server key_path:         %s\n", key_path.c_str());
  std::printf("client certificate_path: %s\n", ca_path.c_str());
  std::printf("certificate_public_key_sha256: %s\n", pins->second.c_str());
  std::printf("certificate_sha256: %s\n", pins->first.c_str());
  return 0;
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "uuid") == 0) return generate_uuid(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "reality-keypair") == 0)
    return generate_reality_keypair(argc, argv);
  if (argc < 3) return usage();
  const std::string what = argv[1];
  const std::string name = argv[2];
  if (what == "tls-keypair") return generate_tls_keypair(name, argc, argv);
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
