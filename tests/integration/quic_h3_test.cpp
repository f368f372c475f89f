// HTTP/3 end to end on 127.0.0.1: the sluice HTTP/3 client against the
// sluice HTTP/3 server over real UDP sockets: a 16 MiB download and a 4 MiB
// upload, hash-checked, a 404, 100 concurrent requests, a cancelled
// download, and a reader that pauses (flow control holds the sender).
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "quic_h3_support.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

// H3Fixture: an Engine with an HTTP/3 server endpoint and one client
// connection that has HTTP/3 up.
struct H3Fixture {
  std::unique_ptr<Engine> engine;
  SelfSigned cert = make_self_signed();
  H3TestServer app;
  H3Client client;
  std::unique_ptr<quic::Endpoint> server_ep, client_ep;
  quic::Connection* conn = nullptr;

  explicit H3Fixture(quic::EndpointOptions so = {}, quic::EndpointOptions co = {}) {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
    app.pool = &engine->pool();
    on_loop(*engine, [&] {
      auto s = quic::Endpoint::create(*engine, so, server_tls(cert, {"h3"}), &app);
      REQUIRE(s);
      server_ep = std::move(*s);
      auto c = quic::Endpoint::create(*engine, co, client_tls({"h3"}), nullptr);
      REQUIRE(c);
      client_ep = std::move(*c);
      auto r = client_ep->connect("127.0.0.1", server_ep->port(), &client);
      REQUIRE(r);
      conn = *r;
    });
    REQUIRE(wait_until([&] { return client.up.load(); }, 10000ms));
    REQUIRE(wait_until([&] { return app.handshakes.load() == 1; }, 10000ms));
  }
  ~H3Fixture() {
    std::atomic<int> closed{0};
    on_loop(*engine, [&] {
      client.h3.reset();
      app.h3.clear();
      auto cb = [](void* u) { (*static_cast<std::atomic<int>*>(u))++; };
      client_ep->close(cb, &closed);
      server_ep->close(cb, &closed);
    });
    wait_until([&] { return closed.load() == 2; }, 10000ms);
    REQUIRE(engine->stop());
    CHECK(engine->stats().pool.chunks_outstanding == 0);
  }

  // fetch runs |n| requests built by |make| and waits for all to close.
  std::vector<std::unique_ptr<Fetch>> fetch(int n,
                                            const std::function<quic::H3Stream*(int, Fetch*)>& make,
                                            std::chrono::milliseconds limit = 60000ms) {
    std::vector<std::unique_ptr<Fetch>> out;
    std::atomic<int> done{0};
    for (int i = 0; i < n; ++i) {
      out.push_back(std::make_unique<Fetch>());
      out.back()->on_done = [&](Fetch*) { done++; };
    }
    on_loop(*engine, [&] {
      for (int i = 0; i < n; ++i) REQUIRE(make(i, out[i].get()) != nullptr);
    });
    CHECK(wait_until([&] { return done.load() == n; }, limit));
    on_loop(*engine, [&] {
      for (auto& f : out) f->on_done = nullptr;
    });
    return out;
  }

  quic::H3Stream* get(const std::string& path, Fetch* f) {
    auto r = client.h3->request("GET", "localhost", path, {}, false, f);
    REQUIRE(r);
    return *r;
  }
};

}  // namespace

TEST_CASE("HTTP/3 GET of a 16 MiB body, hash-checked", "[integration][quic][h3]") {
  H3Fixture f;
  const size_t size = 16u << 20;
  auto res = f.fetch(1, [&](int, Fetch* x) { return f.get("/bytes/16777216/7", x); });
  Fetch& x = *res[0];
  CHECK(x.error == Errc::ok);
  CHECK(x.status == 200);
  CHECK(x.ended);
  CHECK(x.field("content-length") == "16777216");
  CHECK(x.received == size);
  CHECK(x.sha == pattern_sha256(7, size));
  // Zero copy: the body left as views of the server's Slices and arrived
  // as views of the client's; only frame headers and QPACK were copied, and
  // at most the head of the body, when the response's HEADERS overtook the
  // QPACK encoder stream and nghttp3 held the stream (RFC 9204 §2.1.2).
  auto [copied, body_copied] = on_loop(*f.engine, [&] {
    auto& st = f.app.h3.begin()->second->stats();
    return std::make_pair(st.bytes_copied, f.client.h3->stats().body_copied);
  });
  CHECK(copied < 64 * 1024);
  CHECK(body_copied < 64 * 1024);
  CHECK(wait_until([&] { return f.app.closed_ok.load() == 1; }));
  CHECK(on_loop(*f.engine, [&] { return f.client.h3->active_streams(); }) == 0);
}

