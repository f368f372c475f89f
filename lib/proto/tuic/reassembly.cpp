// proto/tuic/reassembly.cpp: TUIC fragment reassembly.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tuic/reassembly.hpp"

#include <cstring>

namespace sluice::tuic {

Reassembler::Reassembler(const ReassemblerOptions& o) : opts_(o) {
  if (opts_.max_partial == 0) opts_.max_partial = 1;
  slots_.resize(opts_.max_partial);
}

void Reassembler::release(Slot& s) noexcept {
  // clear() keeps the vectors' capacity for the slot's next packet.
  s.frags.clear();
  s.present.clear();
  s.used = false;
  used_--;
}

Reassembler::Outcome Reassembler::add(const PacketHeader& h, Slice&& payload, uint64_t now_ms,
                                      BufferPool& pool, Reassembled* out) noexcept {
  // Whatever this fragment is, what is due goes first (cheap when nothing
  // is partial), so no call leaves an expired packet behind.
  expire(now_ms);
  if (h.frag_total <= 1) {
    if (h.frag_id != 0 || !h.has_address) {
      stats_.dropped++;
      return Outcome::dropped;
    }
    out->assoc_id = h.assoc_id;
    out->address = h.address;
    out->payload = std::move(payload);
    stats_.delivered++;
    return Outcome::complete;
  }
  if (h.frag_id >= h.frag_total) {
    stats_.dropped++;
    return Outcome::dropped;
  }
  Slot* slot = nullptr;
  Slot* free_slot = nullptr;
  Slot* oldest = nullptr;
  for (Slot& s : slots_) {
    if (!s.used) {
      if (free_slot == nullptr) free_slot = &s;
      continue;
    }
    if (s.assoc_id == h.assoc_id && s.packet_id == h.packet_id) {
      slot = &s;
      break;
    }
    if (oldest == nullptr || s.born_ms < oldest->born_ms) oldest = &s;
  }
  if (slot != nullptr && slot->total != h.frag_total) {
    // Fragments of one packet disagree on its size: nothing of it can be trusted.
    release(*slot);
    stats_.dropped++;
    return Outcome::dropped;
  }
  if (slot == nullptr) {
    if (free_slot == nullptr) {
      release(*oldest);
      stats_.dropped++;
      free_slot = oldest;
    }
    slot = free_slot;
    slot->used = true;
    used_++;
    slot->assoc_id = h.assoc_id;
    slot->packet_id = h.packet_id;
    slot->total = h.frag_total;
    slot->have = 0;
    slot->has_address = false;
    slot->born_ms = now_ms;
    slot->bytes = 0;
    slot->frags.resize(h.frag_total);
    slot->present.assign(h.frag_total, false);
  }
  if (slot->present[h.frag_id]) {
    stats_.dropped++;
    return slot->have == slot->total ? Outcome::dropped : Outcome::incomplete;
  }
  if (slot->bytes + payload.size() > kMaxPacketSize) {
    release(*slot);
    stats_.dropped++;
    return Outcome::dropped;
  }
  if (h.frag_id == 0) {
    slot->has_address = h.has_address;
    slot->address = h.address;
  }
  slot->bytes += payload.size();
  slot->frags[h.frag_id] = std::move(payload);
  slot->present[h.frag_id] = true;
  if (++slot->have < slot->total) return Outcome::incomplete;

  if (!slot->has_address) {
    release(*slot);
    stats_.dropped++;
    return Outcome::dropped;
  }
  auto buf = pool.get(slot->bytes == 0 ? 1 : slot->bytes);
  if (!buf) {
    release(*slot);
    stats_.dropped++;
    return Outcome::dropped;
  }
  Slice whole = std::move(*buf);
  uint8_t* dst = whole.append(slot->bytes);
  for (const Slice& f : slot->frags) {
    if (!f.empty()) std::memcpy(dst, f.data(), f.size());
    dst += f.size();
  }
  out->assoc_id = slot->assoc_id;
  out->address = slot->address;
  out->payload = std::move(whole);
  release(*slot);
  stats_.delivered++;
  stats_.reassembled++;
  return Outcome::complete;
}

void Reassembler::expire(uint64_t now_ms) noexcept {
  if (used_ == 0) return;
  for (Slot& s : slots_) {
    if (s.used && now_ms - s.born_ms >= opts_.lifetime_ms) {
      release(s);
      stats_.expired++;
    }
  }
}

void Reassembler::forget(uint16_t assoc_id) noexcept {
  if (used_ == 0) return;
  for (Slot& s : slots_)
    if (s.used && s.assoc_id == assoc_id) release(s);
}

uint64_t Reassembler::next_expiry() const noexcept {
  uint64_t t = UINT64_MAX;
  if (used_ == 0) return t;
  for (const Slot& s : slots_)
    if (s.used && s.born_ms + opts_.lifetime_ms < t) t = s.born_ms + opts_.lifetime_ms;
  return t;
}

}  // namespace sluice::tuic
