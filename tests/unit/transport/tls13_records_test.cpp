// Tls13Records, the record layer of Tls13Transport, sans I/O: two ends
// keyed from fixed secrets exchange records in memory, split at every
// offset; in-place, out-of-place and copied sealing; batch and one-record
// opening; KeyUpdate both ways; close_notify; malformed and hostile input.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "transport/tls13_transport.hpp"

using namespace sluice;
using tls13::ContentType;

namespace {

const tls13::CipherSuite& suite() { return *tls13::find_cipher_suite(tls13::kTlsAes128GcmSha256); }

tls13::RecordProtection keyed(uint8_t fill) {
  std::vector<uint8_t> secret(suite().hash_len(), fill);
  tls13::RecordProtection p;
  REQUIRE(p.init(suite(), secret));
  return p;
}

// Pair: |a| (client) writes with key 1 and reads with key 2; |b| (server)
// the other way round.
struct Pair {
  BufferPool pool;
  Tls13Records a{pool, keyed(2), keyed(1), false};
  Tls13Records b{pool, keyed(1), keyed(2), true};
};

std::string bytes_of(const Chain& c) {
  std::string s(c.size(), '\0');
  c.copy_out(s.data(), s.size());
  return s;
}

std::string pattern(size_t n, uint8_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 + (i >> 9));
  return s;
}

// feed_split hands |wire| to |r| in pieces of |step| bytes, each in its own
// pool Slice.
void feed_split(BufferPool& pool, Tls13Records& r, const std::string& wire, size_t step) {
  for (size_t off = 0; off < wire.size(); off += std::min(step, kClassPayload[2])) {
    const size_t n = std::min({step, wire.size() - off, kClassPayload[2]});
    auto s = pool.copy_from(wire.data() + off, n);
    REQUIRE(s);
    REQUIRE(r.feed(std::move(*s)));
  }
}

// drain reads every plaintext |r| can give; returns it, stopping at the
// first error (kept in |err|) or when more bytes are needed.
std::string drain(Tls13Records& r, bool batch, Errc* err = nullptr) {
  std::string out;
  for (;;) {
    auto p = r.read(batch);
    if (!p) {
      if (err) *err = p.error();
      return out;
    }
    if (p->empty()) return out;
    out += std::string(p->view());
  }
}

// wire_of seals |data| with |w| through write(Chain): one slice holding it
// all (unique, so large data is sealed out of place).
std::string wire_of(BufferPool& pool, Tls13Records& w, const std::string& data) {
  Chain c;
  for (size_t off = 0; off < data.size(); off += 65536) {
    auto s = pool.copy_from(data.data() + off, std::min<size_t>(65536, data.size() - off));
    REQUIRE(s);
    REQUIRE(c.push_back(std::move(*s)));
  }
  REQUIRE(w.write(std::move(c)));
  return bytes_of(w.take_output());
}

}  // namespace

TEST_CASE("tls13 records: data both ways, every split, batch and one record", "[tls13][records]") {
  for (size_t n : {size_t{1}, size_t{100}, size_t{16384}, size_t{16385}, size_t{200000}}) {
    for (bool batch : {true, false}) {
      for (size_t step : {size_t{1}, size_t{7}, size_t{5000}, size_t{1} << 20}) {
        if (step == 1 && n > 20000) continue;  // a byte at a time: small sizes only
        INFO("bytes " << n << " batch " << batch << " step " << step);
        Pair p;
        const std::string data = pattern(n, static_cast<uint8_t>(n));
        const std::string wire = wire_of(p.pool, p.a, data);
        CHECK(wire.size() == n + ((n + 16383) / 16384) * 22);  // 2^14-byte records
        feed_split(p.pool, p.b, wire, step);
        CHECK(drain(p.b, batch) == data);
        CHECK(p.b.raw_unconsumed().empty());
        // And back.
        const std::string back = wire_of(p.pool, p.b, data);
        feed_split(p.pool, p.a, back, step);
        CHECK(drain(p.a, batch) == data);
      }
    }
  }
}

