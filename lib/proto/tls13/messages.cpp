// proto/tls13/messages.cpp: see messages.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tls13/messages.hpp"

#include <algorithm>

#include "proto/tls13/wire.hpp"

namespace sluice::tls13 {

const std::array<uint8_t, 32> kHelloRetryRequestRandom = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

namespace {

constexpr Outcome kTruncated = Outcome::fail(Alert::decode_error, "truncated or overlong field");
constexpr Outcome kTrailing =
    Outcome::fail(Alert::decode_error, "trailing bytes after a handshake structure");

bool known_handshake_type(uint8_t t) noexcept {
  switch (static_cast<HandshakeType>(t)) {
    case HandshakeType::client_hello:
    case HandshakeType::server_hello:
    case HandshakeType::new_session_ticket:
    case HandshakeType::end_of_early_data:
    case HandshakeType::encrypted_extensions:
    case HandshakeType::certificate:
    case HandshakeType::certificate_request:
    case HandshakeType::certificate_verify:
    case HandshakeType::finished:
    case HandshakeType::key_update:
    case HandshakeType::compressed_certificate:
      return true;
    default:
      return false;
  }
}

// finish checks a reader consumed exactly its input.
Outcome finish(const Reader& r) noexcept {
  if (!r.ok()) return kTruncated;
  if (!r.empty()) return kTrailing;
  return Outcome::success();
}

}  // namespace

const char* alert_name(Alert a) noexcept {
  switch (a) {
    case Alert::close_notify:
      return "close_notify";
    case Alert::unexpected_message:
      return "unexpected_message";
    case Alert::bad_record_mac:
      return "bad_record_mac";
    case Alert::record_overflow:
      return "record_overflow";
    case Alert::handshake_failure:
      return "handshake_failure";
    case Alert::bad_certificate:
      return "bad_certificate";
    case Alert::unsupported_certificate:
      return "unsupported_certificate";
    case Alert::certificate_revoked:
      return "certificate_revoked";
    case Alert::certificate_expired:
      return "certificate_expired";
    case Alert::certificate_unknown:
      return "certificate_unknown";
    case Alert::illegal_parameter:
      return "illegal_parameter";
    case Alert::unknown_ca:
      return "unknown_ca";
    case Alert::access_denied:
      return "access_denied";
    case Alert::decode_error:
      return "decode_error";
    case Alert::decrypt_error:
      return "decrypt_error";
    case Alert::protocol_version:
      return "protocol_version";
    case Alert::insufficient_security:
      return "insufficient_security";
    case Alert::internal_error:
      return "internal_error";
    case Alert::inappropriate_fallback:
      return "inappropriate_fallback";
    case Alert::user_canceled:
      return "user_canceled";
    case Alert::missing_extension:
      return "missing_extension";
    case Alert::unsupported_extension:
      return "unsupported_extension";
    case Alert::unrecognized_name:
      return "unrecognized_name";
    case Alert::bad_certificate_status_response:
      return "bad_certificate_status_response";
    case Alert::unknown_psk_identity:
      return "unknown_psk_identity";
    case Alert::certificate_required:
      return "certificate_required";
    case Alert::no_application_protocol:
      return "no_application_protocol";
  }
  return "unknown";
}

Errc Outcome::errc() const noexcept {
  if (ok_) return Errc::ok;
  switch (alert_) {
    case Alert::decode_error:
      return Errc::malformed;
    case Alert::record_overflow:
      return Errc::frame_too_large;
    case Alert::bad_record_mac:
      return Errc::decrypt_failed;
    case Alert::decrypt_error:
      return Errc::tls_handshake_failed;
    case Alert::protocol_version:
      return Errc::unsupported_version;
    case Alert::internal_error:
      return Errc::internal;
    case Alert::bad_certificate:
    case Alert::unsupported_certificate:
    case Alert::certificate_revoked:
    case Alert::certificate_expired:
    case Alert::certificate_unknown:
    case Alert::unknown_ca:
      return Errc::cert_verify_failed;
    default:
      return Errc::protocol_violation;
  }
}

size_t max_handshake_len(HandshakeType type) noexcept {
  if (type == HandshakeType::certificate || type == HandshakeType::compressed_certificate)
    return 256 * 1024;
  return 64 * 1024;
}

HandshakeParse next_handshake(Bytes in) noexcept {
  HandshakeParse r;
  if (in.size() < 4) return r;
  if (!known_handshake_type(in[0])) {
    r.state = ParseState::error;
    r.error = Outcome::fail(Alert::unexpected_message, "unknown handshake message type");
    return r;
  }
  const auto type = static_cast<HandshakeType>(in[0]);
  const size_t len = size_t{in[1]} << 16 | size_t{in[2]} << 8 | in[3];
  if (len > max_handshake_len(type)) {
    r.state = ParseState::error;
    r.error = Outcome::fail(Alert::decode_error, "handshake message over the size limit");
    return r;
  }
  if (in.size() < 4 + len) return r;
  r.state = ParseState::done;
  r.consumed = 4 + len;
  r.msg.type = type;
  r.msg.body = in.subspan(4, len);
  r.msg.raw = in.first(4 + len);
  return r;
}

const Extension* ExtensionList::find(uint16_t type) const noexcept {
  for (size_t i = 0; i < count; ++i)
    if (items[i].type == type) return &items[i];
  return nullptr;
}

Outcome parse_extensions(Bytes block, ExtensionList& out) noexcept {
  out.count = 0;
  Reader r(block);
  while (r.ok() && !r.empty()) {
    const uint16_t type = r.u16();
    const Bytes data = r.vec16();
    if (!r.ok()) return kTruncated;
    if (out.find(type) != nullptr)
      return Outcome::fail(Alert::illegal_parameter, "duplicated extension");
    if (out.count == kMaxExtensions)
      return Outcome::fail(Alert::illegal_parameter, "too many extensions");
    out.items[out.count++] = Extension{type, data};
  }
  return finish(r);
}

namespace {

// read_extension_block reads the optional-by-length extension vector at the
// end of a hello; |required| makes an absent block a decode_error.
Outcome read_extension_block(Reader& r, ExtensionList& out, bool required) noexcept {
  out.count = 0;
  if (r.empty() && !required) return Outcome::success();
  const Bytes block = r.vec16();
  if (!r.ok()) return kTruncated;
  return parse_extensions(block, out);
}

}  // namespace

Outcome parse_client_hello(Bytes body, Bytes raw, ClientHello& out) noexcept {
  Reader r(body);
  out.legacy_version = r.u16();
  out.random = r.bytes(32);
  out.legacy_session_id = r.vec8();
  out.cipher_suites = r.vec16();
  out.compression_methods = r.vec8();
  if (!r.ok()) return kTruncated;
  if (out.legacy_session_id.size() > 32)
    return Outcome::fail(Alert::illegal_parameter, "legacy_session_id over 32 bytes");
  if (out.cipher_suites.empty() || out.cipher_suites.size() % 2 != 0)
    return Outcome::fail(Alert::decode_error, "cipher_suites empty or of odd length");
  if (out.compression_methods.empty())
    return Outcome::fail(Alert::decode_error, "empty compression_methods");
  if (Outcome o = read_extension_block(r, out.extensions, false); !o) return o;
  if (Outcome o = finish(r); !o) return o;
  // A TLS 1.3 ClientHello offers only the null compression method (§4.1.2);
  // a pre-1.3 one may offer more, and the caller decides on the version.
  const bool offers_13 = out.extensions.find(ext::supported_versions) != nullptr;
  if (offers_13 && (out.compression_methods.size() != 1 || out.compression_methods[0] != 0))
    return Outcome::fail(Alert::illegal_parameter, "compression methods other than null");
  const auto all = out.extensions.all();
  for (size_t i = 0; i + 1 < all.size(); ++i)
    if (all[i].type == ext::pre_shared_key)
      return Outcome::fail(Alert::illegal_parameter, "pre_shared_key is not the last extension");
  out.raw = raw;
  return Outcome::success();
}

Outcome parse_server_hello(Bytes body, ServerHello& out) noexcept {
  Reader r(body);
  out.legacy_version = r.u16();
  out.random = r.bytes(32);
  out.legacy_session_id_echo = r.vec8();
  out.cipher_suite = r.u16();
  out.compression_method = r.u8();
  if (!r.ok()) return kTruncated;
  if (out.legacy_session_id_echo.size() > 32)
    return Outcome::fail(Alert::illegal_parameter, "legacy_session_id_echo over 32 bytes");
  if (Outcome o = read_extension_block(r, out.extensions, true); !o) return o;
  if (Outcome o = finish(r); !o) return o;
  if (out.compression_method != 0)
    return Outcome::fail(Alert::illegal_parameter, "non-null compression method");
  out.is_hello_retry_request =
      std::equal(out.random.begin(), out.random.end(), kHelloRetryRequestRandom.begin());
  return Outcome::success();
}

Outcome parse_u16_list(Bytes data, int prefix, Bytes& list) noexcept {
  Reader r(data);
  list = prefix == 1 ? r.vec8() : r.vec16();
  if (Outcome o = finish(r); !o) return o;
  if (list.empty() || list.size() % 2 != 0)
    return Outcome::fail(Alert::decode_error, "empty or odd-length list of 16-bit values");
  return Outcome::success();
}

Outcome parse_client_key_shares(Bytes data, std::array<KeyShareEntry, kMaxKeyShares>& out,
                                size_t& count) noexcept {
  count = 0;
  Reader outer(data);
  Reader r(outer.vec16());
  if (Outcome o = finish(outer); !o) return o;
  while (r.ok() && !r.empty()) {
    KeyShareEntry e;
    e.group = r.u16();
    e.key_exchange = r.vec16();
    if (!r.ok()) return kTruncated;
    if (e.key_exchange.empty()) return Outcome::fail(Alert::decode_error, "empty key_exchange");
    for (size_t i = 0; i < count; ++i)
      if (out[i].group == e.group)
        return Outcome::fail(Alert::illegal_parameter, "two key shares for one group");
    if (count == kMaxKeyShares)
      return Outcome::fail(Alert::illegal_parameter, "too many key shares");
    out[count++] = e;
  }
  return finish(r);
}

Outcome parse_server_key_share(Bytes data, KeyShareEntry& out) noexcept {
  Reader r(data);
  out.group = r.u16();
  out.key_exchange = r.vec16();
  if (Outcome o = finish(r); !o) return o;
  if (out.key_exchange.empty()) return Outcome::fail(Alert::decode_error, "empty key_exchange");
  return Outcome::success();
}

Outcome parse_hrr_key_share(Bytes data, uint16_t& group) noexcept {
  Reader r(data);
  group = r.u16();
  return finish(r);
}

Outcome parse_server_supported_version(Bytes data, uint16_t& version) noexcept {
  Reader r(data);
  version = r.u16();
  return finish(r);
}

Outcome parse_encrypted_extensions(Bytes body, ExtensionList& out) noexcept {
  Reader r(body);
  const Bytes block = r.vec16();
  if (Outcome o = finish(r); !o) return o;
  return parse_extensions(block, out);
}

Outcome parse_certificate(Bytes body, Certificate& out) noexcept {
  out.count = 0;
  Reader r(body);
  out.request_context = r.vec8();
  Reader list(r.vec24());
  if (Outcome o = finish(r); !o) return o;
  while (list.ok() && !list.empty()) {
    CertificateEntry e;
    e.cert_data = list.vec24();
    e.extensions = list.vec16();
    if (!list.ok()) return kTruncated;
    if (e.cert_data.empty()) return Outcome::fail(Alert::decode_error, "empty certificate");
    ExtensionList exts;
    if (Outcome o = parse_extensions(e.extensions, exts); !o) return o;
    if (out.count == kMaxCertificates)
      return Outcome::fail(Alert::illegal_parameter, "certificate chain too long");
    out.entries[out.count++] = e;
  }
  return finish(list);
}

Outcome parse_compressed_certificate(Bytes body, CompressedCertificate& out) noexcept {
  Reader r(body);
  out.algorithm = r.u16();
  out.uncompressed_length = r.u24();
  out.compressed = r.vec24();
  if (Outcome o = finish(r); !o) return o;
  if (out.compressed.empty())
    return Outcome::fail(Alert::decode_error, "empty compressed_certificate_message");
  return Outcome::success();
}

Outcome parse_certificate_verify(Bytes body, CertificateVerify& out) noexcept {
  Reader r(body);
  out.scheme = r.u16();
  out.signature = r.vec16();
  if (Outcome o = finish(r); !o) return o;
  if (out.signature.empty()) return Outcome::fail(Alert::decode_error, "empty signature");
  return Outcome::success();
}

Outcome parse_finished(Bytes body, size_t hash_len, Bytes& verify_data) noexcept {
  if (body.size() != hash_len)
    return Outcome::fail(Alert::decode_error, "Finished of the wrong length");
  verify_data = body;
  return Outcome::success();
}

Outcome parse_new_session_ticket(Bytes body, NewSessionTicket& out) noexcept {
  Reader r(body);
  out.lifetime = r.u32();
  out.age_add = r.u32();
  out.nonce = r.vec8();
  out.ticket = r.vec16();
  const Bytes block = r.vec16();
  if (Outcome o = finish(r); !o) return o;
  if (out.ticket.empty()) return Outcome::fail(Alert::decode_error, "empty ticket");
  if (out.lifetime > 604800)
    return Outcome::fail(Alert::illegal_parameter, "ticket lifetime over 7 days");
  return parse_extensions(block, out.extensions);
}

Outcome parse_offered_psks(Bytes data, OfferedPsks& out) noexcept {
  Reader r(data);
  Reader ids(r.vec16());
  const size_t binders_at = data.size() - r.remaining();
  Reader binders(r.vec16());
  if (Outcome o = finish(r); !o) return o;
  out.binders_len = data.size() - binders_at;
  if (ids.empty()) return Outcome::fail(Alert::decode_error, "pre_shared_key without identities");
  if (binders.empty()) return Outcome::fail(Alert::decode_error, "pre_shared_key without binders");
  out.count = 0;
  while (!ids.empty()) {
    const Bytes id = ids.vec16();
    const uint32_t age = ids.u32();
    if (!ids.ok()) return Outcome::fail(Alert::decode_error, "truncated PSK identity");
    if (id.empty()) return Outcome::fail(Alert::decode_error, "empty PSK identity");
    if (out.count < kMaxPskIdentities) out.identities[out.count] = {id, age};
    ++out.count;
  }
  size_t nbinders = 0;
  while (!binders.empty()) {
    const Bytes b = binders.vec8();
    if (!binders.ok()) return Outcome::fail(Alert::decode_error, "truncated PSK binder");
    if (b.size() < 32) return Outcome::fail(Alert::decode_error, "PSK binder under 32 bytes");
    if (nbinders < kMaxPskIdentities) out.binders[nbinders] = b;
    ++nbinders;
  }
  if (nbinders != out.count)
    return Outcome::fail(Alert::illegal_parameter, "PSK identities and binders do not pair up");
  return Outcome::success();
}

Outcome parse_key_update(Bytes body, bool& update_requested) noexcept {
  if (body.size() != 1) return Outcome::fail(Alert::decode_error, "KeyUpdate is not one byte");
  if (body[0] > 1) return Outcome::fail(Alert::illegal_parameter, "KeyUpdate request not 0 or 1");
  update_requested = body[0] == 1;
  return Outcome::success();
}

namespace {

bool write_extensions(Writer& w,
                      const std::vector<std::pair<uint16_t, std::vector<uint8_t>>>& exts) {
  const size_t at = w.open_prefix(2);
  for (const auto& [type, data] : exts) {
    w.u16(type);
    const size_t d = w.open_prefix(2);
    w.bytes(data);
    if (!w.close_prefix(d)) return false;
  }
  return w.close_prefix(at);
}

}  // namespace

bool encode_handshake(HandshakeType type, Bytes body, std::vector<uint8_t>& out) {
  if (body.size() >= (size_t{1} << 24)) return false;
  Writer w(out);
  w.u8(static_cast<uint8_t>(type));
  w.u24(static_cast<uint32_t>(body.size()));
  w.bytes(body);
  return true;
}

bool encode_client_hello(const ClientHelloFields& f, std::vector<uint8_t>& out) {
  if (f.legacy_session_id.size() > 32 || f.cipher_suites.empty()) return false;
  const size_t start = out.size();
  Writer w(out);
  w.u8(static_cast<uint8_t>(HandshakeType::client_hello));
  const size_t len = w.open_prefix(3);
  w.u16(kTls12);
  w.bytes(f.random);
  const size_t sid = w.open_prefix(1);
  w.bytes(f.legacy_session_id);
  bool ok = w.close_prefix(sid);
  const size_t cs = w.open_prefix(2);
  for (uint16_t s : f.cipher_suites) w.u16(s);
  ok = w.close_prefix(cs) && ok;
  w.u8(1);
  w.u8(0);
  ok = write_extensions(w, f.extensions) && ok;
  ok = w.close_prefix(len) && ok;
  if (!ok) out.resize(start);
  return ok;
}

bool encode_server_hello(const ServerHelloFields& f, std::vector<uint8_t>& out) {
  if (f.legacy_session_id_echo.size() > 32) return false;
  const size_t start = out.size();
  Writer w(out);
  w.u8(static_cast<uint8_t>(HandshakeType::server_hello));
  const size_t len = w.open_prefix(3);
  w.u16(kTls12);
  w.bytes(f.random);
  const size_t sid = w.open_prefix(1);
  w.bytes(f.legacy_session_id_echo);
  bool ok = w.close_prefix(sid);
  w.u16(f.cipher_suite);
  w.u8(0);
  ok = write_extensions(w, f.extensions) && ok;
  ok = w.close_prefix(len) && ok;
  if (!ok) out.resize(start);
  return ok;
}

bool encode_finished(Bytes verify_data, std::vector<uint8_t>& out) {
  return encode_handshake(HandshakeType::finished, verify_data, out);
}

bool encode_new_session_ticket(uint32_t lifetime, uint32_t age_add, Bytes nonce, Bytes ticket,
                               std::vector<uint8_t>& out) {
  if (ticket.empty()) return false;
  std::vector<uint8_t> body;
  Writer w(body);
  w.u32(lifetime);
  w.u32(age_add);
  const size_t n = w.open_prefix(1);
  w.bytes(nonce);
  if (!w.close_prefix(n)) return false;
  const size_t t = w.open_prefix(2);
  w.bytes(ticket);
  if (!w.close_prefix(t)) return false;
  w.u16(0);  // no extensions
  return encode_handshake(HandshakeType::new_session_ticket, body, out);
}

bool encode_key_update(bool update_requested, std::vector<uint8_t>& out) {
  const uint8_t b = update_requested ? 1 : 0;
  return encode_handshake(HandshakeType::key_update, Bytes(&b, 1), out);
}

}  // namespace sluice::tls13
