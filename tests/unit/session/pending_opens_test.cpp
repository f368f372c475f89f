// Tests for PendingOpens: the list of a Session's opens in flight (cancel,
// fail at Engine stop, finish, destruction) and ConnectProtocol's default
// wrap, over in-memory transport pairs on virtual time. No socket.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "net/clock.hpp"
#include "session/client_connect.hpp"
#include "support/hex.hpp"
#include "support/pipe_transport.hpp"

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
  net::ManualClock clock{1000};
  auto e = net::create_engine(clock);
  REQUIRE(e);
  Engine& engine = **e;
  struct Far final : TransportHandler {
    std::string got;
    int eofs = 0;
    void on_data(Slice&& s) override {
      got.append(reinterpret_cast<const char*>(s.data()), s.size());
    }
    void on_eof() override { eofs++; }
    void on_error(Errc) override {}
  } far1, far2, far3;
  ConnectProtocol plain;
  std::string why;
  auto [t1, f1] = PipeTransport::make_pipe(engine);
  f1->set_handler(&far1);
  f1->read_start();
  PipeTransport* raw1 = t1.get();
  auto req = engine.pool().copy_from("REQ", 3);
  REQUIRE(req);
  auto s = plain.wrap(std::move(t1), false, std::move(*req), &why);
  REQUIRE(s);
  clock.advance(0);
  CHECK(far1.got == "REQ");
  CHECK(!raw1->closing());
  // Nothing to write: handed over untouched.
  auto [t2, f2] = PipeTransport::make_pipe(engine);
  f2->set_handler(&far2);
  f2->read_start();
  PipeTransport* raw2 = t2.get();
  auto s2 = plain.wrap(std::move(t2), false, Slice{}, &why);
  REQUIRE(s2);
  CHECK(s2->get() == raw2);
  clock.advance(0);
  CHECK(far2.got.empty());
  // A failed write closes the transport and says why.
  auto [t3, f3] = PipeTransport::make_pipe(engine);
  f3->set_handler(&far3);
  f3->read_start();
  PipeTransport* raw3 = t3.get();
  (void)t3->shutdown();
  auto req3 = engine.pool().copy_from("x", 1);
  REQUIRE(req3);
  auto s3 = plain.wrap(std::move(t3), false, std::move(*req3), &why);
  CHECK(s3.error() == Errc::closed);
  CHECK(raw3->closing());
  clock.advance(0);  // close_and_delete frees it (ASan checks the leak)
  CHECK(far3.got.empty());
  CHECK(far3.eofs == 1);
  s->reset();
  s2->reset();
  f1->close(nullptr, nullptr);
  f2->close(nullptr, nullptr);
  f3->close(nullptr, nullptr);
  clock.advance(0);
}
