// fuzz/tls13_handshake_fuzz.cpp: the TLS 1.3 handshake decoders and the
// client state machine on arbitrary bytes.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// 1. The input is split into handshake messages and each is given to every
//    decoder; results must be well formed (consumed within bounds, failures
//    naming an alert other than close_notify). A CompressedCertificate whose
//    declared length is within the client's 64 KiB default cap is also
//    brotli-decoded (bounded) and the result parsed as a Certificate.
// 2. The input is fed, as the server's byte stream, to a client whose random
//    and X25519 key are RFC 8448 §3's: a corpus seeded with that trace's
//    server records reaches the encrypted states (EncryptedExtensions,
//    Certificate, CertificateVerify, Finished, tickets, application data);
//    RFC 8448 §5's HelloRetryRequest (secp256r1, cookie) as a seed reaches
//    the second ClientHello.
// 3. The same bytes, as the client's byte stream, go to a server (fixed
//    random, an ECDSA key, a ticket key and clock): a seed with RFC 8448 §3's
//    ClientHello reaches the server flight and the wait for the client
//    Finished; one with a pre_shared_key offer runs the ticket and binder
//    checks.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "../tests/unit/tls13/rfc8448_profile.hpp"
#include "crypto/brotli.hpp"
#include "crypto/signature.hpp"
#include "crypto/tls_keypair.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/messages.hpp"
#include "proto/tls13/server.hpp"

using namespace sluice;
using namespace sluice::tls13;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

void check(const Outcome& o) {
  if (!o) require(o.alert() != Alert::close_notify && o.what()[0] != '\0');
}

constexpr uint8_t kRandom[32] = {0xcb, 0x34, 0xec, 0xb1, 0xe7, 0x81, 0x63, 0xba, 0x1c, 0x38, 0xc6,
                                 0xda, 0xcb, 0x19, 0x6a, 0x6d, 0xff, 0xa2, 0x1a, 0x8d, 0x99, 0x12,
                                 0xec, 0x18, 0xa2, 0xef, 0x62, 0x83, 0x02, 0x4d, 0xec, 0xe7};
constexpr uint8_t kPrivate[32] = {0x49, 0xaf, 0x42, 0xba, 0x7f, 0x79, 0x94, 0x85, 0x2d, 0x71, 0x3e,
                                  0xf2, 0x78, 0x4b, 0xcb, 0xca, 0xa7, 0x91, 0x1d, 0xe2, 0x6a, 0xdc,
                                  0x56, 0x42, 0xcb, 0x63, 0x45, 0x40, 0xe7, 0xea, 0x50, 0x05};

void decode_all(std::span<const uint8_t> in) {
  while (!in.empty()) {
    auto r = next_handshake(in);
    if (!r.done()) {
      if (r.failed()) check(r.error);
      return;
    }
    require(r.consumed >= 4 && r.consumed <= in.size());
    const Bytes b = r.msg.body;
    ClientHello ch;
    check(parse_client_hello(b, r.msg.raw, ch));
    ServerHello sh;
    if (Outcome o = parse_server_hello(b, sh); o) {
      for (const auto& e : sh.extensions.all()) {
        KeyShareEntry k;
        uint16_t v = 0;
        check(parse_server_key_share(e.data, k));
        check(parse_hrr_key_share(e.data, v));
        check(parse_server_supported_version(e.data, v));
      }
    }
    for (const auto& e : ch.extensions.all()) {
      std::array<KeyShareEntry, kMaxKeyShares> shares;
      size_t n = 0;
      Bytes list;
      check(parse_client_key_shares(e.data, shares, n));
      require(n <= kMaxKeyShares);
      check(parse_u16_list(e.data, 1, list));
      check(parse_u16_list(e.data, 2, list));
      OfferedPsks psks;
      if (Outcome o = parse_offered_psks(e.data, psks); o) {
        require(psks.count >= 1 && psks.binders_len <= e.data.size());
      } else {
        check(o);
      }
    }
    ExtensionList ee;
    check(parse_encrypted_extensions(b, ee));
    Certificate cert;
    check(parse_certificate(b, cert));
    require(cert.count <= kMaxCertificates);
    CompressedCertificate cc;
    check(parse_compressed_certificate(b, cc));
    if (parse_compressed_certificate(b, cc) && cc.uncompressed_length > 0 &&
        cc.uncompressed_length <= 64 * 1024) {
      std::vector<uint8_t> plain(cc.uncompressed_length);
      if (crypto::brotli_decompress_exact(cc.compressed, plain)) {
        check(parse_certificate(plain, cert));
        require(cert.count <= kMaxCertificates);
      }
    }
    CertificateVerify cv;
    check(parse_certificate_verify(b, cv));
    Bytes fin;
    check(parse_finished(b, 32, fin));
    check(parse_finished(b, 48, fin));
    NewSessionTicket t;
    check(parse_new_session_ticket(b, t));
    bool req = false;
    check(parse_key_update(b, req));
    in = in.subspan(r.consumed);
  }
}

