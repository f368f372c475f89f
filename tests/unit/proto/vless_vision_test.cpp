// Tests for proto/vless Vision: padding blocks, the padding rule, the
// inner-TLS filter and the writer/reader state machines (vless.md section 7),
// including recorded inner TLS 1.3 and TLS 1.2 sequences.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proto/vless/user_id.hpp"
#include "proto/vless/vision_filter.hpp"
#include "proto/vless/vision_padding.hpp"
#include "proto/vless/vision_reader.hpp"
#include "proto/vless/vision_writer.hpp"
#include "support/hex.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::vless;
using namespace sluice::test;

namespace {

UserId spec_user() { return *parse_user_id("bf000d23-0752-40b4-affe-68f7707a9661"); }

void put16(Bytes& b, size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

Bytes record(uint8_t type, const Bytes& body) {
  Bytes r = {type, 0x03, 0x03};
  put16(r, body.size());
  return cat(r, body);
}

Bytes handshake(uint8_t type, const Bytes& body) {
  Bytes h = {type, 0, static_cast<uint8_t>(body.size() >> 8), static_cast<uint8_t>(body.size())};
  return cat(h, body);
}

Bytes fill(size_t n, uint8_t v) { return Bytes(n, v); }

// client_hello: a TLS 1.3 ClientHello as browsers send it (legacy record
// version 03 01, 32-byte session id, TLS 1.3 suites, SNI, supported_versions,
// key_share, padded to 512 bytes of handshake).
Bytes client_hello() {
  Bytes body = hex("0303");
  body = cat(body, fill(32, 0x11));
  body.push_back(32);
  body = cat(body, fill(32, 0x22));
  body = cat(body, hex("0006 1301 1302 1303  01 00"));
  Bytes ext;
  ext = cat(ext, hex("0000 0010 000e 00 000b 6578616d706c652e636f6d"));  // server_name
  ext = cat(ext, hex("002b 0005 04 0304 0303"));                         // supported_versions
  ext = cat(ext, hex("000a 0004 0002 001d"));                            // supported_groups
  ext = cat(ext, hex("0033 0026 0024 001d 0020"));                       // key_share
  ext = cat(ext, fill(32, 0x33));
  ext = cat(ext, hex("000d 0008 0006 0403 0804 0401"));  // signature_algorithms
  size_t have = body.size() + 2 + ext.size() + 4;
  Bytes pad = hex("0015");
  put16(pad, 508 - have);
  ext = cat(ext, cat(pad, fill(508 - have, 0)));
  Bytes e;
  put16(e, ext.size());
  body = cat(body, cat(e, ext));
  Bytes hs = handshake(0x01, body);
  Bytes r = {0x16, 0x03, 0x01};
  put16(r, hs.size());
  return cat(r, hs);
}

// server_hello: a ServerHello record; TLS 1.3 (supported_versions 0304 and a
// key_share) or TLS 1.2 (renegotiation_info, ec_point_formats, EMS).
Bytes server_hello(uint16_t cipher, bool tls13) {
  Bytes body = hex("0303");
  body = cat(body, fill(32, 0x44));
  body.push_back(32);
  body = cat(body, fill(32, 0x55));
  put16(body, cipher);
  body.push_back(0);
  Bytes ext;
  if (tls13) {
    ext = cat(hex("002b 0002 0304  0033 0024 001d 0020"), fill(32, 0x66));
  } else {
    ext = hex("ff01 0001 00  000b 0002 0100  0017 0000");
  }
  Bytes e;
  put16(e, ext.size());
  body = cat(body, cat(e, ext));
  return record(0x16, handshake(0x02, body));
}

Bytes ccs() { return hex("140303 0001 01"); }
Bytes app_data(size_t n, uint8_t v = 0xab) { return record(0x17, fill(n, v)); }

// Block is one decoded padding block.
struct Block {
  uint8_t cmd;
  Bytes content;
  size_t padding;
};

// decode_blocks splits padded wire bytes: blocks until End/Direct, then raw.
std::vector<Block> decode_blocks(const Bytes& wire, bool with_uuid, Bytes* raw_rest) {
  std::vector<Block> out;
  size_t i = with_uuid ? 16 : 0;
  while (i + 5 <= wire.size()) {
    Block b;
    b.cmd = wire[i];
    size_t c = (wire[i + 1] << 8) | wire[i + 2];
    b.padding = (wire[i + 3] << 8) | wire[i + 4];
    i += 5;
    REQUIRE(i + c + b.padding <= wire.size());
    b.content.assign(wire.begin() + static_cast<long>(i), wire.begin() + static_cast<long>(i + c));
    i += c + b.padding;
    out.push_back(b);
    if (b.cmd != 0) break;
  }
  if (raw_rest) raw_rest->assign(wire.begin() + static_cast<long>(i), wire.end());
  return out;
}

// Deterministic randomness: returns |value| clamped below the bound and
// records the bounds asked for.
struct FixedRandom {
  uint32_t value = 0;
  std::vector<uint32_t> bounds;
  static uint32_t call(void* user, uint32_t bound) {
    auto* self = static_cast<FixedRandom*>(user);
    self->bounds.push_back(bound);
    return self->value < bound ? self->value : bound - 1;
  }
  PaddingRandom fn() { return PaddingRandom{&call, this}; }
};

using Spans = std::vector<std::span<const uint8_t>>;

// Side is one end of a Vision connection: the shared state, the writer of
// its sending direction and the reader of its receiving direction.
struct Side {
  TrafficState state;
  FixedRandom rnd;
  VisionWriter writer;
  VisionReader reader;
  explicit Side(bool allow_direct = true)
      : writer(state, spec_user(), rnd.fn(), PaddingSeed{}, allow_direct),
        reader(state, spec_user()) {
    rnd.value = 17;
  }

  // send runs a batch through the writer and returns the wire bytes.
  Bytes send(const std::vector<Bytes>& batch, WriteStep* step_out = nullptr) {
    Spans spans;
    Bytes all;
    for (const auto& b : batch) {
      spans.emplace_back(b.data(), b.size());
      all = cat(all, b);
    }
    Bytes out(writer.max_output_size(spans));
    auto step = writer.write(spans, out);
    REQUIRE(step);
    if (step_out) *step_out = *step;
    if (step->passthrough) return all;
    out.resize(step->len);
    return out;
  }

  // recv hands one buffer to the reader (in place) and returns what it delivers.
  Bytes recv(Bytes buf, ReadStep* step_out = nullptr) {
    auto step = reader.on_buffer(buf, buf.data());
    REQUIRE(step);
    if (step_out) *step_out = *step;
    buf.resize(step->len);
    return buf;
  }
};

}  // namespace

TEST_CASE("vision padding block: the spec example (7.2)", "[proto][vless][vision]") {
  UserId id = spec_user();
  uint8_t out[64];
  auto n = encode_block(VisionCommand::padding_continue, sv(bytes("hello")), 3, &id, out);
  REQUIRE(n);
  CHECK(Bytes(out, out + *n) ==
        hex("bf000d23075240b4affe68f7707a9661 00 0005 0003 68656c6c6f 000000"));
  n = encode_block(VisionCommand::padding_direct, {}, 0, nullptr, out);
  REQUIRE(n);
  CHECK(Bytes(out, out + *n) == hex("02 0000 0000"));
  CHECK(encode_block(VisionCommand::padding_end, sv(bytes("hello")), 3, &id,
                     std::span<uint8_t>(out, 28))
            .error() == Errc::buffer_too_small);
  Bytes huge(65536);
  CHECK(encode_block(VisionCommand::padding_end, sv(huge), 0, nullptr, out).error() ==
        Errc::invalid_argument);
  CHECK(block_size(5, 3, true) == 29);
}

TEST_CASE("vision padding length rule (7.3)", "[proto][vless][vision]") {
  FixedRandom r;
  r.value = 7;
  CHECK(padding_length(100, true, r.fn()) == 7 + 900 - 100);
  CHECK(r.bounds.back() == 500);
  CHECK(padding_length(0, true, r.fn()) == 907);
  CHECK(padding_length(899, true, r.fn()) == 8);
  CHECK(padding_length(900, true, r.fn()) == 7);  // not < 900: short
  CHECK(r.bounds.back() == 256);
  CHECK(padding_length(100, false, r.fn()) == 7);
  CHECK(r.bounds.back() == 256);
  r.value = 255;
  CHECK(padding_length(8000, false, r.fn()) == 8192 - 21 - 8000);  // the cap
  CHECK(padding_length(8171, false, r.fn()) == 0);
  CHECK(padding_length(9000, false, r.fn()) == 0);
  r.value = 499;
  CHECK(padding_length(0, true, r.fn()) == 1399);
  // A custom testseed.
  PaddingSeed seed{100, 10, 200, 4};
  r.value = 3;
  CHECK(padding_length(50, true, r.fn(), seed) == 3 + 200 - 50);
  CHECK(padding_length(150, true, r.fn(), seed) == 3);
  // The CSPRNG stays in range.
  auto s = secure_padding_random();
  for (int i = 0; i < 200; ++i) {
    uint32_t p = padding_length(0, true, s);
    CHECK(p >= 900);
    CHECK(p < 1400);
  }
}

TEST_CASE("vision unpadder: blocks split at every byte (7.6)", "[proto][vless][vision]") {
  UserId id = spec_user();
  auto block = [&](VisionCommand c, const Bytes& content, size_t pad, bool uuid) {
    Bytes b(block_size(content.size(), pad, uuid));
    auto n = encode_block(c, sv(content), pad, uuid ? &id : nullptr, b);
    REQUIRE(n);
    return b;
  };
  Bytes stream = block(VisionCommand::padding_continue, bytes("abc"), 5, true);
  stream = cat(stream, block(VisionCommand::padding_continue, {}, 3, false));
  stream = cat(stream, block(VisionCommand::padding_continue, bytes("defg"), 0, false));
  stream = cat(stream, block(VisionCommand::padding_end, bytes("hi"), 2, false));
  stream = cat(stream, bytes("tail"));
  const Bytes expect = bytes("abcdefghitail");

  auto run = [&](const std::vector<size_t>& cuts) {
    Unpadder u(id);
    Bytes got;
    size_t prev = 0;
    std::vector<size_t> all = cuts;
    all.push_back(stream.size());
    for (size_t c : all) {
      Bytes piece(stream.begin() + static_cast<long>(prev), stream.begin() + static_cast<long>(c));
      prev = c;
      auto n = u.unpad(piece, piece.data());  // in place
      REQUIRE(n);
      got.insert(got.end(), piece.begin(), piece.begin() + static_cast<long>(*n));
    }
    CHECK(u.initial());
    return got;
  };
  CHECK(run({}) == expect);
  // One cut anywhere after the first 21 bytes.
  for (size_t c = 21; c < stream.size(); ++c) CHECK(run({c}) == expect);
  // Byte by byte after the first 21.
  std::vector<size_t> every;
  for (size_t c = 21; c < stream.size(); ++c) every.push_back(c);
  CHECK(run(every) == expect);

  // Initial state: short buffers and buffers without the id are raw.
  {
    Unpadder u(id);
    Bytes in(stream.begin(), stream.begin() + 20);
    Bytes out(in.size());
    CHECK(*u.unpad(in, out.data()) == 20);
    CHECK(out == in);
    CHECK(u.initial());
  }
  {
    Unpadder u(id);
    Bytes other = stream;
    other[0] ^= 1;
    Bytes out(other.size());
    CHECK(*u.unpad(other, out.data()) == other.size());
    CHECK(out == other);
  }
  // Truncated blocks stay pending (the stream is not over), never error.
  for (size_t n = 21; n < stream.size() - 4; ++n) {
    Unpadder u(id);
    Bytes in(stream.begin(), stream.begin() + static_cast<long>(n));
    CHECK(u.unpad(in, in.data()));
    CHECK(!u.initial());
  }
  // Unknown commands.
  for (uint8_t cmd : {3, 4, 0x80, 0xff}) {
    Unpadder u(id);
    Bytes bad = stream;
    bad[16] = cmd;
    CHECK(u.unpad(bad, bad.data()).error() == Errc::protocol_violation);
  }
  // A Direct block resets to the initial state, raw rest follows.
  {
    Unpadder u(id);
    Bytes d = cat(block(VisionCommand::padding_direct, bytes("x"), 1, true), bytes("yz"));
    CHECK(*u.unpad(d, d.data()) == 3);
    CHECK(u.current_command() == 2);
    CHECK(u.initial());
  }
}

TEST_CASE("vision filter: inner ClientHello / ServerHello (7.4)", "[proto][vless][vision]") {
  Bytes sh13 = server_hello(0x1301, true);
  CHECK(sh13[43] == 32);
  {
    TrafficState s;
    CHECK(!filter_tls_one(s, client_hello()));
    CHECK(s.is_tls);
    CHECK(!s.is_tls12_or_above);
    CHECK(s.packets_to_filter == 7);
    Bytes flight = cat(cat(sh13, ccs()), app_data(40));
    CHECK(filter_tls_one(s, flight));
    CHECK(s.is_tls12_or_above);
    CHECK(s.cipher == 0x1301);
    CHECK(s.enable_xtls);
    CHECK(s.packets_to_filter == 0);
  }
  for (uint16_t c : {0x1302, 0x1303, 0x1304}) {
    TrafficState s;
    filter_tls_one(s, server_hello(c, true));
    CHECK(s.enable_xtls);
  }
  {
    TrafficState s;  // CCM_8: TLS 1.3 but no direct copy
    CHECK(filter_tls_one(s, server_hello(0x1305, true)));
    CHECK(!s.enable_xtls);
    CHECK(s.packets_to_filter == 0);
  }
  {
    TrafficState s;  // TLS 1.2: concluded without XTLS
    Bytes flight = cat(server_hello(0xc02f, false), record(0x16, handshake(0x0b, fill(900, 1))));
    CHECK(filter_tls_one(s, flight));
    CHECK(s.is_tls12_or_above);
    CHECK(s.cipher == 0xc02f);
    CHECK(!s.enable_xtls);
    CHECK(s.packets_to_filter == 0);
  }
  {
    TrafficState s;  // a ServerHello split across buffers is still recognised
    // Cut after the cipher (>= 79 bytes) and before supported_versions (81).
    Bytes part1(sh13.begin(), sh13.begin() + 80);
    Bytes part2(sh13.begin() + 80, sh13.end());
    CHECK(!filter_tls_one(s, part1));
    CHECK(s.cipher == 0x1301);
    CHECK(filter_tls_one(s, part2));
    CHECK(s.enable_xtls);
  }
  {
    TrafficState s;  // shorter than 79 bytes in the first buffer: cipher unknown (as Xray)
    Bytes part1(sh13.begin(), sh13.begin() + 60);
    Bytes part2(sh13.begin() + 60, sh13.end());
    filter_tls_one(s, part1);
    CHECK(filter_tls_one(s, part2));
    CHECK(s.cipher == 0);
    CHECK(!s.enable_xtls);
  }
  {
    TrafficState s;  // non-TLS traffic uses up the budget
    for (int i = 0; i < 8; ++i) filter_tls_one(s, bytes("GET / HTTP/1.1\r\n"));
    CHECK(s.packets_to_filter == 0);
    CHECK(!s.is_tls);
  }
  {
    TrafficState s;  // filter_tls stops at the concluding buffer
    Bytes a = client_hello();
    Bytes c = app_data(5);
    std::vector<std::span<const uint8_t>> bufs = {a, sh13, c};
    filter_tls(s, bufs);
    CHECK(s.packets_to_filter == 0);
    CHECK(s.enable_xtls);
  }
}

TEST_CASE("vision is_complete_record", "[proto][vless][vision]") {
  auto complete = [](std::vector<Bytes> bufs) {
    std::vector<std::span<const uint8_t>> s;
    for (auto& b : bufs) s.emplace_back(b.data(), b.size());
    return is_complete_record(s);
  };
  Bytes r1 = app_data(10);
  Bytes r2 = app_data(300);
  CHECK(complete({r1}));
  CHECK(complete({cat(r1, r2)}));
  CHECK(complete({r1, r2}));
  CHECK(complete({Bytes(r2.begin(), r2.begin() + 7), Bytes(r2.begin() + 7, r2.end())}));
  CHECK(complete({}));
  CHECK(!complete({Bytes(r1.begin(), r1.end() - 1)}));
  CHECK(!complete({cat(r1, hex("17 03"))}));
  CHECK(!complete({ccs()}));
  CHECK(!complete({cat(r1, ccs())}));
  CHECK(!complete({hex("170303 0000")}));
  CHECK(!complete({hex("170303 0000 17")}));
  CHECK(!complete({hex("170301 0001 00")}));
}

TEST_CASE("vision writer: empty write and buffer checks (7.5)", "[proto][vless][vision]") {
  Side c;
  Bytes out(c.writer.max_output_size({}));
  auto s = c.writer.write_empty(out);
  REQUIRE(s);
  Bytes wire(out.begin(), out.begin() + static_cast<long>(s->len));
  UserId id = spec_user();
  CHECK(Bytes(wire.begin(), wire.begin() + 16) == Bytes(id.begin(), id.end()));
  auto blocks = decode_blocks(wire, true, nullptr);
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].cmd == 0);
  CHECK(blocks[0].content.empty());
  CHECK(blocks[0].padding == 17 + 900);  // long padding
  // The id is written once per direction.
  s = c.writer.write_empty(out);
  REQUIRE(s);
  CHECK(s->len == 5 + 917);
  // Too small an output buffer changes nothing.
  Bytes data = bytes("hello");
  Spans one = {std::span<const uint8_t>(data)};
  Bytes tiny(10);
  CHECK(c.writer.write(one, tiny).error() == Errc::buffer_too_small);
  CHECK(c.state.packets_to_filter == 8);
}