TEST_CASE("tls13 records: slices sealed in place, out of place, and copied", "[tls13][records]") {
  Pair p;
  std::string expect;
  Chain c;
  // Unique with head- and tailroom: sealed where it is.
  auto s1 = p.pool.copy_from("in place", 8);
  REQUIRE(s1);
  const uint8_t* at = s1->data();
  expect += "in place";
  REQUIRE(c.push_back(std::move(*s1)));
  // Shared: copied into a record chunk.
  auto s2 = p.pool.copy_from("shared!", 7);
  REQUIRE(s2);
  Slice keep = *s2;
  expect += "shared!";
  REQUIRE(c.push_back(std::move(*s2)));
  // Unique, 40000 bytes: three records straight out of it.
  const std::string big = pattern(40000, 3);
  auto s3 = p.pool.copy_from(big.data(), big.size());
  REQUIRE(s3);
  expect += big;
  REQUIRE(c.push_back(std::move(*s3)));
  REQUIRE(p.a.write(std::move(c)));
  Chain out = p.a.take_output();
  REQUIRE(out.count() == 5);
  CHECK(out[0].data() == at - tls13::kRecordHeaderLen);  // the header went into the headroom
  CHECK(keep.view() == "shared!");                       // the shared bytes were not touched
  CHECK(bytes_of(out).size() == expect.size() + 5 * 22);
  while (!out.empty()) REQUIRE(p.b.feed(out.pop_front()));
  CHECK(drain(p.b, true) == expect);
}

TEST_CASE("tls13 records: one-record reads open nothing past the record asked for",
          "[tls13][records]") {
  Pair p;
  // One statement per record: the sequence numbers follow the order.
  std::string wire = wire_of(p.pool, p.a, "first");
  wire += wire_of(p.pool, p.a, "second");
  const std::string tail = "not TLS at all";
  feed_split(p.pool, p.b, wire + tail, 1 << 20);
  auto r = p.b.read(false);
  REQUIRE(r);
  CHECK(r->view() == "first");
  r = p.b.read(false);
  REQUIRE(r);
  CHECK(r->view() == "second");
  CHECK(p.b.pending_plaintext() == 0);
  CHECK(bytes_of(p.b.raw_unconsumed()) == tail);  // handed over raw, as Vision needs
}

TEST_CASE("tls13 records: batch reads keep what was opened for a detach", "[tls13][records]") {
  Pair p;
  std::string wire = wire_of(p.pool, p.a, "one");
  wire += wire_of(p.pool, p.a, "two");
  wire += wire_of(p.pool, p.a, "three");
  feed_split(p.pool, p.b, wire.substr(0, wire.size() - 3), 1 << 20);
  auto r = p.b.read(true);
  REQUIRE(r);
  CHECK(r->view() == "one");
  CHECK(p.b.pending_plaintext() == 3);  // "two", opened with it
  CHECK(bytes_of(p.b.take_pending_plaintext()) == "two");
  CHECK(bytes_of(p.b.take_raw_unconsumed()) == wire.substr(50, 24));
}

TEST_CASE("tls13 records: KeyUpdate both ways, answered before later data", "[tls13][records]") {
  Pair p;
  REQUIRE(p.a.request_key_update());
  std::string wire = bytes_of(p.a.take_output());
  wire += wire_of(p.pool, p.a, "after update");
  feed_split(p.pool, p.b, wire, 3);
  CHECK(drain(p.b, true) == "after update");
  CHECK(p.b.key_updates_received() == 1);
  CHECK(p.b.key_updates_sent() == 1);  // the answer (update_not_requested)
  std::string answer = bytes_of(p.b.take_output());
  answer += wire_of(p.pool, p.b, "reply");
  feed_split(p.pool, p.a, answer, 1 << 20);
  CHECK(drain(p.a, false) == "reply");
  CHECK(p.a.key_updates_received() == 1);
  CHECK(p.a.key_updates_sent() == 1);  // its own request only: not_requested is not answered
  CHECK_FALSE(p.a.has_output());
}

