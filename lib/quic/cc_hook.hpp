// cc_hook.hpp: sluice's hook into ngtcp2 0.12.1's congestion controllers.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// ngtcp2 0.12.1 has no public congestion-control interface: a connection's
// controller is an internal `ngtcp2_cc` (a table of function pointers in
// front of the algorithm's state) filled in by `ngtcp2_cc_<algo>_cc_init`,
// which `ngtcp2_conn_*_new` calls. sluice links libngtcp2 statically and
// asks the linker to route those init calls through this file
// (`-Wl,--wrap=ngtcp2_cc_cubic_cc_init`, same for reno and the two frees;
// see the top-level meson.build). After the real init has filled the
// table, the wrapper may replace entries. It never assumes the table's
// layout: it finds each entry by comparing it with the address of the
// library's own function for that entry (those are global symbols in the
// static library), and it checks the one internal struct whose fields it
// reads (`ngtcp2_cc_pkt`) once against `ngtcp2_cc_pkt_init`. If any check
// fails, the table is left exactly as ngtcp2 built it and `available()` is
// false, so a different ngtcp2 build degrades to stock behaviour instead of
// misbehaving.
//
// Two uses:
//
// 1. CwndCeiling::smoothed_rtt (the default for reno and cubic). 0.12.1
//    stops growing cwnd once it exceeds
//        2.89 × max(initial window, max delivery rate × min RTT).
//    On a path whose queueing delay dwarfs its minimum RTT, such as
//    loopback (min RTT 13 µs, loaded RTT 60-300 µs), that ceiling pins
//    cwnd at 2.89 × the initial window (about 41 KiB) and the connection
//    at cwnd / RTT. Later ngtcp2 releases compute the same ceiling from
//    the smoothed RTT and a windowed maximum of the delivery rate; the hook
//    does that for 0.12.1: it takes over the "ACK received" entry (which in
//    0.12.1 only computes the ceiling) and checks its own ceiling before
//    handing each acknowledged packet to the library's reno/cubic.
//    CwndCeiling::stock keeps 0.12.1's rule.
//
// 2. RateController: a whole controller supplied by the application for one
//    connection (Hysteria's Brutal is one): every entry of the table goes to
//    it. It sets cwnd and, if it wants, the pacing rate in the
//    `ngtcp2_conn_stat` it is handed; ngtcp2 then sends no more than cwnd
//    allows and paces at that rate (0 = ngtcp2 paces by cwnd / smoothed RTT).
//    The algorithm ngtcp2 built underneath (the connection's cubic, BBR or
//    BBRv2; the wrappers cover the BBR initialisers too) keeps its state but
//    hears nothing, until fall_back() hands the connection to it at run
//    time: from the next entry on, every entry goes to the library's own
//    function again, after its reset entry restarted it (as on a new path)
//    from the initial window. Hysteria uses that when the server answers
//    `Hysteria-CC-RX: auto` after the handshake, which fixed the algorithm.
//
// Threads: the hook's per-connection table is per thread; a connection is
// created, driven and deleted on one loop thread (the Engine's).
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstddef>
#include <cstdint>

namespace sluice::quic {

enum class CwndCeiling : uint8_t {
  smoothed_rtt,  // 2.89 × max delivery rate (last 10 ACKs) × smoothed RTT
  stock,         // ngtcp2 0.12.1's own: 2.89 × max delivery rate × min RTT
};

// RateController: a sender's congestion controller for one connection.
// Every call gets the connection's live statistics; the controller writes
// `cs.cwnd` (bytes; ngtcp2 keeps bytes_in_flight below it) and may write
// `cs.pacing_rate` (bytes per nanosecond; 0 lets ngtcp2 pace by cwnd / RTT)
// and `cs.ssthresh`. Times are ngtcp2 timestamps (nanoseconds, the
// connection's clock). It must not call back into the connection.
class RateController {
 public:
  virtual ~RateController() = default;
  // on_start: the connection is created (cs.cwnd holds ngtcp2's initial
  // window, cs.max_tx_udp_payload_size the current packet size).
  virtual void on_start(ngtcp2_conn_stat& cs, uint64_t now) = 0;
  // on_packet_sent: an ack-eliciting or in-flight packet of |bytes| left.
  virtual void on_packet_sent(ngtcp2_conn_stat& cs, size_t bytes, uint64_t now) = 0;
  // on_packet_acked: a packet of |bytes| sent at |sent_at| was acknowledged
  // (called for each packet, before on_ack for the ACK frame).
  virtual void on_packet_acked(ngtcp2_conn_stat& cs, size_t bytes, uint64_t sent_at,
                               uint64_t now) = 0;
  // on_ack: an ACK frame acknowledged one or more packets; RTT and delivery
  // rate in |cs| are up to date.
  virtual void on_ack(ngtcp2_conn_stat& cs, uint64_t now) = 0;
  // on_congestion: ngtcp2 declared loss (or an ECN CE mark) of packets sent
  // up to |sent_at|; once per loss episode per ngtcp2's recovery logic.
  virtual void on_congestion(ngtcp2_conn_stat& cs, uint64_t sent_at, uint64_t now) = 0;
  // on_persistent_congestion: RFC 9002 §7.6; ngtcp2 has already reset its
  // loss state.
  virtual void on_persistent_congestion(ngtcp2_conn_stat& cs, uint64_t now) = 0;
};

namespace cc_hook {

// available: the static libngtcp2 this binary carries matched every layout
// check, so CwndCeiling::smoothed_rtt and RateController take effect.
// (Computed once; cheap afterwards.)
bool available() noexcept;

// Scope: what the next `ngtcp2_conn_{client,server}_new` on this thread
// installs. Construct one around that call only.
class Scope {
 public:
  // deferred: the library's algorithm is in charge from the start and
  // |controller| hears nothing until take_over().
  Scope(CwndCeiling ceiling, RateController* controller, bool deferred = false) noexcept;
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  // installed: the hook took effect for the connection created in scope.
  bool installed() const noexcept { return installed_; }

  // Internal: called by the init wrapper.
  static Scope* current() noexcept;
  void mark_installed() noexcept { installed_ = true; }
  CwndCeiling ceiling() const noexcept { return ceiling_; }
  RateController* controller() const noexcept { return controller_; }
  bool deferred() const noexcept { return deferred_; }

 private:
  CwndCeiling ceiling_;
  RateController* controller_;
  bool deferred_;
  Scope* prev_;
  bool installed_ = false;
};

// live_connections: connections on this thread the hook is attached to
// (for tests: it drops to zero when they are deleted).
size_t live_connections() noexcept;

// fall_back hands the connection whose controller is |c| (on this thread)
// back to the library's algorithm it was created with, from its next
// congestion-control event on; |c| hears nothing more. false when no live
// connection has |c|. Idempotent.
bool fall_back(const RateController* c) noexcept;
// fallen_back: the library's algorithm is (or is about to be) in charge of
// |c|'s connection: fall_back() was called, or the controller was deferred
// and take_over() was not.
bool fallen_back(const RateController* c) noexcept;
// take_over hands the connection whose controller is |c| (on this thread)
// to |c| from its next congestion-control event on, starting it afresh
// (on_start with the connection's current statistics); the library's
// algorithm hears nothing more. For a controller created deferred, or one
// that fell back. false when no live connection has |c|. Idempotent.
bool take_over(const RateController* c) noexcept;

}  // namespace cc_hook
}  // namespace sluice::quic
