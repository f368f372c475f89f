// cc_hook.cpp: the link-time wrappers around ngtcp2 0.12.1's reno, cubic and
// BBR controllers (see cc_hook.hpp for what and why).
#include "quic/cc_hook.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "sluice/log.hpp"

namespace {

// ngtcp2_cc_pkt as 0.12.1 lays it out (lib/ngtcp2_cc.h, not installed);
// checked once against ngtcp2_cc_pkt_init before any field is read.
struct CcPkt {
  int64_t pkt_num;
  size_t pktlen;
  int pktns_id;
  ngtcp2_tstamp sent_ts;
  uint64_t lost;
  uint64_t tx_in_flight;
  int is_app_limited;
};

using Fn = void (*)();
using PktAcked = void (*)(void*, ngtcp2_conn_stat*, const void*, ngtcp2_tstamp);
using AckRecv = void (*)(void*, ngtcp2_conn_stat*, const void*, ngtcp2_tstamp);

}  // namespace

extern "C" {
// The real initialisers and destructors (the linker maps __real_X to X).
int __real_ngtcp2_cc_cubic_cc_init(void* cc, void* log, const ngtcp2_mem* mem);
int __real_ngtcp2_cc_reno_cc_init(void* cc, void* log, const ngtcp2_mem* mem);
void __real_ngtcp2_cc_cubic_cc_free(void* cc, const ngtcp2_mem* mem);
void __real_ngtcp2_cc_reno_cc_free(void* cc, const ngtcp2_mem* mem);
// BBR and BBRv2 (lib/ngtcp2_bbr.h, ngtcp2_bbr2.h): |log| and |rst| are
// internal types, passed through untouched.
int __real_ngtcp2_cc_bbr_cc_init(void* cc, void* log, ngtcp2_conn_stat* cstat, void* rst,
                                 ngtcp2_tstamp initial_ts, ngtcp2_rand rand,
                                 const ngtcp2_rand_ctx* rand_ctx, const ngtcp2_mem* mem);
int __real_ngtcp2_cc_bbr2_cc_init(void* cc, void* log, ngtcp2_conn_stat* cstat, void* rst,
                                  ngtcp2_tstamp initial_ts, ngtcp2_rand rand,
                                  const ngtcp2_rand_ctx* rand_ctx, const ngtcp2_mem* mem);
void __real_ngtcp2_cc_bbr_cc_free(void* cc, const ngtcp2_mem* mem);
void __real_ngtcp2_cc_bbr2_cc_free(void* cc, const ngtcp2_mem* mem);

// The library's own table entries, only compared and (for on_pkt_acked)
// called with the arguments ngtcp2 passed us. Declared with a neutral
// type: their parameter types are internal to ngtcp2.
void ngtcp2_cc_cubic_cc_on_pkt_acked();
void ngtcp2_cc_cubic_cc_congestion_event();
void ngtcp2_cc_cubic_cc_on_spurious_congestion();
void ngtcp2_cc_cubic_cc_on_persistent_congestion();
void ngtcp2_cc_cubic_cc_on_ack_recv();
void ngtcp2_cc_cubic_cc_on_pkt_sent();
void ngtcp2_cc_cubic_cc_new_rtt_sample();
void ngtcp2_cc_cubic_cc_reset();
void ngtcp2_cc_cubic_cc_event();
void ngtcp2_cc_reno_cc_on_pkt_acked();
void ngtcp2_cc_reno_cc_congestion_event();
void ngtcp2_cc_reno_cc_on_persistent_congestion();
void ngtcp2_cc_reno_cc_on_ack_recv();
void ngtcp2_cc_reno_cc_reset();
void* ngtcp2_cc_pkt_init(void* pkt, int64_t pkt_num, size_t pktlen, int pktns_id,
                         ngtcp2_tstamp sent_ts, uint64_t lost, uint64_t tx_in_flight,
                         int is_app_limited);

int __wrap_ngtcp2_cc_cubic_cc_init(void* cc, void* log, const ngtcp2_mem* mem);
int __wrap_ngtcp2_cc_reno_cc_init(void* cc, void* log, const ngtcp2_mem* mem);
void __wrap_ngtcp2_cc_cubic_cc_free(void* cc, const ngtcp2_mem* mem);
void __wrap_ngtcp2_cc_reno_cc_free(void* cc, const ngtcp2_mem* mem);
int __wrap_ngtcp2_cc_bbr_cc_init(void* cc, void* log, ngtcp2_conn_stat* cstat, void* rst,
                                 ngtcp2_tstamp initial_ts, ngtcp2_rand rand,
                                 const ngtcp2_rand_ctx* rand_ctx, const ngtcp2_mem* mem);
int __wrap_ngtcp2_cc_bbr2_cc_init(void* cc, void* log, ngtcp2_conn_stat* cstat, void* rst,
                                  ngtcp2_tstamp initial_ts, ngtcp2_rand rand,
                                  const ngtcp2_rand_ctx* rand_ctx, const ngtcp2_mem* mem);
void __wrap_ngtcp2_cc_bbr_cc_free(void* cc, const ngtcp2_mem* mem);
void __wrap_ngtcp2_cc_bbr2_cc_free(void* cc, const ngtcp2_mem* mem);
}

