// TlsConnection's in-place record path (TLS 1.3 after the handshake), sans
// I/O: against a second TlsConnection and against a plain BoringSSL peer
// (an SSL over memory BIOs), which sends KeyUpdates, tickets and alerts on
// its own schedule.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <string>
#include <vector>

#include "crypto/tls_record.hpp"
#include "crypto/tls_session_cache.hpp"
#include "tls_test_util.hpp"

using namespace sluice;
using namespace sluice::test;
using tls::HandshakeProgress;

namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Peer is a BoringSSL server over memory BIOs facing a TlsConnection client.
struct Peer {
  BufferPool pool;
  std::unique_ptr<tls::TlsConnection> client;
  SSL* ssl = nullptr;

  Peer(std::shared_ptr<const tls::TlsClientContext> cc, std::shared_ptr<tls::TlsServerContext> sc,
       tls::TlsClientParams params = {}) {
    auto c = tls::TlsConnection::client(std::move(cc), pool, std::move(params));
    REQUIRE(c);
    client = std::move(*c);
    ssl = SSL_new(sc->native());
    REQUIRE(ssl);
    SSL_set_accept_state(ssl);
    SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  }
  ~Peer() { SSL_free(ssl); }

  // to_peer moves the client's output into the peer's read BIO.
  void to_peer() {
    Chain out = client->take_output();
    while (!out.empty()) {
      Slice s = out.pop_front();
      REQUIRE(BIO_write(SSL_get_rbio(ssl), s.data(), static_cast<int>(s.size())) ==
              static_cast<int>(s.size()));
    }
  }
  // wire takes everything the peer wrote.
  std::string wire() {
    std::string w;
    char buf[16384];
    int n;
    while ((n = BIO_read(SSL_get_wbio(ssl), buf, sizeof buf)) > 0) w.append(buf, n);
    return w;
  }
  void feed(std::string_view w) {
    while (!w.empty()) {
      const size_t n = std::min<size_t>(w.size(), 65536);
      auto s = pool.copy_from(w.data(), n);
      REQUIRE(s);
      REQUIRE(client->feed(std::move(*s)));
      w.remove_prefix(n);
    }
  }
  void handshake() {
    for (int i = 0; i < 10; ++i) {
      client->handshake();
      to_peer();
      SSL_do_handshake(ssl);
      const std::string w = wire();
      feed(w);
      if (client->handshake_done() && !SSL_in_init(ssl) && w.empty()) break;
    }
    REQUIRE(client->handshake() == HandshakeProgress::done);
    REQUIRE(client->in_place());
  }
  void peer_write(std::string_view s) {
    REQUIRE(SSL_write(ssl, s.data(), static_cast<int>(s.size())) == static_cast<int>(s.size()));
  }
  // peer_read reads what the client sent (to_peer first).
  std::string peer_read() {
    to_peer();
    std::string out;
    char buf[16384];
    for (;;) {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) {
        INFO("peer SSL_read error " << SSL_get_error(ssl, n));
        CHECK(SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ);
        ERR_clear_error();
        break;
      }
      out.append(buf, n);
    }
    return out;
  }
  // client_read opens every record fed so far.
  std::string client_read() {
    std::string out;
    for (;;) {
      auto r = client->read();
      REQUIRE(r);
      if (r->empty()) break;
      out.append(r->view());
    }
    return out;
  }
};

std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + seed) & 0xff);
  return s;
}

Pki& pki() {
  static Pki p = make_pki("localhost");
  return p;
}
std::shared_ptr<tls::TlsServerContext> sctx() { return server_ctx(server_options(pki().leaf)); }
std::shared_ptr<tls::TlsClientContext> cctx() {
  return client_ctx(client_options(pki().ca.certificate, "localhost"));
}