TEST_CASE("vision recorded sequence: inner TLS 1.3 switches both directions to direct",
          "[proto][vless][vision]") {
  Side client;
  Side server;
  UserId id = spec_user();

  // 1. The inner ClientHello goes up, padded long, after the user id.
  Bytes ch = client_hello();
  WriteStep ws;
  Bytes up1 = client.send({ch}, &ws);
  CHECK(!ws.switch_to_direct);
  CHECK(Bytes(up1.begin(), up1.begin() + 16) == Bytes(id.begin(), id.end()));
  auto b1 = decode_blocks(up1, true, nullptr);
  REQUIRE(b1.size() == 1);
  CHECK(b1[0].cmd == 0);
  CHECK(b1[0].content == ch);
  CHECK(b1[0].padding == 17 + 900 - ch.size());
  CHECK(client.state.is_tls);
  ReadStep rs;
  CHECK(server.recv(up1, &rs) == ch);
  CHECK(!rs.switch_to_direct);
  CHECK(server.state.is_tls);
  CHECK(server.reader.within_padding());

  // 2. The server flight (ServerHello 1.3, CCS, encrypted handshake) comes
  //    down: the server's writer learns TLS 1.3 + AES-128-GCM.
  Bytes flight = cat(cat(server_hello(0x1301, true), ccs()), app_data(2400));
  Bytes down1 = server.send({flight}, &ws);
  CHECK(server.state.enable_xtls);
  CHECK(!ws.switch_to_direct);
  auto d1 = decode_blocks(down1, true, nullptr);
  REQUIRE(d1.size() == 1);
  CHECK(d1[0].cmd == 0);
  CHECK(d1[0].padding == 17);  // content >= 900: short padding
  CHECK(client.recv(down1, &rs) == flight);
  CHECK(client.state.enable_xtls);
  CHECK(client.state.packets_to_filter == 0);

  // 3. Client CCS + Finished: not a complete batch of application data.
  Bytes fin = cat(ccs(), app_data(53));
  Bytes up2 = client.send({fin}, &ws);
  auto b2 = decode_blocks(up2, false, nullptr);
  REQUIRE(b2.size() == 1);
  CHECK(b2[0].cmd == 0);
  CHECK(b2[0].padding == 17 + 900 - fin.size());
  CHECK(server.recv(up2) == fin);

  // 4. The first application data up: Direct, and the uplink switches.
  Bytes req = app_data(517, 0xcd);
  Bytes up3 = client.send({req}, &ws);
  CHECK(ws.switch_to_direct);
  CHECK(client.writer.direct());
  CHECK(!client.writer.padding());
  auto b3 = decode_blocks(up3, false, nullptr);
  REQUIRE(b3.size() == 1);
  CHECK(b3[0].cmd == 2);
  CHECK(b3[0].padding == 17 + 900 - req.size());  // long
  CHECK(server.recv(up3, &rs) == req);
  CHECK(rs.switch_to_direct);
  CHECK(server.reader.direct());

  // 5. Two records down (tickets + response), one batch: Continue, Direct.
  Bytes t1 = app_data(200, 1);
  Bytes t2 = app_data(3000, 2);
  Bytes down2 = server.send({t1, t2}, &ws);
  CHECK(ws.switch_to_direct);
  Bytes rest;
  auto d2 = decode_blocks(down2, false, &rest);
  REQUIRE(d2.size() == 2);
  CHECK(d2[0].cmd == 0);
  CHECK(d2[0].content == t1);
  CHECK(d2[0].padding == 17 + 900 - t1.size());  // long for the first record
  CHECK(d2[1].cmd == 2);
  CHECK(d2[1].content == t2);
  CHECK(d2[1].padding == 17);  // short after it
  CHECK(rest.empty());
  CHECK(client.recv(down2, &rs) == cat(t1, t2));
  CHECK(rs.switch_to_direct);
  CHECK(client.reader.direct());

  // 6. After the switch both directions pass through untouched, and the
  //    events are not repeated.
  Bytes more = app_data(100, 9);
  CHECK(client.send({more}, &ws) == more);
  CHECK(ws.passthrough);
  CHECK(!ws.switch_to_direct);
  CHECK(server.recv(more, &rs) == more);
  CHECK(!rs.switch_to_direct);
  CHECK(server.send({more}, &ws) == more);
  CHECK(client.recv(more, &rs) == more);
}