TEST_CASE("HTTP/3 POST with a 4 MiB body, hash-checked by the server", "[integration][quic][h3]") {
  H3Fixture f;
  const size_t size = 4u << 20;
  auto res = f.fetch(1, [&](int, Fetch* x) {
    auto r = f.client.h3->request("POST", "localhost", "/upload",
                                  {{"content-type", "application/octet-stream"}}, true, x);
    REQUIRE(r);
    x->upload = std::make_unique<BodyPump>(f.engine->pool(), size, 11);
    x->upload->pump(**r);
    return *r;
  });
  Fetch& x = *res[0];
  CHECK(x.error == Errc::ok);
  CHECK(x.status == 200);
  const std::string want = pattern_sha256(11, size);
  CHECK(x.field("x-length") == std::to_string(size));
  CHECK(x.field("x-sha256") == want);
  CHECK(x.received == 64);     // the hex digest as the body
  CHECK(x.upload->highs > 0);  // the request body was paced by the watermarks
}

TEST_CASE("HTTP/3 unknown path answers 404", "[integration][quic][h3]") {
  H3Fixture f;
  auto res = f.fetch(1, [&](int, Fetch* x) { return f.get("/no/such/thing", x); });
  CHECK(res[0]->error == Errc::ok);
  CHECK(res[0]->status == 404);
  CHECK(res[0]->received == 0);
  CHECK(res[0]->ended);
}

TEST_CASE("HTTP/3: 100 concurrent requests", "[integration][quic][h3]") {
  H3Fixture f;
  const int n = 100;
  const size_t size = 100 * 1000;
  auto res = f.fetch(n, [&](int i, Fetch* x) {
    if (i % 10 == 9) return f.get("/missing/" + std::to_string(i), x);
    return f.get("/bytes/" + std::to_string(size) + "/" + std::to_string(i + 100), x);
  });
  int good = 0;
  for (int i = 0; i < n; ++i) {
    const Fetch& x = *res[i];
    if (i % 10 == 9) {
      good += x.error == Errc::ok && x.status == 404;
    } else {
      good += x.error == Errc::ok && x.status == 200 && x.received == size &&
              x.sha == pattern_sha256(i + 100, size);
    }
  }
  CHECK(good == n);
  CHECK(f.app.requests.load() == n);
  CHECK(wait_until([&] { return f.app.closed_ok.load() == n - n / 10; }));
}

TEST_CASE("HTTP/3: a cancelled download leaves the connection usable", "[integration][quic][h3]") {
  H3Fixture f;
  struct Canceller final : quic::H3StreamHandler {
    size_t got = 0;
    bool cancelled = false;
    void on_body(quic::H3Stream& s, Slice&& d) override {
      got += d.size();
      if (got > (1u << 20) && !cancelled) {
        cancelled = true;
        s.reset();
      }
    }
    void on_close(quic::H3Stream&, Errc) override {}
  } c;
  on_loop(*f.engine, [&] {
    REQUIRE(f.client.h3->request("GET", "localhost", "/bytes/67108864/3", {}, false, &c));
  });
  REQUIRE(wait_until([&] { return on_loop(*f.engine, [&] { return c.cancelled; }); }));
  // The server's sender hears the reset (STOP_SENDING) and stops.
  CHECK(wait_until([&] { return f.app.closed_err.load() == 1; }, 10000ms));
  auto res = f.fetch(1, [&](int, Fetch* x) { return f.get("/bytes/1000/5", x); });
  CHECK(res[0]->status == 200);
  CHECK(res[0]->sha == pattern_sha256(5, 1000));
  CHECK_FALSE(f.client.closed.load());
}

TEST_CASE("HTTP/3: a paused reader holds the sender at the flow-control window",
          "[integration][quic][h3]") {
  H3Fixture f;
  Fetch x;
  std::atomic<bool> done{false};
  x.on_done = [&](Fetch*) { done = true; };
  quic::H3Stream* s = nullptr;
  on_loop(*f.engine, [&] {
    s = f.get("/bytes/67108864/9", &x);
    s->read_stop();
  });
  std::this_thread::sleep_for(500ms);
  // Only about the stream's QUIC window (2 MiB to start, auto-tuned up to
  // 16 MiB) can be in flight; the server's pump was stopped by on_write_high.
  const size_t got = on_loop(*f.engine, [&] { return x.received; });
  CHECK(got <= (1u << 20));  // nothing delivered past what one read held
  auto pool_bytes = on_loop(*f.engine, [&] { return f.engine->stats().pool.bytes_outstanding; });
  INFO("pool bytes outstanding while paused: " << pool_bytes);
  // Client receive window (2 MiB) + the server's QUIC stream and body queue
  // (1 MiB each by default), in 16 KiB chunks: well under 8 MiB.
  CHECK(pool_bytes < (8u << 20));
  CHECK(pool_bytes > (1u << 20));
  on_loop(*f.engine, [&] { s->read_start(); });
  REQUIRE(wait_until([&] { return done.load(); }, 60000ms));
  CHECK(x.error == Errc::ok);
  CHECK(x.received == (64u << 20));
  CHECK(x.sha == pattern_sha256(9, 64u << 20));
}