// Forger seals records as the peer would, with the peer's current write
// secret and sequence number, to build malformed ones.
struct Forger {
  tls::RecordCipher rc;
  explicit Forger(SSL* peer) {
    bssl::Span<const uint8_t> r, w;
    REQUIRE(bssl::SSL_get_traffic_secrets(peer, &r, &w));
    const uint16_t suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(peer));
    REQUIRE(rc.init(suite, {w.data(), w.size()}, SSL_get_write_sequence(peer)));
  }
  // record returns one sealed record of inner type |type| with |content|.
  std::string record(uint8_t type, std::string_view content) {
    std::string out(content.size() + tls::kRecordOverhead, '\0');
    auto* p = reinterpret_cast<uint8_t*>(out.data());
    REQUIRE(rc.seal(type, reinterpret_cast<const uint8_t*>(content.data()), content.size(), p,
                    p + tls::kRecordHeaderLen, p + tls::kRecordHeaderLen + content.size()));
    return out;
  }
};

}  // namespace

TEST_CASE("in place: a unique chunk is sealed where it lies and opened where it lies",
          "[transport][tls][inplace]") {
  Pair p(cctx(), sctx());
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  REQUIRE(p.client->in_place());
  REQUIRE(p.server->in_place());
  move_output(*p.server, *p.client);  // the tickets
  REQUIRE(p.client->read());

  auto s = p.pool.copy_from("hello in place", 14);
  REQUIRE(s);
  const Chunk* chunk = s->chunk();
  Chain plain;
  REQUIRE(plain.push_back(std::move(*s)));
  REQUIRE(p.client->write(std::move(plain)));
  Chain wire = p.client->take_output();
  REQUIRE(wire.count() == 1);
  CHECK(wire[0].chunk() == chunk);  // header, ciphertext and tag in the same chunk
  CHECK(wire.size() == 14 + tls::kRecordOverhead);
  CHECK(p.client->record_stats().sealed_in_place == 1);
  const Chunk* wire_chunk = wire[0].chunk();
  REQUIRE(p.server->feed(wire.pop_front()));
  Chain got;
  auto n = p.server->open_records(got, 4);
  REQUIRE(n);
  CHECK(*n == 14);
  REQUIRE(got.count() == 1);
  CHECK(got[0].view() == "hello in place");
  CHECK(got[0].chunk() == wire_chunk);  // opened where it arrived
  CHECK(p.server->record_stats().opened_gathered == 0);
}

TEST_CASE("in place: a 64 KiB Slice becomes four records, the last one in its own chunk",
          "[transport][tls][inplace]") {
  Pair p(cctx(), sctx());
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  move_output(*p.server, *p.client);
  const std::string data = pattern(65536, 3);
  auto s = p.pool.get(SizeClass::k64K);
  REQUIRE(s);
  std::memcpy(s->append(data.size()), data.data(), data.size());
  Chain plain;
  REQUIRE(plain.push_back(std::move(*s)));
  REQUIRE(p.client->write(std::move(plain)));
  Chain wire = p.client->take_output();
  CHECK(wire.size() == 65536 + 4 * tls::kRecordOverhead);
  CHECK(wire.count() == 2);  // three records in one output chunk, the fourth in place
  CHECK(p.client->record_stats().records_sealed == 4);
  CHECK(p.client->record_stats().sealed_in_place == 1);
  // One fed Slice holding all four: every record is opened in place.
  auto flat = p.pool.get(SizeClass::k64K);
  REQUIRE(flat);
  std::string w(wire.size(), '\0');
  wire.copy_out(w.data(), w.size());
  // The 64 KiB class holds 65536 + 32 bytes: feed the first three records
  // in one Slice and the fourth in another.
  const size_t three = 3 * (16384 + tls::kRecordOverhead);
  REQUIRE(p.server->feed(*p.pool.copy_from(w.data(), three)));
  REQUIRE(p.server->feed(*p.pool.copy_from(w.data() + three, w.size() - three)));
  Chain got;
  auto n = p.server->open_records(got, 8);
  REQUIRE(n);
  CHECK(*n == 65536);
  std::string back(got.size(), '\0');
  got.copy_out(back.data(), back.size());
  CHECK(back == data);
  CHECK(p.server->record_stats().opened_gathered == 0);
  CHECK(p.server->record_stats().opened_moved == 0);
}