TEST_CASE("vision recorded sequence: inner TLS 1.2 never switches", "[proto][vless][vision]") {
  Side client;
  Side server;
  bool any_switch = false;
  WriteStep ws;
  ReadStep rs;
  auto up = [&](const Bytes& b) {
    Bytes wire = client.send({b}, &ws);
    any_switch |= ws.switch_to_direct;
    Bytes got = server.recv(wire, &rs);
    any_switch |= rs.switch_to_direct;
    CHECK(got == b);
    return wire;
  };
  auto down = [&](const Bytes& b) {
    Bytes wire = server.send({b}, &ws);
    any_switch |= ws.switch_to_direct;
    Bytes got = client.recv(wire, &rs);
    any_switch |= rs.switch_to_direct;
    CHECK(got == b);
    return wire;
  };
  up(client_hello());
  // ServerHello (no supported_versions) + Certificate + ServerHelloDone.
  down(cat(cat(server_hello(0xc02f, false), record(0x16, handshake(0x0b, fill(1200, 7)))),
           record(0x16, handshake(0x0e, {}))));
  CHECK(server.state.is_tls12_or_above);
  CHECK(client.state.is_tls12_or_above);
  CHECK(!server.state.enable_xtls);
  CHECK(!client.state.enable_xtls);
  CHECK(server.state.packets_to_filter == 0);
  // ClientKeyExchange + CCS + Finished; then CCS + Finished down.
  up(cat(cat(record(0x16, handshake(0x10, fill(33, 3))), ccs()), record(0x16, fill(40, 4))));
  down(cat(ccs(), record(0x16, fill(40, 5))));
  // Application data both ways: End, never Direct.
  Bytes w = up(app_data(300));
  auto b = decode_blocks(w, false, nullptr);
  REQUIRE(b.size() == 1);
  CHECK(b[0].cmd == 1);
  CHECK(!client.writer.padding());
  w = down(app_data(5000));
  b = decode_blocks(w, false, nullptr);
  REQUIRE(b.size() == 1);
  CHECK(b[0].cmd == 1);
  for (int i = 0; i < 5; ++i) {
    up(app_data(1000 + static_cast<size_t>(i)));
    down(app_data(2000));
  }
  CHECK(!any_switch);
  CHECK(!client.reader.direct());
  CHECK(!server.reader.direct());
  CHECK(!client.writer.direct());
  CHECK(!server.writer.direct());
  CHECK(!client.reader.within_padding());
  CHECK(!server.reader.within_padding());
}