namespace sluice::quic::cc_hook {
namespace {

// Roles of the table entries the hook touches.
enum Role : size_t {
  pkt_acked,
  congestion_event,
  spurious,
  persistent,
  ack_recv,
  pkt_sent,
  new_rtt_sample,
  reset,
  event,
  n_roles
};

constexpr size_t kMaxSlots = 32;  // far more than 0.12.1's 11 entries
constexpr size_t kNoSlot = SIZE_MAX;

struct Layout {
  bool ok = false;
  std::array<size_t, n_roles> slot{};  // index of each role in the table
};

Fn cubic_fn(Role r) noexcept {
  switch (r) {
    case pkt_acked:
      return &ngtcp2_cc_cubic_cc_on_pkt_acked;
    case congestion_event:
      return &ngtcp2_cc_cubic_cc_congestion_event;
    case spurious:
      return &ngtcp2_cc_cubic_cc_on_spurious_congestion;
    case persistent:
      return &ngtcp2_cc_cubic_cc_on_persistent_congestion;
    case ack_recv:
      return &ngtcp2_cc_cubic_cc_on_ack_recv;
    case pkt_sent:
      return &ngtcp2_cc_cubic_cc_on_pkt_sent;
    case new_rtt_sample:
      return &ngtcp2_cc_cubic_cc_new_rtt_sample;
    case reset:
      return &ngtcp2_cc_cubic_cc_reset;
    default:
      return &ngtcp2_cc_cubic_cc_event;
  }
}

Fn reno_fn(Role r) noexcept {
  switch (r) {
    case pkt_acked:
      return &ngtcp2_cc_reno_cc_on_pkt_acked;
    case congestion_event:
      return &ngtcp2_cc_reno_cc_congestion_event;
    case persistent:
      return &ngtcp2_cc_reno_cc_on_persistent_congestion;
    case ack_recv:
      return &ngtcp2_cc_reno_cc_on_ack_recv;
    case reset:
      return &ngtcp2_cc_reno_cc_reset;
    default:
      return nullptr;  // reno leaves the other entries empty
  }
}

size_t find_slot(Fn* table, Fn f) noexcept {
  size_t found = kNoSlot;
  for (size_t i = 1; i < kMaxSlots; ++i) {  // entry 0 is the state pointer
    if (table[i] != f) continue;
    if (found != kNoSlot) return kNoSlot;  // ambiguous: refuse
    found = i;
  }
  return found;
}

// discover builds a throwaway cubic and reno controller to learn where each
// entry lives, and checks ngtcp2_cc_pkt's field offsets.
Layout discover() noexcept {
  Layout l;
  CcPkt pkt;
  std::memset(&pkt, 0, sizeof pkt);
  if (ngtcp2_cc_pkt_init(&pkt, 0x0102030405060708, 0x1112, 2, 0x2122232425262728, 0x3132, 0x4142,
                         1) != &pkt)
    return l;
  if (pkt.pkt_num != 0x0102030405060708 || pkt.pktlen != 0x1112 || pkt.pktns_id != 2 ||
      pkt.sent_ts != 0x2122232425262728 || pkt.lost != 0x3132 || pkt.tx_in_flight != 0x4142 ||
      pkt.is_app_limited != 1)
    return l;

  const ngtcp2_mem* mem = ngtcp2_mem_default();
  std::array<Fn, kMaxSlots> cubic{};
  if (__real_ngtcp2_cc_cubic_cc_init(cubic.data(), nullptr, mem) != 0) return l;
  bool ok = cubic[0] != nullptr;
  for (size_t r = 0; r < n_roles && ok; ++r) {
    l.slot[r] = find_slot(cubic.data(), cubic_fn(static_cast<Role>(r)));
    ok = l.slot[r] != kNoSlot;
  }
  __real_ngtcp2_cc_cubic_cc_free(cubic.data(), mem);
  if (!ok) return l;
  for (size_t a = 0; a < n_roles; ++a)
    for (size_t b = a + 1; b < n_roles; ++b)
      if (l.slot[a] == l.slot[b]) return l;

  std::array<Fn, kMaxSlots> reno{};
  if (__real_ngtcp2_cc_reno_cc_init(reno.data(), nullptr, mem) != 0) return l;
  for (size_t r = 0; r < n_roles && ok; ++r) {
    const Fn f = reno_fn(static_cast<Role>(r));
    ok = f == nullptr ? reno[l.slot[r]] == nullptr : reno[l.slot[r]] == f;
  }
  __real_ngtcp2_cc_reno_cc_free(reno.data(), mem);
  l.ok = ok;
  return l;
}

const Layout& layout() noexcept {
  static const Layout l = [] {
    Layout d = discover();
    if (!d.ok)
      SLUICE_LOG_WARN(
          "quic: this libngtcp2's internal controller layout is not the one sluice checked; "
          "the congestion-control hook is off (0.12.1 cwnd ceiling, no RateController)");
    return d;
  }();
  return l;
}

// Per-connection state, keyed by the connection's ngtcp2_cc.
struct Attached {
  RateController* controller = nullptr;  // controller mode when set
  PktAcked lib_pkt_acked = nullptr;      // ceiling mode: the library's reno/cubic
  // Controller mode: the library's own entries for the algorithm ngtcp2
  // built (cubic, BBR or BBRv2), which take over after fall_back().
  std::array<Fn, n_roles> lib{};
  bool fallback_pending = false;  // fall_back() asked; done at the next call
  bool fallen_back = false;       // the library's controller is in charge
  bool started = false;
  // Windowed maximum of the delivery rate over the last kRateWindow ACKs.
  static constexpr size_t kRateWindow = 10;
  std::array<uint64_t, kRateWindow> rate{};
  size_t rate_pos = 0;
  uint64_t ceiling = 0;  // 0 = none yet
};

struct Table {
  std::unordered_map<const void*, Attached> by_cc;
  const void* last_key = nullptr;
  Attached* last = nullptr;

