// proto/tuic/reassembly.hpp: Reassembler, TUIC's tolerant fragment
// reassembly (docs/protocols/tuic.md, "Fragment reassembly"), sans I/O.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Fragments are keyed by (ASSOC_ID, PKT_ID). The rules, as sing-box and
// tuic-quinn receive:
//   FRAG_TOTAL <= 1          the fragment is the datagram (ADDR must not be None);
//   FRAG_ID >= FRAG_TOTAL    dropped;
//   a duplicate FRAG_ID      dropped (the first copy is kept);
//   a FRAG_TOTAL differing from the key's first fragment's: the whole
//                            partial packet is dropped;
//   every fragment present   concatenated in FRAG_ID order and delivered
//                            with fragment 0's ADDR (None there: dropped);
//   zero-length fragments    accepted (tuic-quinn may send an empty last one);
//   a total above kMaxPacketSize: dropped.
// Partial packets expire |lifetime_ms| after their first fragment arrived
// (tuic's gc_lifetime 15 s; sing-box keeps 10 s); at most |max_partial|
// are kept per Reassembler (the oldest is evicted for a new one), so a
// peer cannot make it hold more than max_partial × kMaxPacketSize bytes.
//
// Memory: the slots are made once, and each slot's fragment list keeps its
// capacity, so a steady stream of fragmented datagrams allocates nothing
// but the pool Slice of each reassembled datagram (one copy, the
// concatenation). Fragments are held as the Slices the caller passes (views
// of its receive buffers, no copy).
//
// Time: the caller passes now (milliseconds, any epoch) to add() and
// expire(); next_expiry() says when to call expire() next.
//
// Threading: one connection's object, touched by its loop thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "proto/target_address.hpp"
#include "proto/tuic/tuic.hpp"
#include "sluice/buffer.hpp"

namespace sluice::tuic {

struct ReassemblerOptions {
  size_t max_partial = 64;
  uint64_t lifetime_ms = 15000;
};

struct ReassemblerStats {
  uint64_t delivered = 0;    // datagrams delivered (whole or reassembled)
  uint64_t reassembled = 0;  // of which put together from fragments
  uint64_t dropped = 0;      // fragments or partial packets thrown away
  uint64_t expired = 0;      // partial packets that timed out
};

// Reassembled is one complete datagram.
struct Reassembled {
  uint16_t assoc_id = 0;
  TargetAddress address;
  Slice payload;
};

class Reassembler {
 public:
  enum class Outcome : uint8_t { incomplete, complete, dropped };

  explicit Reassembler(const ReassemblerOptions& o = {});

  // add first expires what is due by |now_ms|, then takes one fragment with
  // header |h| and its |payload| (h.size bytes).
  // complete: |*out| holds the datagram (the payload is |payload| itself for
  // an unfragmented one, else one pool Slice). dropped: see above, or the
  // pool refused the concatenation's buffer.
  Outcome add(const PacketHeader& h, Slice&& payload, uint64_t now_ms, BufferPool& pool,
              Reassembled* out) noexcept;
  // expire drops partial packets whose lifetime ended by |now_ms|.
  void expire(uint64_t now_ms) noexcept;
  // forget drops every partial packet of |assoc_id| (Dissociate).
  void forget(uint16_t assoc_id) noexcept;
  // next_expiry: when the oldest partial packet expires (UINT64_MAX: none).
  uint64_t next_expiry() const noexcept;
  size_t partial() const noexcept { return used_; }
  const ReassemblerStats& stats() const noexcept { return stats_; }

 private:
  struct Slot {
    bool used = false;
    uint16_t assoc_id = 0;
    uint16_t packet_id = 0;
    uint8_t total = 0;
    uint8_t have = 0;
    bool has_address = false;
    TargetAddress address;
    uint64_t born_ms = 0;
    size_t bytes = 0;
    std::vector<Slice> frags;  // indexed by FRAG_ID; empty Slice + !present = missing
    std::vector<bool> present;
  };
  void release(Slot& s) noexcept;

  ReassemblerOptions opts_;
  std::vector<Slot> slots_;
  size_t used_ = 0;
  ReassemblerStats stats_;
};

}  // namespace sluice::tuic
