// Error texts a user sees for bad configuration: positions, precise numbers,
// bounded echoes of user input, and files that are not configurations.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "config/json_position.hpp"
#include "sluice/config.hpp"

using namespace sluice;
using sluice::config::locate_path;
using sluice::config::TextPosition;

namespace {

std::string error_of(const std::string& json) {
  ConfigDiagnostics d;
  auto r = parse_config(json, &d);
  REQUIRE(!r);
  return d.error;
}

}  // namespace

TEST_CASE("config errors: a number overflowing a double names its line and column",
          "[config][errors]") {
  const std::string e =
      error_of("{\n  \"inbounds\": [{\"type\": \"mixed\",\n  \"listen_port\": 1e400}]}");
  INFO(e);
  CHECK(e.rfind("(document): parse error at line 3, column 18: number 1e400 is out of range", 0) ==
        0);
  CHECK(e.find("unexpected") == std::string::npos);
  // Negative overflow too.
  CHECK(error_of("{\"x\": -1e999}").find("line 1, column 7: number -1e999") != std::string::npos);
}

TEST_CASE("config errors: -0 for an integer field is named as written, with its position",
          "[config][errors]") {
  const std::string e =
      error_of("{\"inbounds\": [\n {\"type\": \"socks\",\n  \"listen_port\": -0}]}");
  INFO(e);
  CHECK(e == "inbounds[0].listen_port: expected integer 0..65535, got -0 (line 3, column 18)");
  const std::string e2 =
      error_of(R"({"outbounds": [{"type": "direct", "tag": "d", "routing_mark": -0}]})");
  INFO(e2);
  // Either the uint32 reader or the field's own check names -0, never "got 0".
  CHECK(e2.find("got 0") == std::string::npos);
}

TEST_CASE("config errors: field errors carry the line and column of the value",
          "[config][errors]") {
  const std::string e = error_of(
      "{\n  // a comment with \"quotes\" and [brackets]\n  \"inbounds\": [\n    {\"type\": "
      "\"socks\", \"listen_port\": 1},\n    {\"type\": \"socks\", \"listen_port\": \"x\"}\n  ]\n}");
  INFO(e);
  CHECK(e.rfind("inbounds[1].listen_port: ", 0) == 0);
  CHECK(e.substr(e.size() - 20) == " (line 5, column 38)");
  // An error on a value names where the value starts.
  const std::string e2 = error_of("{\"inbounds\": [{\"type\": \"nope\", \"listen_port\": 1}]}");
  CHECK(e2.rfind("inbounds[0].type: unsupported inbound type", 0) == 0);
  CHECK(e2.find("(line 1, column 24)") != std::string::npos);
}

TEST_CASE("config errors: an unknown key is echoed cut to 64 bytes", "[config][errors]") {
  const std::string key(1 << 20, 'k');
  ConfigDiagnostics d;
  auto r = parse_config("{\"" + key + "\": 1}", &d);
  REQUIRE(r);
  REQUIRE(d.warnings.size() == 1);
  CHECK(d.warnings[0] == std::string(64, 'k') + "\u2026: unknown field, ignored");
  // A cut never splits a UTF-8 character: 63 ASCII bytes then a 2-byte one.
  const std::string utf = std::string(63, 'a') + "\xc3\xa9" + std::string(10, 'b');
  ConfigDiagnostics d2;
  REQUIRE(parse_config("{\"log\": {\"" + utf + "\": 1}}", &d2));
  REQUIRE(d2.warnings.size() == 1);
  CHECK(d2.warnings[0] == "log." + std::string(63, 'a') + "\u2026: unknown field, ignored");
}

TEST_CASE("locate_path: paths, comments, escapes, deep nesting skipped", "[config][errors]") {
  const std::string text =
      "{\"a\": {\"b\\\"c\": [1, {\"d\": 2}]}, /* \"e\": 0 */ \"e\": [[[[[]]]]], \"f\": 3}";
  TextPosition p;
  REQUIRE(locate_path(text, "a.b\"c[1].d", &p));
  CHECK(p.line == 1);
  CHECK(text[p.column - 1] == '2');
  REQUIRE(locate_path(text, "f", &p));
  CHECK(text[p.column - 1] == '3');
  CHECK_FALSE(locate_path(text, "a.b\"c[2]", &p));
  CHECK_FALSE(locate_path(text, "(document)", &p));
  CHECK_FALSE(locate_path(text, "a.b", &p));  // "a.b" is not a prefix component of a.b"c
  // Text the parser reads differently from a naive scan ends, never loops
  // (found by config_fuzz: a "//" comment the parser ends at a carriage
  // return, a NUL that ends the document, then a stray '/' in a value).
  const std::string odd = std::string("[51,5,//\r\"\",5]\0\x1f\0\n{\"a\":[1 / 2]}", 31);
  CHECK_FALSE(locate_path(odd, "[4]", &p));
  CHECK_FALSE(locate_path("{\"a\": [1, / 2], \"b\": 3}", "b", &p));
  REQUIRE(locate_path("[1, // one\r 2]", "[1]", &p));
  CHECK(p.column == 13);
  ConfigDiagnostics d;
  CHECK_FALSE(parse_config(odd, &d));
  CHECK(!d.error.empty());
  // A million nested arrays beside the path cost no recursion.
  std::string deep =
      "{\"x\": " + std::string(1000000, '[') + std::string(1000000, ']') + ",\n\"y\": 1}";
  REQUIRE(locate_path(deep, "y", &p));
  CHECK(p.line == 2);
  CHECK(p.column == 6);
}

TEST_CASE("config errors: the file is capped and must be a regular file", "[config][errors]") {
  ConfigDiagnostics d;
  auto dev = load_config_file("/dev/zero", &d);
  CHECK(dev.error() == Errc::config_io);
  CHECK(d.error == "/dev/zero: not a regular file (a character device)");

  const std::string fifo = "/tmp/sluice_cfg_fifo_" + std::to_string(::getpid());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  ConfigDiagnostics d2;
  auto f = load_config_file(fifo, &d2);  // returns at once: no writer is waited for
  ::unlink(fifo.c_str());
  CHECK(f.error() == Errc::config_io);
  CHECK(d2.error == fifo + ": not a regular file (a FIFO)");

  ConfigDiagnostics d3;
  CHECK(load_config_file("/tmp", &d3).error() == Errc::config_io);
  CHECK(d3.error == "/tmp: not a regular file (a directory)");

  const std::string big = "/tmp/sluice_cfg_big_" + std::to_string(::getpid()) + ".json";
  {
    std::ofstream o(big);
    o << "{}" << std::string((4u << 20) - 1, ' ');
  }
  ConfigDiagnostics d4;
  CHECK(load_config_file(big, &d4).error() == Errc::config_io);
  CHECK(d4.error == big + ": larger than 4 MiB");
  ::truncate(big.c_str(), 4u << 20);  // exactly the cap still loads
  ConfigDiagnostics d5;
  CHECK(load_config_file(big, &d5));
  std::remove(big.c_str());
}