  Attached* find(const void* cc) noexcept {
    if (cc == last_key) return last;
    auto it = by_cc.find(cc);
    if (it == by_cc.end()) return nullptr;
    last_key = cc;
    last = &it->second;
    return last;
  }
  void erase(const void* cc) noexcept {
    if (cc == last_key) last_key = nullptr, last = nullptr;
    by_cc.erase(cc);
  }
};

thread_local Table t_table;
thread_local Scope* t_scope = nullptr;

uint64_t initial_window(size_t mtu) noexcept {
  // RFC 9002 §7.2, as ngtcp2_cc_compute_initcwnd.
  return std::min<uint64_t>(10 * mtu, std::max<uint64_t>(2 * mtu, 14720));
}

bool in_recovery(const ngtcp2_conn_stat* cs, ngtcp2_tstamp sent_ts) noexcept {
  return cs->congestion_recovery_start_ts != UINT64_MAX &&
         sent_ts <= cs->congestion_recovery_start_ts;
}

// --- ceiling mode ------------------------------------------------------

void ceiling_ack_recv(void* cc, ngtcp2_conn_stat* cs, const void*, ngtcp2_tstamp) {
  Attached* a = t_table.find(cc);
  if (a == nullptr) return;
  a->rate[a->rate_pos] = cs->delivery_rate_sec;
  a->rate_pos = (a->rate_pos + 1) % Attached::kRateWindow;
  const uint64_t best = *std::max_element(a->rate.begin(), a->rate.end());
  if (cs->min_rtt == UINT64_MAX || best == 0) return;
  const unsigned __int128 bdp = static_cast<unsigned __int128>(best) * cs->smoothed_rtt /
                                static_cast<uint64_t>(NGTCP2_SECONDS);
  const uint64_t w = std::max<uint64_t>(initial_window(cs->max_tx_udp_payload_size),
                                        bdp > UINT64_MAX / 4 ? UINT64_MAX / 4 : uint64_t(bdp));
  a->ceiling = w / 100 * 289;
}

void ceiling_pkt_acked(void* cc, ngtcp2_conn_stat* cs, const void* pkt, ngtcp2_tstamp ts) {
  Attached* a = t_table.find(cc);
  if (a == nullptr) return;
  if (a->ceiling != 0 && a->ceiling < cs->cwnd) return;
  a->lib_pkt_acked(cc, cs, pkt, ts);
}

// --- controller mode ---------------------------------------------------

// Signatures of the library's entries (ngtcp2_cc.h), internal types as void*.
using LibCongestion = void (*)(void*, ngtcp2_conn_stat*, ngtcp2_tstamp, ngtcp2_tstamp);
using LibTs = void (*)(void*, ngtcp2_conn_stat*, ngtcp2_tstamp);
using LibPktSent = void (*)(void*, ngtcp2_conn_stat*, const void*);
using LibEvent = void (*)(void*, ngtcp2_conn_stat*, int, ngtcp2_tstamp);

template <typename F>
F lib_fn(const Attached& a, Role r) noexcept {
  return reinterpret_cast<F>(a.lib[r]);
}

// library: the connection's Attached when the library's controller is in
// charge (switching over first if fall_back() asked for it), else null.
Attached* library(void* cc, ngtcp2_conn_stat* cs, ngtcp2_tstamp ts) noexcept {
  Attached* a = t_table.find(cc);
  if (a == nullptr) return nullptr;
  if (a->fallback_pending) {
    // Start the library's algorithm afresh from here, as on a new path: it
    // saw none of the connection so far, and the controller's window and
    // pacing rate are not its own.
    a->fallback_pending = false;
    a->fallen_back = true;
    cs->congestion_recovery_start_ts = UINT64_MAX;
    cs->cwnd = initial_window(cs->max_tx_udp_payload_size);
    cs->pacing_rate = 0;
    if (auto f = lib_fn<LibTs>(*a, reset)) f(cc, cs, ts);
  }
  return a->fallen_back ? a : nullptr;
}

RateController* started(void* cc, ngtcp2_conn_stat* cs, ngtcp2_tstamp now) noexcept {
  Attached* a = t_table.find(cc);
  if (a == nullptr || a->controller == nullptr) return nullptr;
  if (!a->started) {
    a->started = true;
    cs->congestion_recovery_start_ts = UINT64_MAX;  // the library's recovery is not ours
    a->controller->on_start(*cs, now);
  }
  return a->controller;
}

void ctl_pkt_acked(void* cc, ngtcp2_conn_stat* cs, const void* pkt, ngtcp2_tstamp ts) {
  if (Attached* a = library(cc, cs, ts)) {
    if (auto f = lib_fn<PktAcked>(*a, pkt_acked)) f(cc, cs, pkt, ts);
    return;
  }
  if (RateController* c = started(cc, cs, ts)) {
    const auto* p = static_cast<const CcPkt*>(pkt);
    c->on_packet_acked(*cs, p->pktlen, p->sent_ts, ts);
  }
}

void ctl_congestion_event(void* cc, ngtcp2_conn_stat* cs, ngtcp2_tstamp sent_ts, ngtcp2_tstamp ts) {
  if (Attached* a = library(cc, cs, ts)) {
    if (auto f = lib_fn<LibCongestion>(*a, congestion_event)) f(cc, cs, sent_ts, ts);
    return;
  }
  RateController* c = started(cc, cs, ts);
  if (c == nullptr || in_recovery(cs, sent_ts)) return;
  cs->congestion_recovery_start_ts = ts;
  c->on_congestion(*cs, sent_ts, ts);
}

void ctl_spurious(void* cc, ngtcp2_conn_stat* cs, ngtcp2_tstamp ts) {
  if (Attached* a = library(cc, cs, ts)) {
    if (auto f = lib_fn<LibTs>(*a, spurious)) f(cc, cs, ts);
  }
}

void ctl_persistent(void* cc, ngtcp2_conn_stat* cs, ngtcp2_tstamp ts) {
  if (Attached* a = library(cc, cs, ts)) {
    if (auto f = lib_fn<LibTs>(*a, persistent)) f(cc, cs, ts);
    return;
  }
  if (RateController* c = started(cc, cs, ts)) {
    cs->congestion_recovery_start_ts = UINT64_MAX;
    c->on_persistent_congestion(*cs, ts);
  }
}

void ctl_ack_recv(void* cc, ngtcp2_conn_stat* cs, const void* ack, ngtcp2_tstamp ts) {
  if (Attached* a = library(cc, cs, ts)) {
    if (auto f = lib_fn<AckRecv>(*a, ack_recv)) f(cc, cs, ack, ts);
    return;
  }
  if (RateController* c = started(cc, cs, ts)) c->on_ack(*cs, ts);
}

void ctl_pkt_sent(void* cc, ngtcp2_conn_stat* cs, const void* pkt) {
  const auto* p = static_cast<const CcPkt*>(pkt);
  if (Attached* a = library(cc, cs, p->sent_ts)) {
    if (auto f = lib_fn<LibPktSent>(*a, pkt_sent)) f(cc, cs, pkt);
    return;
  }
  if (RateController* c = started(cc, cs, p->sent_ts))
    c->on_packet_sent(*cs, p->pktlen, p->sent_ts);
}

void ctl_new_rtt_sample(void* cc, ngtcp2_conn_stat* cs, ngtcp2_tstamp ts) {
  if (Attached* a = library(cc, cs, ts)) {
    if (auto f = lib_fn<LibTs>(*a, new_rtt_sample)) f(cc, cs, ts);
  }
}

void ctl_reset(void* cc, ngtcp2_conn_stat* cs, ngtcp2_tstamp ts) {
  // A path change: start over on the new path.
  if (Attached* a = library(cc, cs, ts)) {
    if (auto f = lib_fn<LibTs>(*a, reset)) f(cc, cs, ts);
    return;
  }
  Attached* a = t_table.find(cc);
  if (a == nullptr || a->controller == nullptr) return;
  a->started = true;
  cs->congestion_recovery_start_ts = UINT64_MAX;
  a->controller->on_start(*cs, ts);
}

void ctl_event(void* cc, ngtcp2_conn_stat* cs, int type, ngtcp2_tstamp ts) {
  if (Attached* a = library(cc, cs, ts)) {
    if (auto f = lib_fn<LibEvent>(*a, event)) f(cc, cs, type, ts);
  }
}

template <typename F>
Fn as_fn(F f) noexcept {
  return reinterpret_cast<Fn>(f);
}

// Algo: which library controller ngtcp2 just built.
enum class Algo : uint8_t { reno, cubic, bbr };

// attach is the common tail of the init wrappers: |algo| says which
// library controller ngtcp2 just built in |cc|.
void attach(void* cc, Algo algo) noexcept {
  Scope* s = t_scope;
  if (s == nullptr) return;
  const Layout& l = layout();
  if (!l.ok) return;
  RateController* ctl = s->controller();
  if (ctl == nullptr && s->ceiling() == CwndCeiling::stock) return;
  // Controllers need every entry (reno leaves some empty); the ceiling is
  // reno's and cubic's (BBR has no such limit).
  if (ctl != nullptr && algo == Algo::reno) return;
  if (ctl == nullptr && algo == Algo::bbr) return;
  auto* table = static_cast<Fn*>(cc);
  Attached& a = t_table.by_cc[cc];
  a = Attached{};
  t_table.last_key = nullptr;
  if (ctl != nullptr) {
    a.controller = ctl;
    a.fallen_back = s->deferred();
    for (size_t r = 0; r < n_roles; ++r) a.lib[r] = table[l.slot[r]];
    table[l.slot[pkt_acked]] = as_fn(&ctl_pkt_acked);
    table[l.slot[congestion_event]] = as_fn(&ctl_congestion_event);
    table[l.slot[spurious]] = as_fn(&ctl_spurious);
    table[l.slot[persistent]] = as_fn(&ctl_persistent);
    table[l.slot[ack_recv]] = as_fn(&ctl_ack_recv);
    table[l.slot[pkt_sent]] = as_fn(&ctl_pkt_sent);
    table[l.slot[new_rtt_sample]] = as_fn(&ctl_new_rtt_sample);
    table[l.slot[reset]] = as_fn(&ctl_reset);
    table[l.slot[event]] = as_fn(&ctl_event);
  } else {
    a.lib_pkt_acked = reinterpret_cast<PktAcked>(table[l.slot[pkt_acked]]);
    table[l.slot[pkt_acked]] = as_fn(&ceiling_pkt_acked);
    table[l.slot[ack_recv]] = as_fn(&ceiling_ack_recv);
  }
  s->mark_installed();
}

}  // namespace

bool available() noexcept { return layout().ok; }

Scope::Scope(CwndCeiling ceiling, RateController* controller, bool deferred) noexcept
    : ceiling_(ceiling), controller_(controller), deferred_(deferred), prev_(t_scope) {
  t_scope = this;
}

Scope::~Scope() { t_scope = prev_; }

Scope* Scope::current() noexcept { return t_scope; }

size_t live_connections() noexcept { return t_table.by_cc.size(); }

bool fall_back(const RateController* c) noexcept {
  if (c == nullptr) return false;
  for (auto& [cc, a] : t_table.by_cc) {
    if (a.controller != c) continue;
    if (!a.fallen_back) a.fallback_pending = true;
    return true;
  }
  return false;
}

bool take_over(const RateController* c) noexcept {
  if (c == nullptr) return false;
  for (auto& [cc, a] : t_table.by_cc) {
    if (a.controller != c) continue;
    if (a.fallen_back || a.fallback_pending) {
      a.fallback_pending = false;
      a.fallen_back = false;
      a.started = false;  // on_start at the next event, from the live statistics
    }
    return true;
  }
  return false;
}

bool fallen_back(const RateController* c) noexcept {
  if (c == nullptr) return false;
  for (auto& [cc, a] : t_table.by_cc)
    if (a.controller == c) return a.fallen_back || a.fallback_pending;
  return false;
}

}  // namespace sluice::quic::cc_hook

