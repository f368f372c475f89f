// router.hpp: Router, which picks the Session an inbound flow goes through.
//
// First rule set: everything to one `final` outbound. Later issues add rules
// (by domain, IP range, inbound tag) behind the same interface.
#pragma once

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