TEST_CASE("vision writer: non-TLS traffic ends padding one packet early",
          "[proto][vless][vision]") {
  Side client;
  Side server;
  std::vector<int> cmds;
  for (int i = 0; i < 9; ++i) {
    Bytes msg = bytes("GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
    WriteStep ws;
    Bytes wire = client.send({msg}, &ws);
    if (ws.passthrough) {
      cmds.push_back(-1);
    } else {
      auto b = decode_blocks(wire, i == 0, nullptr);
      REQUIRE(b.size() == 1);
      cmds.push_back(b[0].cmd);
      CHECK(b[0].padding == 17);  // not TLS: short padding
    }
    CHECK(server.recv(wire) == msg);
  }
  CHECK(cmds == std::vector<int>{0, 0, 0, 0, 0, 0, 1, -1, -1});
  CHECK(!server.reader.within_padding());
}

TEST_CASE("vision writer: rule b sends the rest of the batch unpadded", "[proto][vless][vision]") {
  Side client;
  client.state.packets_to_filter = 3;
  Bytes a = bytes("aaaa");
  Bytes b = bytes("bbbb");
  Bytes c = bytes("cccc");
  WriteStep ws;
  Bytes wire = client.send({a, b, c}, &ws);
  // Filter: 3 -> 0 over three buffers; rule b fires on the first buffer.
  Bytes rest;
  auto blocks = decode_blocks(wire, true, &rest);
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].cmd == 1);
  CHECK(blocks[0].content == a);
  CHECK(rest == cat(b, c));
  Side server;
  CHECK(server.recv(wire) == cat(cat(a, b), c));
}

