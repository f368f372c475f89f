// Tests for PendingOpens: the list of a Session's opens in flight (cancel,
// fail at Engine stop, finish, destruction) and ConnectProtocol's default
// wrap, over in-memory transports. No socket.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "session/client_connect.hpp"
#include "support/hex.hpp"
#include "support/memory_transport.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

struct Answers final : OpenHandler {
  std::vector<std::pair<Errc, std::string>> got;
  std::vector<std::unique_ptr<Stream>> streams;
  void on_open(Result<std::unique_ptr<Stream>> s, const char* reason) override {
    got.push_back({s ? Errc::ok : s.error(), reason});
    if (s) streams.push_back(std::move(*s));
  }
};

// Work stands for an open in progress; it records being cancelled.
struct Work final : PendingOpen {
  explicit Work(bool* cancelled) : cancelled_(cancelled) {}
  ~Work() override {
    if (!finished) *cancelled_ = true;
  }
  bool finished = false;

 private:
  bool* cancelled_;
};

}  // namespace

TEST_CASE("pending opens: cancel forgets one handler's open, silently", "[session][pending]") {
  PendingOpens list;
  Answers a, b;
  bool ca = false, cb = false;
  auto* wa = list.add(std::make_unique<Work>(&ca));
  wa->handler = &a;
  auto* wb = list.add(std::make_unique<Work>(&cb));
  wb->handler = &b;
  CHECK(list.size() == 2);
  list.cancel(&a);
  CHECK(ca);
  CHECK(!cb);
  CHECK(list.size() == 1);
  CHECK(!list.contains(wa));
  CHECK(list.contains(wb));
  list.cancel(&a);  // twice: nothing
  CHECK(list.size() == 1);
  CHECK(a.got.empty());
  CHECK(b.got.empty());
}

TEST_CASE("pending opens: finish hands the entry back, once", "[session][pending]") {
  PendingOpens list;
  Answers a;
  bool c = false;
  auto* w = list.add(std::make_unique<Work>(&c));
  w->handler = &a;
  auto back = list.finish(w);
  REQUIRE(back);
  static_cast<Work*>(back.get())->finished = true;
  back.reset();
  CHECK(!c);
  CHECK(list.size() == 0);
  CHECK(list.finish(w) == nullptr);
}

TEST_CASE("pending opens: fail_all cancels, then answers every handler", "[session][pending]") {
  PendingOpens list;
  Answers a, b;
  bool ca = false, cb = false;
  list.add(std::make_unique<Work>(&ca))->handler = &a;
  list.add(std::make_unique<Work>(&cb))->handler = &b;
  list.fail_all(Errc::canceled, "engine stopping");
  CHECK(ca);
  CHECK(cb);
  CHECK(list.size() == 0);
  REQUIRE(a.got.size() == 1);
  CHECK(a.got[0].first == Errc::canceled);
  CHECK(a.got[0].second == "engine stopping");
  REQUIRE(b.got.size() == 1);
  list.fail_all(Errc::canceled, "again");  // nothing left
  CHECK(a.got.size() == 1);
}

TEST_CASE("pending opens: destroying the list cancels without answering", "[session][pending]") {
  Answers a;
  bool c = false;
  {
    PendingOpens list;
    list.add(std::make_unique<Work>(&c))->handler = &a;
  }
  CHECK(c);
  CHECK(a.got.empty());
}

TEST_CASE("connect protocol: the default wrap writes the request and hands the transport over",
          "[session][connect]") {
  BufferPool pool;
  ConnectProtocol plain;
  auto w = std::make_shared<MemoryWire>();
  auto req = pool.copy_from("REQ", 3);
  REQUIRE(req);
  std::string why;
  auto s = plain.wrap(std::make_unique<MemoryTransport>(w), false, std::move(*req), &why);
  REQUIRE(s);
  CHECK(w->written.size() == 3);
  CHECK(!w->closing);
  // Nothing to write: handed over untouched.
  auto w2 = std::make_shared<MemoryWire>();
  auto s2 = plain.wrap(std::make_unique<MemoryTransport>(w2), false, Slice{}, &why);
  REQUIRE(s2);
  CHECK(w2->written.empty());
  // A failed write closes the transport and says why.
  auto w3 = std::make_shared<MemoryWire>();
  auto t3 = std::make_unique<MemoryTransport>(w3);
  (void)t3->shutdown();
  auto req3 = pool.copy_from("x", 1);
  REQUIRE(req3);
  auto s3 = plain.wrap(std::move(t3), false, std::move(*req3), &why);
  CHECK(s3.error() == Errc::closed);
  CHECK(w3->closing);
  w3->finish_close();  // close_and_delete frees it
  CHECK(w3->transport == nullptr);
}