TEST_CASE("in place: a record split across reads at every byte of its header",
          "[transport][tls][inplace]") {
  Pair p(cctx(), sctx());
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  move_output(*p.server, *p.client);
  REQUIRE(p.client->read());
  const std::string msg = pattern(300, 7);
  // Splits inside the header (1..4), right after it (5), inside the body
  // and one byte before the end; each as two reads and then as three.
  for (size_t cut : {size_t{1}, size_t{2}, size_t{3}, size_t{4}, size_t{5}, size_t{6}, size_t{150},
                     msg.size() + tls::kRecordOverhead - 1}) {
    for (int pieces = 2; pieces <= 3; ++pieces) {
      INFO("cut " << cut << ", pieces " << pieces);
      REQUIRE(p.client->write(bytes(msg)));
      Chain wire = p.client->take_output();
      std::string w(wire.size(), '\0');
      wire.copy_out(w.data(), w.size());
      REQUIRE(w.size() == msg.size() + tls::kRecordOverhead);
      std::vector<std::string> parts;
      if (pieces == 2) {
        parts = {w.substr(0, cut), w.substr(cut)};
      } else {
        const size_t c1 = cut / 2;
        parts = {w.substr(0, c1), w.substr(c1, cut - c1), w.substr(cut)};
      }
      std::string got;
      for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].empty()) continue;
        REQUIRE(p.server->feed(*p.pool.copy_from(parts[i].data(), parts[i].size())));
        auto r = p.server->read();
        REQUIRE(r);
        if (i + 1 < parts.size()) {
          CHECK(r->empty());  // incomplete: nothing yet
          CHECK_FALSE(p.server->record_ready());
        }
        got.append(r->view());
      }
      CHECK(got == msg);
      CHECK(p.server->raw_unconsumed().empty());
    }
  }
  // Pieces this small are gathered into the first read's chunk as they
  // arrive (Chain::push_back_compact), so those records opened whole. A
  // piece over Chain::kCompactMax stays a Slice of its own: that record is
  // opened across the two.
  const std::string big = pattern(4000, 9);
  REQUIRE(p.client->write(bytes(big)));
  Chain wire = p.client->take_output();
  std::string w(wire.size(), '\0');
  wire.copy_out(w.data(), w.size());
  const uint64_t gathered = p.server->record_stats().opened_gathered;
  std::string got;
  for (const std::string& part : {w.substr(0, 5), w.substr(5)}) {
    REQUIRE(p.server->feed(*p.pool.copy_from(part.data(), part.size())));
    auto r = p.server->read();
    REQUIRE(r);
    got.append(r->view());
  }
  CHECK(got == big);
  CHECK(p.server->record_stats().opened_gathered == gathered + 1);
}

TEST_CASE("in place: KeyUpdate from a BoringSSL peer mid-transfer, answered",
          "[transport][tls][inplace]") {
  Peer p(cctx(), sctx());
  p.handshake();
  const std::string a = pattern(100000, 1), b = pattern(70000, 2);
  p.peer_write(a);
  REQUIRE(SSL_key_update(p.ssl, SSL_KEY_UPDATE_REQUESTED));
  p.peer_write(b);  // the KeyUpdate goes out in front of these records
  p.feed(p.wire());
  CHECK(p.client_read() == a + b);
  CHECK(p.client->record_stats().key_updates_received == 1);
  // The client answered with a KeyUpdate of its own before its next data.
  CHECK(p.client->record_stats().key_updates_sent == 1);
  REQUIRE(p.client->write(bytes("after the update")));
  CHECK(p.peer_read() == "after the update");

  // And the other way: the client updates and asks the peer to follow.
  REQUIRE(p.client->key_update(true));
  REQUIRE(p.client->write(bytes("client updated")));
  CHECK(p.peer_read() == "client updated");
  p.peer_write("peer followed");  // BoringSSL answers the request with this write
  p.feed(p.wire());
  CHECK(p.client_read() == "peer followed");
  CHECK(p.client->record_stats().key_updates_received == 2);
  CHECK(p.client->record_stats().key_updates_sent == 2);
}