TEST_CASE("vision writer: big buffers are reshaped below 8171 bytes", "[proto][vless][vision]") {
  Side server;
  server.state.is_tls = server.state.is_tls12_or_above = server.state.enable_xtls = true;
  server.state.packets_to_filter = 0;
  // One 8192-byte chunk of records: 8000-byte record + a 187-byte one.
  Bytes r1 = app_data(7995);
  Bytes r2 = app_data(187);
  Bytes big = cat(r1, r2);
  REQUIRE(big.size() == 8192);
  WriteStep ws;
  Bytes wire = server.send({big}, &ws);
  CHECK(ws.switch_to_direct);
  auto first = decode_blocks(wire, true, nullptr);
  REQUIRE(first.size() == 2);
  CHECK(first[0].cmd == 0);
  CHECK(first[0].content == r1);  // split at the last 17 03 03
  CHECK(first[0].padding <= 8192 - 21 - r1.size());
  CHECK(first[1].cmd == 2);
  CHECK(first[1].content == r2);
  Side client;
  client.state.packets_to_filter = 0;
  ReadStep rs;
  CHECK(client.recv(wire, &rs) == big);
  CHECK(rs.switch_to_direct);

  // No record start in range: split at 4096; inputs over 8192 are cut first.
  Side s2;
  s2.state.packets_to_filter = 0;
  s2.state.is_tls12_or_above = true;  // keeps rule b out of the way
  Bytes blob(20000, 0x42);
  Bytes w2 = s2.send({blob});
  std::vector<size_t> sizes;
  size_t i = 16;
  while (i < w2.size()) {
    size_t c = (w2[i + 1] << 8) | w2[i + 2];
    size_t p = (w2[i + 3] << 8) | w2[i + 4];
    sizes.push_back(c);
    i += 5 + c + p;
  }
  CHECK(sizes == std::vector<size_t>{4096, 4096, 4096, 4096, 3616});
  Side c2;
  c2.state.packets_to_filter = 0;
  CHECK(c2.recv(w2) == blob);
}