using sluice::quic::cc_hook::t_table;

using sluice::quic::cc_hook::Algo;

extern "C" int __wrap_ngtcp2_cc_cubic_cc_init(void* cc, void* log, const ngtcp2_mem* mem) {
  const int rv = __real_ngtcp2_cc_cubic_cc_init(cc, log, mem);
  if (rv == 0) sluice::quic::cc_hook::attach(cc, Algo::cubic);
  return rv;
}

extern "C" int __wrap_ngtcp2_cc_reno_cc_init(void* cc, void* log, const ngtcp2_mem* mem) {
  const int rv = __real_ngtcp2_cc_reno_cc_init(cc, log, mem);
  if (rv == 0) sluice::quic::cc_hook::attach(cc, Algo::reno);
  return rv;
}

extern "C" int __wrap_ngtcp2_cc_bbr_cc_init(void* cc, void* log, ngtcp2_conn_stat* cstat, void* rst,
                                            ngtcp2_tstamp initial_ts, ngtcp2_rand rand,
                                            const ngtcp2_rand_ctx* rand_ctx,
                                            const ngtcp2_mem* mem) {
  const int rv = __real_ngtcp2_cc_bbr_cc_init(cc, log, cstat, rst, initial_ts, rand, rand_ctx, mem);
  if (rv == 0) sluice::quic::cc_hook::attach(cc, Algo::bbr);
  return rv;
}