TEST_CASE("in place: a KeyUpdate between the records of one read, opened in one batch",
          "[transport][tls][inplace]") {
  // Both ends on the in-place path: the server's records before and after
  // its KeyUpdate arrive in one Slice and are opened in one open_records
  // call, the ones after it under the next key, all where they lie.
  Pair p(cctx(), sctx());
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  move_output(*p.server, *p.client);  // the tickets
  REQUIRE(p.client->read());
  const std::string a = pattern(20000, 4), b = pattern(20000, 5);
  REQUIRE(p.server->write(bytes(a)));
  REQUIRE(p.server->key_update(true));
  REQUIRE(p.server->write(bytes(b)));
  Chain wire = p.server->take_output();
  std::string w(wire.size(), '\0');
  wire.copy_out(w.data(), w.size());
  REQUIRE(w.size() < 65536);
  auto one = p.pool.copy_from(w.data(), w.size());
  REQUIRE(one);
  REQUIRE(p.client->feed(std::move(*one)));
  Chain got;
  auto n = p.client->open_records(got, 8);
  REQUIRE(n);
  CHECK(*n == a.size() + b.size());
  CHECK(got.count() == 4);  // two records each side of the KeyUpdate
  std::string back(got.size(), '\0');
  got.copy_out(back.data(), back.size());
  CHECK(back == a + b);
  CHECK(p.client->record_stats().key_updates_received == 1);
  CHECK(p.client->record_stats().opened_gathered == 0);
  CHECK(p.client->record_stats().opened_moved == 0);
  // The client answered the request before its next data; the server
  // reads both under the client's next key.
  CHECK(p.client->record_stats().key_updates_sent == 1);
  REQUIRE(p.client->write(bytes("after")));
  move_output(*p.client, *p.server);
  Chain back_to_server;
  auto m = p.server->open_records(back_to_server, 8);
  REQUIRE(m);
  CHECK(*m == 5);
  CHECK(back_to_server.size() == 5);
  CHECK(p.server->record_stats().key_updates_received == 1);
}

TEST_CASE("in place: tickets sent after the switch reach the cache through BoringSSL",
          "[transport][tls][inplace]") {
  auto sc = sctx();
  auto cc = cctx();
  tls::TlsSessionCache cache;
  auto params = [&] {
    tls::TlsClientParams prm;
    prm.cache = &cache;
    prm.cache_key = "k";
    prm.now_ms = 1000;
    return prm;
  };
  {
    Peer p(cc, sc, params());
    p.handshake();
    CHECK(cache.tickets() == 0);
    // A BoringSSL server sends its tickets with its first write, long after
    // the client switched to the in-place path.
    p.peer_write("first");
    p.feed(p.wire());
    CHECK(p.client_read() == "first");
    CHECK(p.client->record_stats().tickets_forwarded == 2);
    CHECK(cache.tickets() == 2);
  }
  Peer p(cc, sc, params());
  p.handshake();
  CHECK(p.client->session_reused());
}

TEST_CASE("in place: a peer's alert mid-stream ends it with the alert's name",
          "[transport][tls][inplace]") {
  Peer p(cctx(), sctx());
  p.handshake();
  p.peer_write("before the alert");
  REQUIRE(SSL_send_fatal_alert(p.ssl, SSL_AD_INTERNAL_ERROR) > 0);
  p.feed(p.wire());
  auto r = p.client->read();
  REQUIRE(r);
  CHECK(r->view() == "before the alert");
  r = p.client->read();
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::tls_alert);
  CHECK(p.client->peer_alert() == SSL_AD_INTERNAL_ERROR);
  CHECK_THAT(p.client->failure_reason(), Catch::Contains("internal error"));
  // Nothing goes back after a fatal alert received.
  CHECK_FALSE(p.client->has_output());
  CHECK_FALSE(p.client->write(bytes("x")));
}

TEST_CASE("in place: close_notify from the peer, then the client still writes",
          "[transport][tls][inplace]") {
  Peer p(cctx(), sctx());
  p.handshake();
  p.peer_write("bye");
  REQUIRE(SSL_shutdown(p.ssl) >= 0);
  p.feed(p.wire());
  auto r = p.client->read();
  REQUIRE(r);
  CHECK(r->view() == "bye");
  r = p.client->read();
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::eof);
  CHECK_FALSE(p.client->truncated());
  REQUIRE(p.client->write(bytes("still talking")));
  CHECK(p.peer_read() == "still talking");
  REQUIRE(p.client->send_close_notify());
  p.to_peer();
  char buf[16];
  CHECK(SSL_read(p.ssl, buf, sizeof buf) == 0);
  CHECK(SSL_get_error(p.ssl, 0) == SSL_ERROR_ZERO_RETURN);
}

