// fallback.cpp: fallback choice and pending-work cleanup for the Trojan and
// VLESS servers.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/fallback.hpp"

#include "sluice/log.hpp"

namespace sluice {

const TrojanFallback* select_fallback(
    const TrojanFallback& fallback,
    const std::vector<std::pair<std::string, TrojanFallback>>& for_alpn,
    const std::string* alpn) noexcept {
  if (!for_alpn.empty() && alpn != nullptr) {
    for (const auto& [a, f] : for_alpn)
      if (a == *alpn) return &f;
  }
  return fallback.server.empty() ? nullptr : &fallback;
}

bool write_pending(std::unique_ptr<Stream>& s, Chain* in) {
  if (in->empty() || s->write(std::move(*in))) return true;
  close_and_delete(s.release());
  return false;
}

std::unique_ptr<Stream> fallback_stream(Result<std::unique_ptr<net::TcpTransport>>& d,
                                        const char* reason, Chain* in, const char* proto,
                                        const std::string& tag) {
  if (!d) {
    SLUICE_LOG_INFO("%s %s: fallback dial failed: %s", proto, tag.c_str(), reason);
    return nullptr;
  }
  std::unique_ptr<Stream> s(d->release());
  if (!write_pending(s, in)) return nullptr;
  return s;
}

void cancel_pending(Session** session, OpenHandler* h, net::Dial** dial,
                    std::unique_ptr<DatagramFlow>* flow) noexcept {
  if (*session) {
    (*session)->cancel_open(h);
    *session = nullptr;
  }
  if (*dial) {
    (*dial)->cancel();
    *dial = nullptr;
  }
  if (*flow) {
    DatagramFlow* f = flow->release();
    f->close([](void* u) { delete static_cast<DatagramFlow*>(u); }, f);
  }
}

}  // namespace sluice
