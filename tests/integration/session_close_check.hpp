// session_close_check.hpp: the Session::close contract, checked the same
// way for every client session (trojan, vless, the socks/http upstream).
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "sluice/session.hpp"
#include "support.hpp"

namespace sluice::test {

// CloseAnswer records OpenHandler calls (made on the loop thread).
struct CloseAnswer final : OpenHandler {
  std::atomic<int> calls{0};
  std::atomic<int> error{0};
  std::mutex mu;
  std::string reason;
  void on_open(Result<std::unique_ptr<Stream>> s, const char* why) override {
    std::lock_guard<std::mutex> lock(mu);
    error = s ? 0 : static_cast<int>(s.error());
    reason = why;
    calls++;
  }
  std::string why() {
    std::lock_guard<std::mutex> lock(mu);
    return reason;
  }
};

// check_session_close: |s| has an open pending for ever (its server never
// answers); close() fails it once with canceled, opens asked for afterwards
// fail at once, the callback runs once and never inside close(), and the
// Session is then deleted in it.
inline void check_session_close(Engine& e, std::unique_ptr<Session> s) {
  CloseAnswer pending, late;
  std::atomic<int> closed{0};
  struct Ctx {
    std::unique_ptr<Session> s;
    std::atomic<int>* closed;
  };
  auto* ctx = new Ctx{std::move(s), &closed};
  const int inside = on_loop(e, [&] {
    ctx->s->open_stream("127.0.0.1", 9, &pending);
    ctx->s->close(
        [](void* u) {
          auto* c = static_cast<Ctx*>(u);
          (*c->closed)++;
          delete c;  // the Session goes in its close callback
        },
        ctx);
    const int n = closed.load();
    ctx->s->open_stream("127.0.0.1", 9, &late);
    ctx->s->close(nullptr, nullptr);  // a second close does nothing
    return n;
  });
  CHECK(inside == 0);
  CHECK(pending.calls.load() == 1);
  CHECK(pending.error.load() == static_cast<int>(Errc::canceled));
  CHECK(pending.why() == "outbound closing");
  CHECK(late.calls.load() == 1);
  CHECK(late.error.load() == static_cast<int>(Errc::canceled));
  REQUIRE(wait_until([&] { return closed.load() == 1; }, std::chrono::seconds(10)));
  on_loop(e, [] {});
  CHECK(closed.load() == 1);
}

}  // namespace sluice::test