TEST_CASE("in place: a bad record is refused and the peer hears bad_record_mac",
          "[transport][tls][inplace]") {
  Peer p(cctx(), sctx());
  p.handshake();
  p.peer_write("good");
  std::string w = p.wire();
  p.peer_write("evil");
  std::string bad = p.wire();
  bad.back() ^= 0x01;
  p.feed(w + bad);
  auto r = p.client->read();
  REQUIRE(r);
  CHECK(r->view() == "good");
  r = p.client->read();
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::decrypt_failed);
  CHECK_THAT(p.client->failure_reason(), Catch::Contains("bad decrypt"));
  p.to_peer();
  char buf[16];
  CHECK(SSL_read(p.ssl, buf, sizeof buf) <= 0);
  CHECK(ERR_GET_REASON(ERR_peek_error()) == SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
  ERR_clear_error();
}

TEST_CASE("in place: malformed records from the peer", "[transport][tls][inplace]") {
  struct Case {
    const char* name;
    Errc errc;
    const char* reason;
  };
  auto run = [](const Case& c, auto make) {
    INFO(c.name);
    Peer p(cctx(), sctx());
    p.handshake();
    Forger f(p.ssl);
    p.feed(make(f));
    Result<Slice> r = Slice();
    for (int i = 0; i < 100 && r && r->empty(); ++i) r = p.client->read();
    REQUIRE_FALSE(r);
    CHECK(r.error() == c.errc);
    CHECK_THAT(p.client->failure_reason(), Catch::Contains(c.reason));
    CHECK(p.client->has_output());  // the alert for the peer
  };
  run({"outer type handshake", Errc::protocol_violation, "unexpected record type 22"},
      [](Forger& f) {
        std::string r = f.record(tls::kContentApplicationData, "x");
        r[0] = 22;
        return r;
      });
  run({"record version", Errc::protocol_violation, "wrong record version 0x0301"}, [](Forger& f) {
    std::string r = f.record(tls::kContentApplicationData, "x");
    r[2] = 1;
    return r;
  });
  run({"length over 2^14 + 256", Errc::protocol_violation, "record overflow"},
      [](Forger&) { return std::string("\x17\x03\x03\x41\x01", 5) + std::string(16641, 'x'); });
  run({"shorter than a tag", Errc::protocol_violation, "shorter than its tag"},
      [](Forger&) { return std::string("\x17\x03\x03\x00\x05", 5) + std::string(5, 'x'); });
  run({"only padding", Errc::protocol_violation, "without a content type"},
      [](Forger& f) { return f.record(0, std::string(10, '\0')); });
  run({"unknown inner type", Errc::protocol_violation, "unexpected inner content type 99"},
      [](Forger& f) { return f.record(99, "hello"); });
  run({"33 empty records", Errc::protocol_violation, "too many empty records"}, [](Forger& f) {
    std::string w;
    for (int i = 0; i < 33; ++i) w += f.record(tls::kContentApplicationData, "");
    return w;
  });
  run({"malformed alert", Errc::protocol_violation, "malformed alert"},
      [](Forger& f) { return f.record(tls::kContentAlert, std::string("\x02", 1)); });
  run({"empty handshake record", Errc::protocol_violation, "empty handshake record"},
      [](Forger& f) { return f.record(tls::kContentHandshake, ""); });
  run({"KeyUpdate with data after it", Errc::protocol_violation, "not at the end of its record"},
      [](Forger& f) {
        return f.record(tls::kContentHandshake, std::string("\x18\x00\x00\x01\x00\x18", 6));
      });
  run({"KeyUpdate request 2", Errc::protocol_violation, "request_update 2"}, [](Forger& f) {
    return f.record(tls::kContentHandshake, std::string("\x18\x00\x00\x01\x02", 5));
  });
  run({"KeyUpdate of length 2", Errc::protocol_violation, "malformed KeyUpdate"}, [](Forger& f) {
    return f.record(tls::kContentHandshake, std::string("\x18\x00\x00\x02\x00\x00", 6));
  });
  run({"a ClientHello after the handshake", Errc::protocol_violation,
       "unexpected post-handshake message (type 1)"},
      [](Forger& f) {
        return f.record(tls::kContentHandshake, std::string("\x01\x00\x00\x02\x03\x03", 6));
      });
  run({"data inside a split handshake message", Errc::protocol_violation,
       "inside a fragmented handshake message"},
      [](Forger& f) {
        std::string w = f.record(tls::kContentHandshake, std::string("\x04\x00\x00\x10\x00", 5));
        w += f.record(tls::kContentApplicationData, "x");  // sealed second: sequence order
        return w;
      });
  run({"a handshake message over 64 KiB", Errc::protocol_violation,
       "post-handshake message too large"},
      [](Forger& f) {
        return f.record(tls::kContentHandshake, std::string("\x04\x01\x00\x01", 4));
      });
  run({"a garbled ticket", Errc::protocol_violation, "post-handshake message rejected"},
      [](Forger& f) {
        return f.record(tls::kContentHandshake, std::string("\x04\x00\x00\x03\x01\x02\x03", 7));
      });
}

