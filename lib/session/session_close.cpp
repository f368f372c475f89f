// session_close.cpp: Session::close for Sessions with nothing in flight.
#include "net/closer.hpp"
#include "sluice/session.hpp"

namespace sluice {

void Session::close(CloseCallback cb, void* user) noexcept {
  if (!begin_close()) return;
  detach_from_engine();
  // Asynchronous even with nothing to wait for: a close callback never runs
  // from inside close(), whose caller may still be using the Session.
  if (cb) net::defer(engine(), cb, user);
}

}  // namespace sluice
