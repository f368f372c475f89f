// Compares sluice's chrome-profile ClientHello with a genuine one recorded
// from Debian's chromium (tests/data/client_hello, written by
// scripts/capture-client-hello) field by field, then by JA3 and JA4
// (fingerprint.hpp). GREASE values and the per-connection extension order
// are random in both, so lists are compared with GREASE positions kept and
// values masked, and extension sets rather than sequences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "proto/tls13/client.hpp"
#include "support/hex.hpp"
#include "unit/tls13/fingerprint.hpp"

using namespace sluice;
using namespace sluice::tls13;
using test::to_hex;

namespace {

using Vec = std::vector<uint8_t>;

constexpr const char* kChromiumCapture = SLUICE_CLIENT_HELLO_DIR "/chromium-156.0.8078.129.bin";
constexpr const char* kFirefoxCapture = SLUICE_CLIENT_HELLO_DIR "/firefox-153.8.0esr.bin";
constexpr const char* kCaptureHost = "capture.sluice.test";

Vec read_file(const char* path) {
  std::ifstream f(path, std::ios::binary);
  INFO(path);
  REQUIRE(f.good());
  return Vec(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

struct Hello {
  Vec records;  // as on the wire
  Vec msg;      // the handshake message
  ClientHello ch;
};

// parse_records takes the hello's TLS records (handshake, legacy version
// 0x0301) and parses the message they carry.
void parse_records(Hello& h) {
  size_t at = 0;
  while (at < h.records.size()) {
    REQUIRE(h.records.size() - at >= kRecordHeaderLen);
    CHECK(h.records[at] == 22);
    CHECK(h.records[at + 1] == 0x03);
    CHECK(h.records[at + 2] == 0x01);
    const size_t len = size_t{h.records[at + 3]} << 8 | h.records[at + 4];
    REQUIRE(h.records.size() - at - kRecordHeaderLen >= len);
    h.msg.insert(h.msg.end(), h.records.begin() + at + kRecordHeaderLen,
                 h.records.begin() + at + kRecordHeaderLen + len);
    at += kRecordHeaderLen + len;
  }
  auto p = next_handshake(h.msg);
  REQUIRE(p.done());
  REQUIRE(p.consumed == h.msg.size());
  REQUIRE(p.msg.type == HandshakeType::client_hello);
  REQUIRE(parse_client_hello(p.msg.body, p.msg.raw, h.ch).ok());
}

Hello captured(const char* path) {
  Hello h;
  h.records = read_file(path);
  parse_records(h);
  return h;
}

Hello sluice_chrome() {
  ClientConfig c;
  c.server_name = kCaptureHost;  // what the capture connected to
  c.verifier = [](std::span<const CertificateEntry>, std::string_view) {
    return Outcome::success();
  };
  Client client(std::move(c));
  REQUIRE(client.start().ok());
  Hello h;
  h.records.assign(client.output().begin(), client.output().end());
  parse_records(h);
  return h;
}

// masked: a u16 list with every GREASE value replaced by 0x0a0a.
std::vector<uint16_t> masked(Bytes b) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    const auto v = static_cast<uint16_t>(b[i] << 8 | b[i + 1]);
    out.push_back(is_grease(v) ? kGrease : v);
  }
  return out;
}

Bytes ext_body(const ClientHello& ch, uint16_t type) {
  const Extension* e = ch.extensions.find(type);
  INFO("extension " << type);
  REQUIRE(e != nullptr);
  return e->data;
}

std::vector<uint16_t> list_in(const ClientHello& ch, uint16_t type, int prefix) {
  Bytes list;
  REQUIRE(parse_u16_list(ext_body(ch, type), prefix, list).ok());
  return masked(list);
}

struct ShareShape {
  uint16_t group;
  size_t size;
  bool operator==(const ShareShape&) const = default;
};

std::vector<ShareShape> shares_of(const ClientHello& ch) {
  std::array<KeyShareEntry, kMaxKeyShares> shares;
  size_t n = 0;
  REQUIRE(parse_client_key_shares(ext_body(ch, ext::key_share), shares, n).ok());
  std::vector<ShareShape> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(
        {is_grease(shares[i].group) ? kGrease : shares[i].group, shares[i].key_exchange.size()});
  return out;
}

std::string join(const std::vector<uint16_t>& v) {
  std::string s;
  for (uint16_t x : v) s += std::to_string(x) + " ";
  return s;
}

}  // namespace