extern "C" int __wrap_ngtcp2_cc_bbr2_cc_init(void* cc, void* log, ngtcp2_conn_stat* cstat,
                                             void* rst, ngtcp2_tstamp initial_ts, ngtcp2_rand rand,
                                             const ngtcp2_rand_ctx* rand_ctx,
                                             const ngtcp2_mem* mem) {
  const int rv =
      __real_ngtcp2_cc_bbr2_cc_init(cc, log, cstat, rst, initial_ts, rand, rand_ctx, mem);
  if (rv == 0) sluice::quic::cc_hook::attach(cc, Algo::bbr);
  return rv;
}

extern "C" void __wrap_ngtcp2_cc_bbr_cc_free(void* cc, const ngtcp2_mem* mem) {
  t_table.erase(cc);
  __real_ngtcp2_cc_bbr_cc_free(cc, mem);
}

extern "C" void __wrap_ngtcp2_cc_bbr2_cc_free(void* cc, const ngtcp2_mem* mem) {
  t_table.erase(cc);
  __real_ngtcp2_cc_bbr2_cc_free(cc, mem);
}

extern "C" void __wrap_ngtcp2_cc_cubic_cc_free(void* cc, const ngtcp2_mem* mem) {
  t_table.erase(cc);
  __real_ngtcp2_cc_cubic_cc_free(cc, mem);
}

extern "C" void __wrap_ngtcp2_cc_reno_cc_free(void* cc, const ngtcp2_mem* mem) {
  t_table.erase(cc);
  __real_ngtcp2_cc_reno_cc_free(cc, mem);
}
