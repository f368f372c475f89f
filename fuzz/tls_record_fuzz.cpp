// fuzz/tls_record_fuzz.cpp: the in-place TLS 1.3 record path of
// tls::TlsConnection (crypto/tls_connection.cpp, crypto/tls_record.cpp), the
// one that opens a peer's records where they landed after a BoringSSL
// handshake.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Random bytes almost never authenticate, so the input is a script rather
// than a wire image: a BoringSSL server (memory BIOs) completes a handshake
// with a TlsConnection client, then each operation either forges a record
// under the server's current write key (application data of any length
// and padding, KeyUpdates, alerts and handshake messages of any content,
// records of any inner type), appends raw bytes, corrupts a byte already
// queued, feeds the queued wire to the client in pieces of a chosen size
// and opens it (open_records with a chosen batch size, read or read_into),
// or makes the client seal a chosen Slice (unique or shared, with or without
// head- and tailroom) for the server to read back. Checked: whatever the
// client hands out is a prefix of the application data forged so far, all
// of it when nothing malformed was sent; everything the client seals reads
// back from BoringSSL byte for byte.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crypto/tls_connection.hpp"
#include "crypto/tls_context.hpp"
#include "crypto/tls_keypair.hpp"
#include "crypto/tls_record.hpp"
#include "sluice/buffer.hpp"
#include "sluice/config.hpp"

using namespace sluice;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

// Reader takes script fields from the input; past its end every field is 0.
struct Reader {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint16_t u16() { return static_cast<uint16_t>((u8() << 8) | u8()); }
  // bytes appends |len| bytes: the input's while it lasts, then a pattern.
  void bytes(size_t len, std::string* out) {
    const size_t take = std::min(len, n);
    out->append(reinterpret_cast<const char*>(p), take);
    p += take;
    n -= take;
    for (size_t i = take; i < len; ++i) out->push_back(static_cast<char>(i * 7 + 1));
  }
};

struct Contexts {
  std::shared_ptr<tls::TlsServerContext> server;
  std::shared_ptr<tls::TlsClientContext> client;
};

// contexts: one CA-issued leaf for "localhost", made once per process.
const Contexts& contexts() {
  static const Contexts c = [] {
    Contexts out;
    tls::CertificateRequest ca_req;
    ca_req.name = "fuzz CA";
    ca_req.is_ca = true;
    auto ca = tls::generate_certificate(ca_req);
    require(ca.has_value());
    tls::CertificateRequest leaf_req;
    leaf_req.name = "localhost";
    leaf_req.issuer_cert_pem = ca->certificate;
    leaf_req.issuer_key_pem = ca->private_key;
    auto leaf = tls::generate_certificate(leaf_req);
    require(leaf.has_value());
    TlsServerOptions so;
    so.enabled = true;
    so.certificate.certificate = leaf->certificate;
    so.certificate.key = leaf->private_key;
    std::string why;
    auto s = tls::TlsServerContext::create(so, &why);
    require(s.has_value());
    TlsClientOptions co;
    co.enabled = true;
    co.server_name = "localhost";
    co.certificate = ca->certificate;
    auto cl = tls::TlsClientContext::create(co, "127.0.0.1", {}, &why);
    require(cl.has_value());
    out.server = *s;
    out.client = *cl;
    return out;
  }();
  return c;
}

std::string drain_bio(BIO* b) {
  std::string w;
  char buf[16384];
  int k;
  while ((k = BIO_read(b, buf, sizeof buf)) > 0) w.append(buf, static_cast<size_t>(k));
  return w;
}

struct Session {
  BufferPool pool;
  std::unique_ptr<tls::TlsConnection> client;
  SSL* peer = nullptr;
  tls::RecordCipher forger;  // the peer's write direction, as the wire sees it
  std::string wire;          // forged, not yet fed to the client
  std::string sent;          // application data forged so far, in wire order
  std::string got;           // plaintext the client handed out
  bool clean = true;         // nothing malformed was forged
  bool ended = false;        // the client reported end-of-stream or an error
  bool peer_dead = false;    // the peer stopped reading (an alert or an error)

  ~Session() {
    client.reset();
    if (peer) SSL_free(peer);
  }