TEST_CASE("chrome profile matches the captured chromium ClientHello field by field",
          "[tls13][client][chrome][browser]") {
  const Hello want = captured(kChromiumCapture);
  const Hello got = sluice_chrome();
  const ClientHello& w = want.ch;
  const ClientHello& g = got.ch;

  CHECK(g.legacy_version == w.legacy_version);
  CHECK(g.legacy_session_id.size() == w.legacy_session_id.size());
  CHECK(to_hex(g.compression_methods) == to_hex(w.compression_methods));
  CHECK(join(masked(g.cipher_suites)) == join(masked(w.cipher_suites)));

  // Extensions: the same set; a GREASE extension first (empty) and last (one
  // zero byte), everything between permuted.
  const auto w_exts = test::extension_types(w);
  const auto g_exts = test::extension_types(g);
  CHECK(std::set<uint16_t>(g_exts.begin(), g_exts.end()) ==
        std::set<uint16_t>(w_exts.begin(), w_exts.end()));
  CHECK(g_exts.size() == w_exts.size());
  CHECK(g.extensions.count == w.extensions.count);
  for (const ClientHello* ch : {&w, &g}) {
    const auto all = ch->extensions.all();
    CHECK(is_grease(all.front().type));
    CHECK(all.front().data.empty());
    CHECK(is_grease(all.back().type));
    CHECK(to_hex(all.back().data) == "00");
  }

  CHECK(join(list_in(g, ext::supported_groups, 2)) == join(list_in(w, ext::supported_groups, 2)));
  CHECK(join(list_in(g, ext::signature_algorithms, 2)) ==
        join(list_in(w, ext::signature_algorithms, 2)));
  CHECK(join(list_in(g, ext::supported_versions, 1)) ==
        join(list_in(w, ext::supported_versions, 1)));
  CHECK(shares_of(g) == shares_of(w));  // GREASE(1), X25519MLKEM768(1216), X25519(32)

  // Extensions whose bodies do not depend on the connection's randomness:
  // byte for byte (server_name too: both name capture.sluice.test).
  for (uint16_t type :
       {ext::server_name, ext::alpn, ext::application_settings, ext::compress_certificate,
        ext::psk_key_exchange_modes, ext::status_request, ext::ec_point_formats,
        ext::renegotiation_info, ext::extended_master_secret, ext::session_ticket,
        ext::signed_certificate_timestamp, ext::trust_anchors}) {
    INFO("extension " << type);
    CHECK(to_hex(ext_body(g, type)) == to_hex(ext_body(w, type)));
  }

  // ECH GREASE: outer hello, HKDF-SHA256 + AES-128-GCM, a 32-byte enc and a
  // payload of 128..224 (step 32) + 16 bytes in both.
  const Bytes w_ech = ext_body(w, ext::encrypted_client_hello);
  const Bytes g_ech = ext_body(g, ext::encrypted_client_hello);
  for (Bytes ech : {w_ech, g_ech}) {
    REQUIRE(ech.size() > 42);
    CHECK(to_hex(ech.first(5)) == "0000010001");
    CHECK(to_hex(ech.subspan(6, 2)) == "0020");
    const size_t payload = ech.size() - 42;
    CHECK((size_t{ech[40]} << 8 | ech[41]) == payload);
    CHECK((payload == 144 || payload == 176 || payload == 208 || payload == 240));
  }

  // Padding: neither pads (the hybrid share puts the hello far over 512).
  CHECK(w.extensions.find(ext::padding) == nullptr);
  CHECK(g.extensions.find(ext::padding) == nullptr);

  // Lengths: one record each, equal once the random ECH payload size is
  // taken out.
  CHECK(got.records.size() - got.msg.size() == kRecordHeaderLen);
  CHECK(want.records.size() - want.msg.size() == kRecordHeaderLen);
  CHECK(got.msg.size() - g_ech.size() == want.msg.size() - w_ech.size());

  // Fingerprints. JA3 proper changes with Chrome's per-connection order, so
  // it is compared with the extension list sorted; JA4 sorts by design.
  INFO("chromium JA3N " << test::ja3_string(w, true));
  INFO("sluice   JA3N " << test::ja3_string(g, true));
  CHECK(test::ja3(g, true) == test::ja3(w, true));
  CHECK(test::ja4(g) == test::ja4(w));
  CHECK(test::ja4(w).substr(0, 10) == "t13d1517h2");
}

TEST_CASE("JA3 and JA4 of the captured hellos", "[tls13][client][chrome][browser]") {
  const Hello chromium = captured(kChromiumCapture);
  const Hello firefox = captured(kFirefoxCapture);
  // The algorithm on known input: JA3 keeps wire order, JA3N sorts.
  CHECK(test::ja3_string(chromium.ch, true) ==
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
        "0-5-10-11-13-16-18-23-27-35-43-45-51-17613-51764-65037-65281,4588-29-23-24,0");
  CHECK(test::ja3_string(chromium.ch, false) !=
        test::ja3_string(chromium.ch, true));  // this capture's order is not sorted
  // Expected values computed independently (a few lines of Python over the
  // same files) when the captures were taken.
  CHECK(test::ja3(chromium.ch, true) == "bd4930bd9b000ee684830e44bab76fdf");
  CHECK(test::ja4(chromium.ch) == "t13d1517h2_8daaf6152771_cb7bf5808d99");
  CHECK(test::ja3(firefox.ch, true) == "8099457c290ccfe8c6d958826c26b023");
  CHECK(test::ja4(firefox.ch) == "t13d1617h2_86a278354501_3cbfd9057e0d");
  // Two different browsers: different fingerprints.
  CHECK(test::ja4(firefox.ch) != test::ja4(chromium.ch));
  CHECK(test::ja3(firefox.ch, true) != test::ja3(chromium.ch, true));
  // Sluice's hello varies per connection in JA3 but never in JA4 or JA3N.
  std::set<std::string> ja3s, ja4s, ja3ns;
  for (int i = 0; i < 6; ++i) {
    const Hello h = sluice_chrome();
    ja3s.insert(test::ja3(h.ch, false));
    ja3ns.insert(test::ja3(h.ch, true));
    ja4s.insert(test::ja4(h.ch));
  }
  CHECK(ja3s.size() > 1);
  CHECK(ja3ns.size() == 1);
  CHECK(ja4s.size() == 1);
}
