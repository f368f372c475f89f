// RFC 8448 §3 reproduced through the engine's codec, key schedule and record
// layer: every secret, key and protected record of the simple 1-RTT trace,
// byte for byte, from the client's and the server's side.
#include <catch2/catch.hpp>

#include <vector>

#include "proto/tls13/key_schedule.hpp"
#include "proto/tls13/messages.hpp"
#include "proto/tls13/record.hpp"
#include "sluice/buffer.hpp"
#include "sluice/cipher.hpp"
#include "support/hex.hpp"
#include "unit/tls13/rfc8448_vectors.hpp"

using namespace sluice;
using namespace sluice::tls13;
using test::hex;
using test::to_hex;
namespace v = sluice::test::rfc8448;

namespace {

std::string hx(std::span<const uint8_t> b) { return to_hex(b); }
std::string hx(const char* s) { return to_hex(hex(s)); }

Slice slice_of(BufferPool& pool, std::span<const uint8_t> b) {
  auto s = pool.get(b.size());
  REQUIRE(s.has_value());
  std::memcpy(s->append(b.size()), b.data(), b.size());
  return std::move(*s);
}

std::vector<uint8_t> sha256(std::span<const uint8_t> m) {
  std::vector<uint8_t> h(32);
  REQUIRE(Digest::hash(DigestAlgorithm::sha256, m, h).has_value());
  return h;
}

// Trace state shared by the sections, recomputed from the trace's inputs.
struct Trace {
  const CipherSuite& suite = *find_cipher_suite(kTlsAes128GcmSha256);
  std::vector<uint8_t> ch = hex(v::kClientHello);
  std::vector<uint8_t> sh_record = hex(v::kServerHelloRecord);
  std::vector<uint8_t> transcript;
  KeySchedule ks{suite};
};

}  // namespace

TEST_CASE("RFC 8448 1-RTT: ClientHello decodes and re-encodes to the same bytes",
          "[tls13][rfc8448]") {
  const auto ch = hex(v::kClientHello);
  auto h = next_handshake(ch);
  REQUIRE(h.state == ParseState::done);
  REQUIRE(h.consumed == ch.size());
  REQUIRE(h.msg.type == HandshakeType::client_hello);
  ClientHello hello;
  REQUIRE(parse_client_hello(h.msg.body, h.msg.raw, hello).ok());
  CHECK(hello.legacy_version == kTls12);
  CHECK(hello.legacy_session_id.empty());
  CHECK(hx(hello.cipher_suites) == "130113031302");
  REQUIRE(hello.extensions.count == 9);
  CHECK(hello.raw.size() == 196);

  const Extension* ks = hello.extensions.find(ext::key_share);
  REQUIRE(ks != nullptr);
  std::array<KeyShareEntry, kMaxKeyShares> shares;
  size_t n = 0;
  REQUIRE(parse_client_key_shares(ks->data, shares, n).ok());
  REQUIRE(n == 1);
  CHECK(shares[0].group == kGroupX25519);
  CHECK(hx(shares[0].key_exchange) == hx(v::kClientPublic));

  Bytes versions;
  REQUIRE(parse_u16_list(hello.extensions.find(ext::supported_versions)->data, 1, versions).ok());
  CHECK(hx(versions) == "0304");
  Bytes sigalgs;
  REQUIRE(parse_u16_list(hello.extensions.find(ext::signature_algorithms)->data, 2, sigalgs).ok());
  CHECK(sigalgs.size() == 30);

  ClientHelloFields f;
  std::copy(hello.random.begin(), hello.random.end(), f.random.begin());
  for (size_t i = 0; i < hello.cipher_suites.size(); i += 2)
    f.cipher_suites.push_back(
        static_cast<uint16_t>(hello.cipher_suites[i] << 8 | hello.cipher_suites[i + 1]));
  for (const auto& e : hello.extensions.all())
    f.extensions.emplace_back(e.type, std::vector<uint8_t>(e.data.begin(), e.data.end()));
  std::vector<uint8_t> again;
  REQUIRE(encode_client_hello(f, again));
  CHECK(hx(again) == hx(ch));
}