  void to_peer() {
    Chain out = client->take_output();
    while (!out.empty()) {
      Slice s = out.pop_front();
      require(BIO_write(SSL_get_rbio(peer), s.data(), static_cast<int>(s.size())) ==
              static_cast<int>(s.size()));
    }
  }
  void feed_client(const std::string& w) {
    for (size_t off = 0; off < w.size(); off += 65536) {
      auto s = pool.copy_from(w.data() + off, std::min<size_t>(65536, w.size() - off));
      require(s.has_value());
      require(client->feed(std::move(*s)).has_value());
    }
  }
  bool handshake() {
    auto c = tls::TlsConnection::client(contexts().client, pool, {});
    if (!c) return false;
    client = std::move(*c);
    peer = SSL_new(contexts().server->native());
    require(peer != nullptr);
    SSL_set_accept_state(peer);
    SSL_set_bio(peer, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    for (int i = 0; i < 10 && !(client->handshake_done() && !SSL_in_init(peer)); ++i) {
      client->handshake();
      to_peer();
      SSL_do_handshake(peer);
      ERR_clear_error();
      feed_client(drain_bio(SSL_get_wbio(peer)));
    }
    if (client->handshake() != tls::HandshakeProgress::done || !client->in_place()) return false;
    // The server's tickets go out with its first write; after them, the
    // forger takes over the server's write direction.
    require(SSL_write(peer, "", 0) >= 0);
    feed_client(drain_bio(SSL_get_wbio(peer)));
    bssl::Span<const uint8_t> r, w;
    require(bssl::SSL_get_traffic_secrets(peer, &r, &w));
    const uint16_t suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(peer));
    return forger.init(suite, {w.data(), w.size()}, SSL_get_write_sequence(peer)).has_value();
  }

  // forge seals |content| as one record of inner type |type| followed by
  // |pad| zero bytes of padding (RFC 8446 5.4).
  // |type| is not 0 and content + padding fit one record (the caller's).
  void forge(uint8_t type, const std::string& content, size_t pad) {
    std::string inner = content;
    uint8_t last = type;
    pad = std::min(pad, tls::kMaxPlaintextLen - std::min(content.size(), tls::kMaxPlaintextLen));
    if (pad > 0) {
      inner.push_back(static_cast<char>(type));
      inner.append(pad - 1, '\0');
      last = 0;
    }
    std::string rec(inner.size() + tls::kRecordOverhead, '\0');
    auto* p = reinterpret_cast<uint8_t*>(rec.data());
    require(forger
                .seal(last, reinterpret_cast<const uint8_t*>(inner.data()), inner.size(), p,
                      p + tls::kRecordHeaderLen, p + tls::kRecordHeaderLen + inner.size())
                .has_value());
    wire += rec;
  }

  // deliver feeds the queued wire in pieces of |piece| bytes and opens
  // records after each piece, |mode| choosing the call.
  void deliver(size_t piece, uint8_t mode) {
    const std::string w = std::move(wire);
    wire.clear();
    for (size_t off = 0; off < w.size(); off += piece) {
      auto s = pool.copy_from(w.data() + off, std::min(piece, w.size() - off));
      require(s.has_value());
      require(client->feed(std::move(*s)).has_value());
      open(mode);
    }
    open(mode);
  }

  void open(uint8_t mode) {
    while (!ended) {
      size_t n = 0;
      if (mode % 3 == 0) {
        Chain out;
        auto r = client->open_records(out, 1 + (mode >> 2) % 8);
        if (!r) {
          ended = true;
          break;
        }
        require(*r == out.size());
        n = *r;
        while (!out.empty()) got.append(out.pop_front().view());
      } else if (mode % 3 == 1) {
        auto r = client->read();
        if (!r) {
          ended = true;
          break;
        }
        n = r->size();
        got.append(r->view());
      } else {
        uint8_t buf[20000];
        const size_t cap = 1 + (size_t{mode} * 97) % sizeof buf;
        auto r = client->read_into({buf, cap});
        if (!r) {
          ended = true;
          break;
        }
        n = *r;
        got.append(reinterpret_cast<const char*>(buf), n);
      }
      require(got.size() <= sent.size() && sent.compare(0, got.size(), got) == 0);
      if (n == 0) break;
    }
    // Whatever the client queued (KeyUpdate answers, alerts) reaches the peer.
    if (!peer_dead) peer_read(nullptr);
  }