TEST_CASE("tls13 records: close_notify ends the stream; bytes after it are not read",
          "[tls13][records]") {
  Pair p;
  std::string wire = wire_of(p.pool, p.a, "last words");
  REQUIRE(p.a.send_close_notify());
  wire += bytes_of(p.a.take_output());
  CHECK(p.a.write(std::span<const uint8_t>()).error() == Errc::closed);
  feed_split(p.pool, p.b, wire + "garbage", 1 << 20);
  Errc e = Errc::ok;
  CHECK(drain(p.b, true, &e) == "last words");
  CHECK(e == Errc::eof);
  CHECK_FALSE(p.b.truncated());
}

TEST_CASE("tls13 records: a raw end of stream at a record boundary is a truncated eof",
          "[tls13][records]") {
  Pair p;
  feed_split(p.pool, p.b, wire_of(p.pool, p.a, "x"), 1 << 20);
  p.b.feed_eof();
  Errc e = Errc::ok;
  CHECK(drain(p.b, true, &e) == "x");
  CHECK(e == Errc::eof);
  CHECK(p.b.truncated());
}

TEST_CASE("tls13 records: a NewSessionTicket split over two records is accepted by a client",
          "[tls13][records]") {
  Pair p;
  // lifetime 60, age_add 1, nonce "", ticket {7}, no extensions.
  const uint8_t nst[] = {4, 0, 0, 14, 0, 0, 0, 60, 0, 0, 0, 1, 0, 0, 1, 7, 0, 0};
  // Sealed with b's write key (2) so |a| reads them, then data after them.
  std::string wire;
  tls13::RecordProtection w = keyed(2);
  for (auto part : {std::span<const uint8_t>(nst, 6), std::span<const uint8_t>(nst + 6, 12)}) {
    std::vector<uint8_t> buf(tls13::kRecordHeaderLen + part.size() + tls13::kSealOverhead);
    std::memcpy(buf.data() + tls13::kRecordHeaderLen, part.data(), part.size());
    auto n = w.seal_span(buf, part.size(), ContentType::handshake);
    REQUIRE(n);
    wire += std::string(buf.begin(), buf.begin() + *n);
  }
  {
    Tls13Records rest{p.pool, keyed(9), std::move(w), true};
    REQUIRE(rest.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("data"), 4)));
    wire += bytes_of(rest.take_output());
  }
  feed_split(p.pool, p.a, wire, 5);
  CHECK(drain(p.a, true) == "data");
  CHECK(p.a.tickets_received() == 1);
}

