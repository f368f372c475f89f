// ech_retry.cpp: counting ECH outcomes and deciding the single retry.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "transport/ech_retry.hpp"

#include "crypto/tls_ech.hpp"
#include "net/engine_internal.hpp"
#include "sluice/log.hpp"

namespace sluice {

void EchRetry::established(bool accepted, bool configured) noexcept {
  if (accepted) {
    net::count_ech(engine_, EchOutcome::accepted);
    if (retried_)
      SLUICE_LOG_INFO("%s %s:%u: ECH accepted with the server's retry configs", proto_,
                      host_.c_str(), port_);
    else
      SLUICE_LOG_DEBUG("%s %s:%u: ECH accepted", proto_, host_.c_str(), port_);
  } else if (configured) {
    SLUICE_LOG_DEBUG("%s %s:%u: ECH not used (GREASE)", proto_, host_.c_str(), port_);
  }
}

EchRetry::Verdict EchRetry::failed(Errc e, std::string_view reason,
                                   std::span<const uint8_t> retry_configs) {
  Verdict v;
  if (e != Errc::ech_rejected) {
    v.reason = reason;
    return v;
  }
  net::count_ech(engine_, EchOutcome::rejected);
  if (retried_) {
    v.reason = std::string(reason) + " (after one retry with the server's configs)";
    return v;
  }
  if (retry_configs.empty()) {
    v.reason = reason;
    return v;
  }
  // The server's keys changed: retry once with the configs it sent, after
  // checking they are usable (the same filter as configured lists).
  std::string why;
  auto list = tls::filter_ech_config_list(retry_configs, &why);
  if (!list) {
    v.reason = std::string(reason) + "; retry configs unusable: " + why;
    return v;
  }
  SLUICE_LOG_INFO("%s %s:%u: ECH rejected, retrying with the server's retry configs", proto_,
                  host_.c_str(), port_);
  retried_ = true;
  net::count_ech(engine_, EchOutcome::retried);
  v.retry = true;
  v.configs = std::move(*list);
  return v;
}

}  // namespace sluice