  // peer_read lets the peer read what the client sent; with |expect|, it
  // must be exactly that.
  // The client's output goes to the peer 4 KiB at a time, each piece read
  // before the next: BoringSSL's memory BIO moves its unread bytes to the
  // front on every read, so one large write of many small records made this
  // loop quadratic (a 242-byte input took 1.75 s, over 10 s under ASan).
  void peer_read(const std::string* expect) {
    Chain out = client->take_output();
    std::string got_peer;
    char buf[16384];
    for (;;) {
      const size_t n = out.copy_out(buf, std::min<size_t>(out.size(), 4096));
      out.advance(n);
      if (n > 0)
        require(BIO_write(SSL_get_rbio(peer), buf, static_cast<int>(n)) == static_cast<int>(n));
      for (;;) {
        const int k = SSL_read(peer, buf, sizeof buf);
        if (k <= 0) {
          if (SSL_get_error(peer, k) != SSL_ERROR_WANT_READ) peer_dead = true;
          ERR_clear_error();
          break;
        }
        got_peer.append(buf, static_cast<size_t>(k));
      }
      if (out.empty() || peer_dead) break;
    }
    // A KeyUpdate from the client is not answered (request_update 0), so
    // the peer itself writes nothing the forger would not know of.
    require(BIO_pending(SSL_get_wbio(peer)) == 0 || peer_dead);
    if (expect && !peer_dead) require(got_peer == *expect);
  }

  // client_write seals |len| bytes from a Slice shaped by |shape|.
  void client_write(size_t len, uint8_t shape) {
    std::string data;
    for (size_t i = 0; i < len; ++i) data.push_back(static_cast<char>(i * 13 + shape));
    Chain c;
    std::vector<Slice> keep;  // second references: those Slices are shared
    for (size_t off = 0; off < len;) {
      const size_t n = std::min<size_t>(len - off, shape & 1 ? 65536 : 1 + shape * 211);
      auto s = (shape & 2) ? pool.copy_from(data.data() + off, n) : pool.get(n);
      require(s.has_value());
      if (!(shape & 2)) std::memcpy(s->append(n), data.data() + off, n);
      // shape & 4: the Slice is shared (a second reference), so it cannot be
      // sealed where it lies.
      if (shape & 4) keep.push_back(*s);
      require(c.push_back(std::move(*s)).has_value());
      off += n;
    }
    auto st = client->write(std::move(c));
    if (!st) {
      ended = true;
      return;
    }
    if (!peer_dead) peer_read(&data);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Session s;
  if (!s.handshake()) std::abort();
  Reader in{data, size};
  for (int ops = 0; ops < 64 && !in.empty(); ++ops) {
    const uint8_t op = in.u8();
    switch (op % 8) {
      case 0: {  // application data
        const size_t len = in.u16() % (tls::kMaxPlaintextLen + 1);
        const size_t pad = in.u8() % 64;
        std::string content;
        in.bytes(len, &content);
        s.forge(tls::kContentApplicationData, content, pad);
        s.sent += content;
        break;
      }
      case 1: {  // any inner type, any content (alerts, handshake messages, junk)
        uint8_t type = in.u8();
        if (type == 0) type = 0xff;  // 0 would read as padding
        const size_t len = in.u16() % 600;
        std::string content;
        in.bytes(len, &content);
        s.forge(type, content, in.u8() % 4);
        if (type == tls::kContentApplicationData)
          s.sent += content;
        else
          s.clean = false;
        break;
      }
      case 2: {  // a well-formed KeyUpdate, then the forger's next key
        const std::string ku = {24, 0, 0, 1, static_cast<char>(in.u8() & 1)};
        s.forge(tls::kContentHandshake, ku, 0);
        require(s.forger.update().has_value());
        break;
      }
      case 3: {  // raw bytes on the wire
        std::string raw;
        in.bytes(in.u8(), &raw);
        s.wire += raw;
        s.clean = false;
        break;
      }
      case 4: {  // corrupt one queued byte
        const uint16_t pos = in.u16();
        const uint8_t x = static_cast<uint8_t>(in.u8() | 1);
        if (!s.wire.empty()) {
          s.wire[pos % s.wire.size()] = static_cast<char>(s.wire[pos % s.wire.size()] ^ x);
          s.clean = false;
        }
        break;
      }
      case 5:  // feed and open
        s.deliver(1 + in.u16() % 70000, in.u8());
        break;
      case 6: {  // the client seals; the peer reads it back
        const uint8_t shape = in.u8();
        if (shape & 0x80) {
          if (!s.client->key_update(false)) s.ended = true;
        }
        if (!s.ended) s.client_write(in.u16() % 70000, shape & 0x7f);
        break;
      }
      case 7:  // the raw stream ends
        s.client->feed_eof();
        break;
    }
    if (s.ended) break;
  }
  s.deliver(65536, 0);
  require(s.got.size() <= s.sent.size());
  if (s.clean && !s.ended && !s.client->raw_eof()) require(s.got == s.sent);
  return 0;
}
