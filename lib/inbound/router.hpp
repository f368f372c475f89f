// router.hpp: Router, which picks the Session an inbound flow goes through.
//
// First rule set: everything to one `final` outbound. Later issues add rules
// (by domain, IP range, inbound tag) behind the same interface.
#pragma once

#include <memory>
#include <string_view>

#include "proto/target_address.hpp"
#include "sluice/session.hpp"

namespace sluice {

class Router {
 public:
  virtual ~Router() = default;
  // route returns the Session for a flow to |target| that arrived on the
  // inbound tagged |inbound_tag|, or nullptr to refuse it.
  virtual Session* route(std::string_view inbound_tag, const TargetAddress& target) noexcept = 0;

  // open_stream routes |target| and opens a stream to it for |h|. |*pending|
  // holds the Session the open waits on (for cancel_open) from before the
  // call; |h|'s on_open clears it. Without a route |h| hears not_supported
  // ("no route") at once.
  void open_stream(std::string_view inbound_tag, const TargetAddress& target, OpenHandler* h,
                   Session** pending) noexcept {
    Session* s = route(inbound_tag, target);
    if (s == nullptr) {
      h->on_open(Errc::not_supported, "no route");
      return;
    }
    *pending = s;
    s->open_stream(target.host(), target.port(), h);
  }

  // open_datagram routes |target| and opens a datagram flow for |h|;
  // not_supported without a route.
  Result<std::unique_ptr<DatagramFlow>> open_datagram(std::string_view inbound_tag,
                                                      const TargetAddress& target,
                                                      DatagramHandler* h) noexcept {
    Session* s = route(inbound_tag, target);
    if (s == nullptr) return Errc::not_supported;
    return s->open_datagram(h);
  }
};

// FinalRouter sends every flow to one Session (not owned).
class FinalRouter final : public Router {
 public:
  explicit FinalRouter(Session* s) noexcept : session_(s) {}
  Session* route(std::string_view, const TargetAddress&) noexcept override { return session_; }
  void set(Session* s) noexcept { session_ = s; }

 private:
  Session* session_;
};

}  // namespace sluice