TEST_CASE("vision writer: a client may refuse uplink direct (7.7)", "[proto][vless][vision]") {
  Side client(/*allow_direct=*/false);
  client.state.is_tls = client.state.is_tls12_or_above = client.state.enable_xtls = true;
  client.state.packets_to_filter = 0;
  WriteStep ws;
  Bytes wire = client.send({app_data(100)}, &ws);
  CHECK(!ws.switch_to_direct);
  auto b = decode_blocks(wire, true, nullptr);
  REQUIRE(b.size() == 1);
  CHECK(b[0].cmd == 1);
  CHECK(!client.writer.padding());
}

TEST_CASE("vision reader: split deliveries and the direct event", "[proto][vless][vision]") {
  Side server;
  server.state.is_tls = server.state.is_tls12_or_above = server.state.enable_xtls = true;
  server.state.packets_to_filter = 0;
  Bytes t1 = app_data(300, 1);
  Bytes t2 = app_data(50, 2);
  WriteStep ws;
  Bytes wire = server.send({t1, t2}, &ws);
  REQUIRE(ws.switch_to_direct);
  Bytes after = bytes("raw-inner-tls-bytes");
  // The client reads the padded bytes split at every position past the
  // first 21 bytes; the direct event comes exactly once, on the buffer that
  // completes the Direct block, and everything is delivered in order.
  for (size_t cut = 21; cut < wire.size(); ++cut) {
    Side client;
    client.state.packets_to_filter = 0;
    Bytes got;
    int events = 0;
    ReadStep rs;
    got = cat(got, client.recv(Bytes(wire.begin(), wire.begin() + static_cast<long>(cut)), &rs));
    events += rs.switch_to_direct;
    got = cat(got, client.recv(Bytes(wire.begin() + static_cast<long>(cut), wire.end()), &rs));
    events += rs.switch_to_direct;
    CHECK(rs.switch_to_direct);
    got = cat(got, client.recv(after, &rs));
    events += rs.switch_to_direct;
    CHECK(events == 1);
    CHECK(got == cat(cat(t1, t2), after));
  }
  // Byte by byte after the first 21.
  Side client;
  client.state.packets_to_filter = 0;
  Bytes got = client.recv(Bytes(wire.begin(), wire.begin() + 21));
  for (size_t i = 21; i < wire.size(); ++i) got = cat(got, client.recv(Bytes{wire[i]}));
  CHECK(client.reader.direct());
  CHECK(got == cat(t1, t2));
  // A reader with a different id sees raw bytes.
  TrafficState st;
  UserId other = spec_user();
  other[0] ^= 0xff;
  VisionReader r(st, other);
  Bytes copy = wire;
  auto step = r.on_buffer(copy, copy.data());
  REQUIRE(step);
  CHECK(step->len == wire.size());
}

TEST_CASE("vision reader: a stream cut inside a padding block is detectable",
          "[proto][vless][vision]") {
  Side server;
  Bytes t1 = app_data(300, 1);
  Bytes wire = server.send({t1});
  // Every cut inside the first block leaves the reader in_block; the whole
  // block leaves it outside. (A first buffer shorter than user id + block
  // header, 21 bytes, is raw data to Xray's reader and to ours.)
  for (size_t cut = 21; cut < wire.size(); ++cut) {
    Side client;
    client.recv(Bytes(wire.begin(), wire.begin() + static_cast<long>(cut)));
    INFO("cut at " << cut << " of " << wire.size());
    CHECK(client.reader.in_block());
  }
  Side client;
  CHECK(client.recv(wire) == t1);
  CHECK_FALSE(client.reader.in_block());
  // Still padding (the block was a Continue) but between blocks: a stream
  // may end here.
  CHECK(client.reader.within_padding());
}