void run_client(std::span<const uint8_t> in) {
  ClientConfig cfg;
  cfg.profile = &test::rfc8448::kProfile;
  cfg.server_name = "server";
  cfg.alpn.clear();
  cfg.key_shares = KeySharePolicy::x25519_only;
  int draws = 0;
  cfg.random = [&draws](std::span<uint8_t> out) {
    if (out.size() == 32) {
      std::memcpy(out.data(), draws++ == 0 ? kRandom : kPrivate, 32);
    } else if (!out.empty()) {  // the empty session id: data() may be null
      std::memset(out.data(), 0, out.size());
    }
  };
  cfg.verifier = [](std::span<const CertificateEntry>, std::string_view) {
    return Outcome::success();
  };
  Client c(cfg);
  require(c.start().ok());
  c.drain(c.output().size());
  // Split the input in two at a point the input's first byte chooses, so
  // record and message reassembly are exercised too.
  const size_t cut = in.empty() ? 0 : in[0] % (in.size() + 1);
  Outcome o = c.receive(in.first(cut));
  check(o);
  if (o) check(c.receive(in.subspan(cut)));
  if (c.connected()) {
    const uint8_t data[3] = {1, 2, 3};
    require(c.send(data).has_value());
    (void)c.take_application_data();
    require(c.request_key_update().has_value());
  }
  if (c.failed()) require(!c.error().ok());
}

std::shared_ptr<const crypto::SigningKey> server_key() {
  static const std::shared_ptr<const crypto::SigningKey> key = [] {
    auto pem = tls::generate_certificate(tls::CertificateRequest{});
    require(pem.has_value());
    auto k = crypto::SigningKey::from_pem(pem->private_key);
    require(k.has_value());
    return std::make_shared<const crypto::SigningKey>(std::move(*k));
  }();
  return key;
}

void run_server(std::span<const uint8_t> in) {
  ServerConfig cfg;
  cfg.certificate_chain = {std::vector<uint8_t>{0x30, 0x03, 0x02, 0x01, 0x00}};  // never parsed
  cfg.key = server_key();
  cfg.groups = {kGroupX25519Mlkem768, kGroupX25519, kGroupSecp256r1};
  cfg.alpn = {"h2", "http/1.1"};
  cfg.ticket_key = std::vector<uint8_t>(32, 0x5a);
  cfg.now_ms = [] { return uint64_t{1'800'000'000'000}; };
  cfg.random = [](std::span<uint8_t> out) {
    if (out.empty()) return;
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(0x42 + i);
  };
  Server s(cfg);
  const size_t cut = in.empty() ? 0 : in[0] % (in.size() + 1);
  Outcome o = s.receive(in.first(cut));
  check(o);
  if (o) check(s.receive(in.subspan(cut)));
  if (s.connected()) {
    const uint8_t data[3] = {1, 2, 3};
    require(s.send(data).has_value());
    (void)s.take_application_data();
  }
  if (s.failed()) require(!s.error().ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  decode_all(in);
  if (size > 0) run_client(in.subspan(1));
  if (size > 0) run_server(in.subspan(1));
  return 0;
}