TEST_CASE("in place: a ticket split across records is reassembled", "[transport][tls][inplace]") {
  auto sc = sctx();
  tls::TlsSessionCache cache;
  tls::TlsClientParams prm;
  prm.cache = &cache;
  prm.cache_key = "k";
  prm.now_ms = 1000;
  Peer p(cctx(), sc, std::move(prm));
  p.handshake();
  // The peer's real tickets, opened with its secret and re-sent cut in
  // three records of one and two bytes and the rest.
  p.peer_write("x");
  const std::string w = p.wire();
  // Open what the peer sent with a copy of its (pre-write) write secret.
  tls::RecordCipher opener;
  {
    // The peer's write secret is what the client reads with; after the
    // write it still holds it (no KeyUpdate), at a later sequence number.
    bssl::Span<const uint8_t> r, wr;
    REQUIRE(bssl::SSL_get_traffic_secrets(p.ssl, &r, &wr));
    const uint16_t suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(p.ssl));
    REQUIRE(opener.init(suite, {wr.data(), wr.size()}, 0));
  }
  std::string hs;
  std::string data;
  size_t pos = 0;
  while (pos + 5 <= w.size()) {
    const size_t len =
        (size_t{static_cast<uint8_t>(w[pos + 3])} << 8) | static_cast<uint8_t>(w[pos + 4]);
    std::string rec = w.substr(pos, 5 + len);
    auto* q = reinterpret_cast<uint8_t*>(rec.data());
    auto n = opener.open(q, q + 5, len, q + 5);
    REQUIRE(n);
    size_t m = *n;
    while (m > 0 && q[5 + m - 1] == 0) --m;
    const uint8_t type = q[5 + m - 1];
    if (type == tls::kContentHandshake) hs.append(rec.substr(5, m - 1));
    if (type == tls::kContentApplicationData) data.append(rec.substr(5, m - 1));
    pos += 5 + len;
  }
  REQUIRE(data == "x");
  REQUIRE(hs.size() > 10);
  Forger f(p.ssl);
  // Re-seal from sequence 0 again: the client has read nothing yet.
  bssl::Span<const uint8_t> r, wr;
  REQUIRE(bssl::SSL_get_traffic_secrets(p.ssl, &r, &wr));
  const uint16_t suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(p.ssl));
  REQUIRE(f.rc.init(suite, {wr.data(), wr.size()}, 0));
  // One statement per record: they must be sealed in sequence order.
  std::string again = f.record(tls::kContentHandshake, hs.substr(0, 1));
  again += f.record(tls::kContentHandshake, hs.substr(1, 2));
  again += f.record(tls::kContentHandshake, hs.substr(3));
  again += f.record(tls::kContentApplicationData, "x");
  p.feed(again);
  CHECK(p.client_read() == "x");
  CHECK(cache.tickets() == 2);
}
