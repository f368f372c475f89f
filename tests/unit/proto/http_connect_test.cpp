#include <catch2/catch.hpp>

#include "proto/base64.hpp"
#include "proto/http_connect/connect_client.hpp"
#include "proto/http_connect/http_head.hpp"
#include "proto/http_connect/proxy_server.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::http;
using namespace sluice::test;

namespace {

ParseResult<ProxyRequest> parse(std::string_view s) { return parse_proxy_request(sv(bytes(s))); }

}  // namespace

TEST_CASE("http request head basics", "[proto][http]") {
  std::string s = "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nX-A:  v  \r\n\r\nBODY";
  auto r = parse_request_head(sv(bytes(s)));
  REQUIRE(r.done());
  CHECK(r.consumed == s.size() - 4);
  CHECK(r.value.method == "GET");
  CHECK(r.value.target == "http://example.com/");
  CHECK(r.value.version_minor == 1);
  REQUIRE(r.value.headers.size() == 2);
  CHECK(r.value.headers[1].name == "X-A");
  CHECK(r.value.headers[1].value == "v");
  CHECK(every_prefix_needs_more(bytes(s.substr(0, s.size() - 4)), parse_request_head));

  // Bare LF line endings, leading empty line, HTTP/1.0, empty value.
  auto lf = parse_request_head(sv(bytes("\r\nCONNECT a:1 HTTP/1.0\nX:\n\n")));
  REQUIRE(lf.done());
  CHECK(lf.value.version_minor == 0);
  CHECK(lf.value.headers[0].value.empty());
  CHECK(find_header(lf.value.headers, "x") != nullptr);
  CHECK(find_header(lf.value.headers, "y") == nullptr);
}