TEST_CASE("tls13 records: hostile input gets the specific alert", "[tls13][records]") {
  struct Case {
    const char* name;
    std::string wire;  // built below per case
    Errc error;
    const char* reason;
  };
  // seal_with seals one record with |w| (its sequence advances).
  auto seal_with = [](tls13::RecordProtection& w, ContentType type, const std::string& content,
                      bool corrupt) {
    std::vector<uint8_t> buf(tls13::kRecordHeaderLen + content.size() + tls13::kSealOverhead);
    if (!content.empty())
      std::memcpy(buf.data() + tls13::kRecordHeaderLen, content.data(), content.size());
    auto n = w.seal_span(buf, content.size(), type);
    REQUIRE(n);
    if (corrupt) buf[*n - 1] ^= 0x80;
    return std::string(buf.begin(), buf.begin() + *n);
  };
  // sealed: one record as |a| would send it first (write key 1, sequence 0).
  auto sealed = [&](ContentType type, const std::string& content, bool corrupt = false) {
    tls13::RecordProtection w = keyed(1);
    return seal_with(w, type, content, corrupt);
  };
  // interrupted: half a handshake message, then application data.
  auto interrupted = [&] {
    tls13::RecordProtection w = keyed(1);
    std::string out = seal_with(w, ContentType::handshake, std::string("\x18\x00", 2), false);
    return out + seal_with(w, ContentType::application_data, "x", false);
  };
  const Case cases[] = {
      {"bad tag", sealed(ContentType::application_data, "x", true), Errc::decrypt_failed,
       "tls13: record authentication failed (alert bad_record_mac)"},
      {"oversized", std::string("\x17\x03\x03\x41\x01", 5), Errc::frame_too_large,
       "tls13: record longer than 2^14 + 256 bytes (alert record_overflow)"},
      {"plaintext alert", std::string("\x15\x03\x03\x00\x02\x02\x28", 7), Errc::protocol_violation,
       "tls13: unprotected record after the handshake (alert unexpected_message)"},
      {"unknown type", std::string("\x63\x03\x03\x00\x01\x00", 6), Errc::protocol_violation,
       "tls13: unknown record type (alert unexpected_message)"},
      {"bad version", std::string("\x17\x02\x03\x00\x01\x00", 6), Errc::unsupported_version,
       "tls13: bad record version (alert protocol_version)"},
      {"fatal alert", sealed(ContentType::alert, std::string("\x02\x30", 2)), Errc::tls_alert,
       "tls13: the peer sent alert unknown_ca"},
      {"alert of one byte", sealed(ContentType::alert, std::string("\x02", 1)), Errc::malformed,
       "tls13: alert is not two bytes (alert decode_error)"},
      {"encrypted change_cipher_spec", sealed(ContentType::change_cipher_spec, "\x01"),
       Errc::protocol_violation,
       "tls13: inner content type not allowed (alert unexpected_message)"},
      {"server's ticket to a server",
       sealed(ContentType::handshake, std::string("\x04\x00\x00\x00", 4)), Errc::protocol_violation,
       "tls13: unexpected post-handshake message (alert unexpected_message)"},
      {"KeyUpdate value 2", sealed(ContentType::handshake, std::string("\x18\x00\x00\x01\x02", 5)),
       Errc::protocol_violation, nullptr},
      {"KeyUpdate then more",
       sealed(ContentType::handshake, std::string("\x18\x00\x00\x01\x00\x18", 6)),
       Errc::protocol_violation,
       "tls13: data after a KeyUpdate in its record (alert unexpected_message)"},
      {"huge post-handshake message",
       sealed(ContentType::handshake, std::string("\x18\x10\x00\x00", 4)), Errc::malformed,
       "tls13: post-handshake message too long (alert decode_error)"},
      {"data inside a handshake message", interrupted(), Errc::protocol_violation,
       "tls13: handshake message interrupted (alert unexpected_message)"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Pair q;
    feed_split(q.pool, q.b, c.wire, 1 << 20);
    Errc e = Errc::ok;
    CHECK(drain(q.b, true, &e).empty());
    CHECK(e == c.error);
    if (c.reason) CHECK(q.b.failure_reason() == c.reason);
    // Our own failures are told to the peer (not the peer's own alert).
    if (c.error != Errc::tls_alert) {
      CHECK(q.b.has_output());
      Chain out = q.b.take_output();
      while (!out.empty()) REQUIRE(q.a.feed(out.pop_front()));
      Errc ea = Errc::ok;
      CHECK(drain(q.a, true, &ea).empty());
      CHECK(ea == Errc::tls_alert);
      CHECK_THAT(q.a.failure_reason(), Catch::StartsWith("tls13: the peer sent alert "));
    } else {
      CHECK_FALSE(q.b.has_output());
    }
  }
}

TEST_CASE("tls13 records: the stream ending inside a record is an error", "[tls13][records]") {
  Pair p;
  const std::string wire = wire_of(p.pool, p.a, "cut short");
  feed_split(p.pool, p.b, wire.substr(0, wire.size() - 1), 1 << 20);
  p.b.feed_eof();
  Errc e = Errc::ok;
  CHECK(drain(p.b, true, &e).empty());
  CHECK(e == Errc::malformed);
  CHECK(p.b.failure_reason() == "tls13: the stream ended inside a TLS record (alert decode_error)");
}