TEST_CASE("RFC 8448 1-RTT: full trace through key schedule and record layer", "[tls13][rfc8448]") {
  BufferPool pool;
  Trace t;

  // ServerHello: plaintext record framing, decode, shared secret both ways.
  auto rec = next_record(t.sh_record, false);
  REQUIRE(rec.state == ParseState::done);
  REQUIRE(rec.record.type == ContentType::handshake);
  REQUIRE(rec.consumed == t.sh_record.size());
  auto h = next_handshake(rec.record.body);
  REQUIRE(h.state == ParseState::done);
  REQUIRE(h.msg.type == HandshakeType::server_hello);
  ServerHello sh;
  REQUIRE(parse_server_hello(h.msg.body, sh).ok());
  CHECK_FALSE(sh.is_hello_retry_request);
  CHECK(sh.cipher_suite == kTlsAes128GcmSha256);
  uint16_t version = 0;
  REQUIRE(parse_server_supported_version(sh.extensions.find(ext::supported_versions)->data, version)
              .ok());
  CHECK(version == kTls13);
  KeyShareEntry share;
  REQUIRE(parse_server_key_share(sh.extensions.find(ext::key_share)->data, share).ok());
  CHECK(share.group == kGroupX25519);
  CHECK(hx(share.key_exchange) == hx(v::kServerPublic));

  std::array<uint8_t, 32> ecdhe{}, ecdhe2{};
  REQUIRE(x25519(hex(v::kClientPrivate), share.key_exchange, ecdhe).has_value());
  REQUIRE(x25519(hex(v::kServerPrivate), hex(v::kClientPublic), ecdhe2).has_value());
  CHECK(hx(ecdhe) == hx(v::kEcdhe));
  CHECK(hx(ecdhe2) == hx(v::kEcdhe));

  t.transcript = t.ch;
  t.transcript.insert(t.transcript.end(), h.msg.raw.begin(), h.msg.raw.end());
  const auto hello_hash = sha256(t.transcript);
  CHECK(hx(hello_hash) == hx(v::kHelloHash));

  REQUIRE(t.ks.early({}).has_value());
  CHECK(hx(t.ks.early_secret().span()) == hx(v::kEarlySecret));
  REQUIRE(t.ks.handshake(ecdhe, hello_hash).has_value());
  CHECK(hx(t.ks.handshake_secret().span()) == hx(v::kHandshakeSecret));
  CHECK(hx(t.ks.client_handshake_traffic().span()) == hx(v::kClientHsTraffic));
  CHECK(hx(t.ks.server_handshake_traffic().span()) == hx(v::kServerHsTraffic));

  TrafficKeys keys;
  REQUIRE(derive_traffic_keys(t.suite, t.ks.server_handshake_traffic().span(), keys).has_value());
  CHECK(hx(keys.key_span()) == hx(v::kServerHsKey));
  CHECK(hx(keys.iv) == hx(v::kServerHsIv));
  REQUIRE(derive_traffic_keys(t.suite, t.ks.client_handshake_traffic().span(), keys).has_value());
  CHECK(hx(keys.key_span()) == hx(v::kClientHsKey));
  CHECK(hx(keys.iv) == hx(v::kClientHsIv));

  // Client side: open the server's protected flight and walk its messages.
  RecordProtection client_read, server_write;
  REQUIRE(client_read.init(t.suite, t.ks.server_handshake_traffic().span()).has_value());
  REQUIRE(server_write.init(t.suite, t.ks.server_handshake_traffic().span()).has_value());
  const auto flight_wire = hex(v::kServerFlightRecord);
  auto fr = next_record(flight_wire, true);
  REQUIRE(fr.state == ParseState::done);
  REQUIRE(fr.consumed == flight_wire.size());
  Slice flight = slice_of(pool, flight_wire);
  ContentType type{};
  Outcome o = client_read.open(flight, type);
  INFO(o.what());
  REQUIRE(o.ok());
  REQUIRE(type == ContentType::handshake);
  CHECK(client_read.sequence() == 1);
  const std::vector<uint8_t> flight_plain(flight.data(), flight.data() + flight.size());

  std::span<const uint8_t> rest(flight_plain);
  const HandshakeType expect[] = {HandshakeType::encrypted_extensions, HandshakeType::certificate,
                                  HandshakeType::certificate_verify, HandshakeType::finished};
  std::vector<uint8_t> server_finished_msg;
  for (HandshakeType want : expect) {
    auto m = next_handshake(rest);
    REQUIRE(m.state == ParseState::done);
    REQUIRE(m.msg.type == want);
    if (want == HandshakeType::encrypted_extensions) {
      ExtensionList ee;
      REQUIRE(parse_encrypted_extensions(m.msg.body, ee).ok());
      CHECK(ee.count == 3);
    } else if (want == HandshakeType::certificate) {
      Certificate cert;
      REQUIRE(parse_certificate(m.msg.body, cert).ok());
      CHECK(cert.count == 1);
      CHECK(cert.request_context.empty());
      CHECK(cert.entries[0].cert_data.size() == 432);
    } else if (want == HandshakeType::certificate_verify) {
      CertificateVerify cv;
      REQUIRE(parse_certificate_verify(m.msg.body, cv).ok());
      CHECK(cv.scheme == kSigRsaPssRsaeSha256);
      CHECK(cv.signature.size() == 128);
    } else {
      Bytes verify;
      REQUIRE(parse_finished(m.msg.body, t.suite.hash_len(), verify).ok());
      Secret expected;
      REQUIRE(finished_verify_data(t.suite, t.ks.server_handshake_traffic().span(),
                                   sha256(t.transcript), expected)
                  .has_value());
      CHECK(hx(verify) == hx(expected.span()));
      server_finished_msg.assign(m.msg.raw.begin(), m.msg.raw.end());
    }
    t.transcript.insert(t.transcript.end(), m.msg.raw.begin(), m.msg.raw.end());
    rest = rest.subspan(m.consumed);
  }
  CHECK(rest.empty());

  // Server side: sealing the same plaintext yields the trace's record.
  Slice reseal = slice_of(pool, flight_plain);
  REQUIRE(server_write.seal(reseal, ContentType::handshake).has_value());
  CHECK(hx(reseal.span()) == hx(flight_wire));

  const auto server_finished_hash = sha256(t.transcript);
  CHECK(hx(server_finished_hash) == hx(v::kServerFinishedHash));
  REQUIRE(t.ks.master(server_finished_hash).has_value());
  CHECK(hx(t.ks.master_secret().span()) == hx(v::kMasterSecret));
  CHECK(hx(t.ks.client_application_traffic().span()) == hx(v::kClientApTraffic));
  CHECK(hx(t.ks.server_application_traffic().span()) == hx(v::kServerApTraffic));
  CHECK(hx(t.ks.exporter_master().span()) == hx(v::kExporterMaster));
  REQUIRE(derive_traffic_keys(t.suite, t.ks.server_application_traffic().span(), keys).has_value());
  CHECK(hx(keys.key_span()) == hx(v::kServerApKey));
  CHECK(hx(keys.iv) == hx(v::kServerApIv));

  // Client Finished: computed, encoded and sealed equals the trace's record.
  Secret client_verify;
  REQUIRE(finished_verify_data(t.suite, t.ks.client_handshake_traffic().span(),
                               server_finished_hash, client_verify)
              .has_value());
  std::vector<uint8_t> cfin;
  REQUIRE(encode_finished(client_verify.span(), cfin));
  RecordProtection client_hs_write, server_hs_read;
  REQUIRE(client_hs_write.init(t.suite, t.ks.client_handshake_traffic().span()).has_value());
  REQUIRE(server_hs_read.init(t.suite, t.ks.client_handshake_traffic().span()).has_value());
  Slice cfin_rec = slice_of(pool, cfin);
  REQUIRE(client_hs_write.seal(cfin_rec, ContentType::handshake).has_value());
  CHECK(hx(cfin_rec.span()) == hx(v::kClientFinishedRecord));
  // ...and the server opens it back.
  Slice cfin_in = slice_of(pool, hex(v::kClientFinishedRecord));
  REQUIRE(server_hs_read.open(cfin_in, type).ok());
  CHECK(type == ContentType::handshake);
  CHECK(hx(cfin_in.span()) == hx(cfin));
  t.transcript.insert(t.transcript.end(), cfin.begin(), cfin.end());
  REQUIRE(t.ks.resumption(sha256(t.transcript)).has_value());

  // Application epoch, both directions.
  RecordProtection c_write, c_read, s_write, s_read;
  REQUIRE(c_write.init(t.suite, t.ks.client_application_traffic().span()).has_value());
  REQUIRE(s_read.init(t.suite, t.ks.client_application_traffic().span()).has_value());
  REQUIRE(s_write.init(t.suite, t.ks.server_application_traffic().span()).has_value());
  REQUIRE(c_read.init(t.suite, t.ks.server_application_traffic().span()).has_value());

  // NewSessionTicket (server seq 0).
  Slice nst = slice_of(pool, hex(v::kNewSessionTicketRecord));
  REQUIRE(c_read.open(nst, type).ok());
  REQUIRE(type == ContentType::handshake);
  const std::vector<uint8_t> nst_plain(nst.data(), nst.data() + nst.size());
  auto nm = next_handshake(nst_plain);
  REQUIRE(nm.state == ParseState::done);
  REQUIRE(nm.msg.type == HandshakeType::new_session_ticket);
  NewSessionTicket ticket;
  REQUIRE(parse_new_session_ticket(nm.msg.body, ticket).ok());
  CHECK(ticket.lifetime == 30);
  CHECK(hx(ticket.nonce) == "0000");
  CHECK(ticket.ticket.size() == 178);
  REQUIRE(ticket.extensions.count == 1);
  CHECK(ticket.extensions.items[0].type == ext::early_data);
  Secret psk;
  REQUIRE(t.ks.ticket_psk(ticket.nonce, psk).has_value());
  CHECK(psk.len == 32);
  Slice nst_again = slice_of(pool, nst_plain);
  REQUIRE(s_write.seal(nst_again, ContentType::handshake).has_value());
  CHECK(hx(nst_again.span()) == hx(v::kNewSessionTicketRecord));

  std::vector<uint8_t> payload(50);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i);

  Slice capp = slice_of(pool, payload);
  REQUIRE(c_write.seal(capp, ContentType::application_data).has_value());
  CHECK(hx(capp.span()) == hx(v::kClientAppRecord));
  REQUIRE(s_read.open(capp, type).ok());
  CHECK(type == ContentType::application_data);
  CHECK(hx(capp.span()) == hx(payload));

  Slice sapp = slice_of(pool, payload);
  REQUIRE(s_write.seal(sapp, ContentType::application_data).has_value());
  CHECK(hx(sapp.span()) == hx(v::kServerAppRecord));
  REQUIRE(c_read.open(sapp, type).ok());
  CHECK(hx(sapp.span()) == hx(payload));

  const std::vector<uint8_t> close_notify = {1, 0};
  Slice calert = slice_of(pool, close_notify);
  REQUIRE(c_write.seal(calert, ContentType::alert).has_value());
  CHECK(hx(calert.span()) == hx(v::kClientAlertRecord));
  Slice salert = slice_of(pool, close_notify);
  REQUIRE(s_write.seal(salert, ContentType::alert).has_value());
  CHECK(hx(salert.span()) == hx(v::kServerAlertRecord));
  REQUIRE(c_read.open(salert, type).ok());
  CHECK(type == ContentType::alert);
  CHECK(hx(salert.span()) == "0100");
}