TEST_CASE("http request head malformed input", "[proto][http]") {
  struct Case {
    const char* text;
    Errc error;
  };
  Case cases[] = {
      {"GET\r\n\r\n", Errc::malformed},
      {"GET /\r\n\r\n", Errc::malformed},
      {"GET  / HTTP/1.1\r\n\r\n", Errc::malformed},
      {"GET / HTTP/1.1 \r\n\r\n", Errc::malformed},
      {"G(T / HTTP/1.1\r\n\r\n", Errc::malformed},
      {"GET / HTTP/2.0\r\n\r\n", Errc::unsupported_version},
      {"GET / HTTP/0.9\r\n\r\n", Errc::unsupported_version},
      {"GET / HTTQ/1.1\r\n\r\n", Errc::malformed},
      {"GET / HTTP/1.x\r\n\r\n", Errc::malformed},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", Errc::malformed},
      {"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", Errc::malformed},
      {"GET / HTTP/1.1\r\nName : v\r\n\r\n", Errc::malformed},
      {"GET / HTTP/1.1\r\n: v\r\n\r\n", Errc::malformed},
      {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", Errc::malformed},
      {"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", Errc::malformed},
      {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", Errc::malformed},
      {"\rGET / HTTP/1.1\r\n\r\n", Errc::malformed},
  };
  for (auto& c : cases) {
    INFO(c.text);
    auto r = parse_request_head(sv(bytes(c.text)));
    CHECK(r.failed());
    CHECK(r.error == c.error);
  }
  // Binary garbage fails before a line ends (a TLS ClientHello on a mixed port).
  CHECK(parse_request_head(sv(bytes({0x16, 0x03, 0x01}))).error == Errc::malformed);
  std::string nul("GET \0", 5);
  CHECK(parse_request_head(sv(bytes(nul))).error == Errc::malformed);
}

TEST_CASE("http request head limits", "[proto][http]") {
  std::string head = "GET http://a/ HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i) head += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(parse_request_head(sv(bytes(head + "\r\n"))).done());
  CHECK(parse_request_head(sv(bytes(head + "X-100: v\r\n\r\n"))).error == Errc::limit_exceeded);

  // 8 KiB without an end: too large, even before the empty line arrives.
  std::string big = "GET http://a/ HTTP/1.1\r\nX: " + std::string(kMaxHeadSize, 'a');
  CHECK(parse_request_head(sv(bytes(big))).error == Errc::frame_too_large);
  CHECK(parse_request_head(sv(bytes(big + "\r\n\r\n"))).error == Errc::frame_too_large);
  // Exactly at the limit is fine.
  std::string base = "GET http://a/ HTTP/1.1\r\nX: ";
  std::string exact = base + std::string(kMaxHeadSize - base.size() - 4, 'a') + "\r\n\r\n";
  REQUIRE(exact.size() == kMaxHeadSize);
  CHECK(parse_request_head(sv(bytes(exact))).done());
  CHECK(parse_request_head(
            sv(bytes(base + std::string(kMaxHeadSize - base.size() - 3, 'a') + "\r\n\r\n")))
            .error == Errc::frame_too_large);
  CHECK(status_for_error(Errc::frame_too_large) == 431);
  CHECK(status_for_error(Errc::limit_exceeded) == 431);
  CHECK(status_for_error(Errc::malformed) == 400);
}

TEST_CASE("http proxy CONNECT requests", "[proto][http]") {
  auto r = parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  REQUIRE(r.done());
  CHECK(r.value.connect);
  CHECK(r.value.target.to_string() == "example.com:443");
  CHECK(r.value.path.empty());

  auto v6 = parse("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n");
  REQUIRE(v6.done());
  CHECK(v6.value.target.to_string() == "[::1]:8443");
  auto v4 = parse("CONNECT 10.1.2.3:22 HTTP/1.1\r\n\r\n");
  REQUIRE(v4.done());
  CHECK(v4.value.target.kind() == TargetAddress::ipv4);

  for (const char* bad :
       {"CONNECT example.com HTTP/1.1\r\n\r\n", "CONNECT example.com: HTTP/1.1\r\n\r\n",
        "CONNECT example.com:0 HTTP/1.1\r\n\r\n", "CONNECT example.com:65536 HTTP/1.1\r\n\r\n",
        "CONNECT example.com:44x HTTP/1.1\r\n\r\n", "CONNECT :443 HTTP/1.1\r\n\r\n",
        "CONNECT u@example.com:443 HTTP/1.1\r\n\r\n",
        "CONNECT http://example.com:443/ HTTP/1.1\r\n\r\n", "CONNECT [::1 HTTP/1.1\r\n\r\n",
        "CONNECT [::1]x443 HTTP/1.1\r\n\r\n", "CONNECT example.com:1234567 HTTP/1.1\r\n\r\n"}) {
    INFO(bad);
    CHECK(parse(bad).error == Errc::malformed);
  }
}

TEST_CASE("http proxy absolute-form requests", "[proto][http]") {
  auto r = parse("GET http://example.com:8080/a/b?q=1#frag HTTP/1.1\r\nHost: wrong\r\n\r\n");
  REQUIRE(r.done());
  CHECK(!r.value.connect);
  CHECK(r.value.target.to_string() == "example.com:8080");
  CHECK(r.value.authority == "example.com:8080");
  CHECK(r.value.path == "/a/b?q=1");

  auto d = parse("POST HTTP://example.com HTTP/1.0\r\n\r\n");
  REQUIRE(d.done());
  CHECK(d.value.target.port() == 80);
  CHECK(d.value.path == "/");
  auto q = parse("GET http://[::1]?x HTTP/1.1\r\n\r\n");
  REQUIRE(q.done());
  CHECK(q.value.target.to_string() == "[::1]:80");
  CHECK(q.value.path == "/?x");

  CHECK(parse("GET /index.html HTTP/1.1\r\n\r\n").error == Errc::malformed);
  CHECK(parse("OPTIONS * HTTP/1.1\r\n\r\n").error == Errc::malformed);
  CHECK(parse("GET https://example.com/ HTTP/1.1\r\n\r\n").error == Errc::not_supported);
  CHECK(parse("GET ftp://example.com/ HTTP/1.1\r\n\r\n").error == Errc::not_supported);
  CHECK(parse("GET http:///x HTTP/1.1\r\n\r\n").error == Errc::malformed);
  CHECK(parse("GET http://u:p@example.com/ HTTP/1.1\r\n\r\n").error == Errc::malformed);
  CHECK(parse("GET http://example.com:0/ HTTP/1.1\r\n\r\n").error == Errc::malformed);
  CHECK(parse("GET http://example.com:x/ HTTP/1.1\r\n\r\n").error == Errc::malformed);
  CHECK(status_for_error(Errc::not_supported) == 405);
}

TEST_CASE("http proxy forward rewrite drops hop-by-hop fields", "[proto][http]") {
  auto r = parse(
      "GET http://example.com/p HTTP/1.1\r\n"
      "Host: other\r\n"
      "User-Agent: t\r\n"
      "Proxy-Connection: keep-alive\r\n"
      "Proxy-Authorization: Basic dTpw\r\n"
      "Connection: keep-alive, X-Secret\r\n"
      "X-Secret: 1\r\n"
      "Keep-Alive: 300\r\n"
      "TE: trailers\r\n"
      "Trailer: X\r\n"
      "Upgrade: h2c\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n");
  REQUIRE(r.done());
  CHECK(build_forward_head(r.value) ==
        "GET /p HTTP/1.1\r\n"
        "Host: example.com\r\n"
        "User-Agent: t\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n");

  auto ws = parse(
      "GET http://example.com:81/chat HTTP/1.1\r\n"
      "Connection: Upgrade\r\n"
      "Upgrade: websocket\r\n"
      "Sec-WebSocket-Key: k\r\n\r\n");
  REQUIRE(ws.done());
  CHECK(build_forward_head(ws.value) ==
        "GET /chat HTTP/1.1\r\n"
        "Host: example.com:81\r\n"
        "Upgrade: websocket\r\n"
        "Sec-WebSocket-Key: k\r\n"
        "Connection: Upgrade\r\n\r\n");

  auto h10 = parse("GET http://a HTTP/1.0\r\n\r\n");
  REQUIRE(h10.done());
  CHECK(build_forward_head(h10.value) == "GET / HTTP/1.0\r\nHost: a\r\nConnection: close\r\n\r\n");
}

TEST_CASE("http proxy Basic credentials", "[proto][http]") {
  std::string cred = base64_encode(std::string_view("alice:s3:cret"));
  auto c = parse_basic_credentials("Basic " + cred);
  REQUIRE(c);
  CHECK(c->username == "alice");
  CHECK(c->password == "s3:cret");
  CHECK(parse_basic_credentials("basic   " + cred + " "));
  CHECK(parse_basic_credentials("Bearer " + cred).error() == Errc::malformed);
  CHECK(parse_basic_credentials("Basic").error() == Errc::malformed);
  CHECK(parse_basic_credentials("Basic !!!!").error() == Errc::malformed);
  CHECK(parse_basic_credentials("Basic " + base64_encode(std::string_view("nocolon"))).error() ==
        Errc::malformed);

  auto r = parse("CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic " + cred + "\r\n\r\n");
  REQUIRE(r.done());
  CHECK(check_basic_auth(r.value, "alice", "s3:cret"));
  CHECK(!check_basic_auth(r.value, "alice", "s3:creT"));
  CHECK(!check_basic_auth(r.value, "alic", "s3:cret"));
  auto none = parse("CONNECT a:1 HTTP/1.1\r\n\r\n");
  CHECK(!check_basic_auth(none.value, "alice", "s3:cret"));
}

TEST_CASE("http proxy responses", "[proto][http]") {
  CHECK(build_response(200) == "HTTP/1.1 200 Connection established\r\n\r\n");
  CHECK(build_response(407, "my \"realm\"") ==
        "HTTP/1.1 407 Proxy Authentication Required\r\n"
        "Proxy-Authenticate: Basic realm=\"my realm\"\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n");
  for (int s : {400, 403, 405, 431, 502, 504}) {
    std::string r = build_response(s);
    CHECK(r.rfind("HTTP/1.1 " + std::to_string(s) + " ", 0) == 0);
    CHECK(r.find("Connection: close\r\n\r\n") != std::string::npos);
    // What we send, our client parses.
    auto p = parse_connect_response(sv(bytes(r)));
    REQUIRE(p.done());
    CHECK(p.value.status == s);
    CHECK(p.value.reason == reason_phrase(s));
  }
  CHECK(reason_phrase(299) == "Error");
  CHECK(status_for_error(Errc::auth_failed) == 407);
  CHECK(status_for_error(Errc::timed_out) == 504);
  CHECK(status_for_error(Errc::connection_refused) == 502);
  CHECK(status_for_error(Errc::dns_failure) == 502);
  CHECK(status_for_error(Errc::unsupported_version) == 505);
}

TEST_CASE("http CONNECT client request", "[proto][http]") {
  auto t = *TargetAddress::parse("[2001:db8::1]:443");
  ConnectRequestOptions o;
  auto plain = build_connect_request(t, o);
  REQUIRE(plain);
  CHECK(*plain == "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n");

  o.username = "u";
  o.password = "p";
  o.user_agent = "sluice";
  o.headers = {{"X-A", "1"}, {"X-B", "two words"}};
  auto full = build_connect_request(t, o);
  REQUIRE(full);
  CHECK(
      *full ==
      "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n"
      "User-Agent: sluice\r\nProxy-Authorization: Basic dTpw\r\nX-A: 1\r\nX-B: two words\r\n\r\n");
  // Our server side accepts what our client sends.
  auto back = parse(*full);
  REQUIRE(back.done());
  CHECK(back.value.target == t);
  CHECK(check_basic_auth(back.value, "u", "p"));

  auto bad = o;
  bad.headers = {{"X-A", "1\r\nInjected: 1"}};
  CHECK(build_connect_request(t, bad).error() == Errc::invalid_argument);
  bad.headers = {{"Bad Name", "1"}};
  CHECK(build_connect_request(t, bad).error() == Errc::invalid_argument);
  bad = o;
  bad.username = "a:b";
  CHECK(build_connect_request(t, bad).error() == Errc::invalid_argument);
  bad = o;
  bad.password = "p\n";
  CHECK(build_connect_request(t, bad).error() == Errc::invalid_argument);
}

TEST_CASE("http CONNECT client response", "[proto][http]") {
  std::string ok = "HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n";
  auto r = parse_connect_response(sv(bytes(ok + "tunnel")));
  REQUIRE(r.done());
  CHECK(r.consumed == ok.size());
  CHECK(r.value.status == 200);
  CHECK(errc_for_status(r.value.status) == Errc::ok);
  CHECK(every_prefix_needs_more(bytes(ok), parse_connect_response));

  // No reason phrase, with or without the SP.
  CHECK(parse_connect_response(sv(bytes("HTTP/1.0 200\r\n\r\n"))).value.status == 200);
  CHECK(parse_connect_response(sv(bytes("HTTP/1.1 204 \r\n\r\n"))).value.status == 204);
  // Interim 1xx responses are skipped.
  std::string interim = "HTTP/1.1 100 Continue\r\n\r\n" + ok;
  auto i = parse_connect_response(sv(bytes(interim)));
  REQUIRE(i.done());
  CHECK(i.consumed == interim.size());
  CHECK(i.value.status == 200);
  CHECK(parse_connect_response(sv(bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1"))).need_more());

  CHECK(errc_for_status(407) == Errc::auth_failed);
  CHECK(errc_for_status(403) == Errc::auth_failed);
  CHECK(errc_for_status(502) == Errc::connection_refused);
  CHECK(errc_for_status(504) == Errc::timed_out);
  CHECK(errc_for_status(500) == Errc::protocol_violation);
  CHECK(errc_for_status(299) == Errc::ok);

  for (const char* bad :
       {"HTTX/1.1 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 099 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", "HTTP/1.1 200 O\x01K\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n"}) {
    INFO(bad);
    CHECK(parse_connect_response(sv(bytes(bad))).error == Errc::malformed);
  }
  CHECK(parse_connect_response(sv(bytes("HTTP/2 200\r\n\r\n"))).error == Errc::malformed);
  CHECK(parse_connect_response(sv(bytes("HTTP/2.0 200 OK\r\n\r\n"))).error ==
        Errc::unsupported_version);
  std::string huge = "HTTP/1.1 200 OK\r\nX: " + std::string(kMaxHeadSize, 'a');
  CHECK(parse_connect_response(sv(bytes(huge))).error == Errc::frame_too_large);
}

TEST_CASE("http has_token and iequals", "[proto][http]") {
  CHECK(has_token("keep-alive, Upgrade", "upgrade"));
  CHECK(has_token(" a ,b,, c ", "c"));
  CHECK(!has_token("upgrades", "upgrade"));
  CHECK(!has_token("", "x"));
  CHECK(iequals("Content-Length", "content-length"));
  CHECK(!iequals("a", "ab"));
  CHECK(valid_field_name("X-Y_z"));
  CHECK(!valid_field_name(""));
  CHECK(!valid_field_value("a\nb"));
  CHECK(valid_field_value("a\tb"));
}
