/* sluice_ext.h: two fixes to ngtcp2 0.12.1's loss recovery and one to its
 * memory use that need its internals, compiled with its sources and
 * internal headers (sluice_ext.c).
 * This build pins ngtcp2 to 0.12.1 (meson.build checks the version), so the
 * internal layout they touch is fixed.
 *
 * Copyright 2026 the sluice authors. Apache-2.0.
 *
 * 1. Path MTU black holes. 0.12.1's Path MTU Discovery only ever raises a
 *    path's UDP payload size (dcid.current.max_udp_payload_size); nothing
 *    lowers it when the path shrinks afterwards (a tunnel comes up, a route
 *    changes). Every full-sized packet is then lost while small ones (ACKs,
 *    PINGs) still pass, so the connection neither delivers nor idles out.
 *    RFC 8899 section 4.3 calls for black-hole detection; ngtcp2 has no
 *    public setter for the path's size.
 *
 * 2. DATAGRAM-only packets are not PTO-eliciting in 0.12.1 (ngtcp2 issue
 *    697, fixed upstream in 0.14 by making them so). When every packet in
 *    flight carries only DATAGRAM frames and they are all lost, no probe
 *    timeout is armed, nothing after them is acknowledged, so they are never
 *    declared lost: their bytes stay in flight above the congestion window
 *    and the connection sends nothing more (not even its keep-alive) until
 *    the idle timeout. RFC 9002 section 6.2 and RFC 9221 section 5.2: a
 *    DATAGRAM is ack-eliciting like any other frame and may be probed for.
 *
 * 3. Memory of closed streams. 0.12.1 takes a connection's stream objects
 *    (176 bytes each), frame chains and sent-packet entries from per-object
 *    free lists over blocks of 64 (ngtcp2_objalloc) and frees the blocks
 *    only with the connection; its stream hash table grows and never
 *    shrinks. A long-lived connection that once held 4,096 streams keeps
 *    about 0.9 MiB for them after they all closed (a TUIC or Hysteria2
 *    client's one connection lives as long as the process). Neither has an
 *    API to give that back.
 */
#pragma once

#include <ngtcp2/ngtcp2.h>

#ifdef __cplusplus
extern "C" {
#endif

/* sluice_ngtcp2_pmtu_black_hole checks |conn| for signs of a PMTU black
 * hole and, when it finds them while the path's UDP payload size is above
 * NGTCP2_MAX_UDP_PAYLOAD_SIZE (1200, which every QUIC path carries: RFC 9000
 * section 14), lowers it to 1200 and restarts PMTUD from there, which then
 * finds the path's new size. The signs: |pto_threshold| or more consecutive
 * probe timeouts, or a persistent congestion declared since the last RTT
 * sample (ngtcp2 then forgets first_rtt_sample_ts), both after the handshake
 * completed. Returns 1 when it lowered the size, 0 when nothing was due, or
 * a negative ngtcp2 error (out of memory) from restarting PMTUD. Must not be
 * called from inside an ngtcp2 callback. Reads a few fields: cheap enough to
 * call before every write. */
int sluice_ngtcp2_pmtu_black_hole(ngtcp2_conn* conn, size_t pto_threshold);

/* sluice_ngtcp2_datagrams_pto_eliciting makes the 1-RTT packets sent since
 * the last call (packet numbers above *|marked|, which it advances; start
 * it at -1) that carry DATAGRAM frames PTO-eliciting, as ngtcp2 0.14 does
 * when it builds them, and re-arms the loss detection timer at |ts| if it
 * changed any. Call it after writing packets that may hold DATAGRAM frames,
 * outside ngtcp2's callbacks. It visits only the packets sent since the last
 * call. */
void sluice_ngtcp2_datagrams_pto_eliciting(ngtcp2_conn* conn, int64_t* marked, ngtcp2_tstamp ts);

/* sluice_ngtcp2_compact_stats: what one sluice_ngtcp2_compact call did. */
typedef struct sluice_ngtcp2_compact_stats {
  size_t bytes_freed;  /* blocks and table memory given back to the allocator */
  size_t blocks_freed; /* object blocks freed (stream, frame chain, packet) */
  size_t blocks_kept;  /* blocks kept because an object in them is in use */
} sluice_ngtcp2_compact_stats;

/* sluice_ngtcp2_num_streams returns the number of streams |conn| still
 * keeps (open, or closed by the application and not yet acknowledged). */
size_t sluice_ngtcp2_num_streams(ngtcp2_conn* conn);

/* sluice_ngtcp2_stream_table_len returns the length (buckets) of |conn|'s
 * stream hash table: 0 before the first stream, then 16, doubled whenever
 * the streams would fill more than 3/4 of it. */
size_t sluice_ngtcp2_stream_table_len(ngtcp2_conn* conn);

/* sluice_ngtcp2_stream_pool_grown returns 1 when |conn|'s stream pool has
 * more than one block (more than 64 streams were allocated at once since
 * it last shrank), else 0. O(1). */
int sluice_ngtcp2_stream_pool_grown(ngtcp2_conn* conn);

/* sluice_ngtcp2_compact gives |conn|'s unused object memory back to its
 * allocator: every block of the stream pool whose objects are all free,
 * the same in the frame-chain and sent-packet pools once the packets in
 * flight fill a quarter of that pool or less (the data path's: a busy
 * connection keeps them), each pool's current block excepted so that a new
 * stream or packet right after does not allocate; and the stream hash
 * table when a quarter of its length or less would hold the streams left
 * (rebuilt at a load of 3/8, 16 buckets at least). It never moves
 * or frees an object in use. Returns the bytes freed and fills |stats| if
 * not NULL. Cost: O(1) when each pool has one block, else a walk of the
 * pools' free lists and blocks (O(f log b)) and of the table: call it after
 * many streams closed, not per packet. Must not be called from inside an
 * ngtcp2 callback (the table may be being iterated). Out of memory for its
 * scratch array or the smaller table, it leaves that part as it was. */
size_t sluice_ngtcp2_compact(ngtcp2_conn* conn, sluice_ngtcp2_compact_stats* stats);

#ifdef __cplusplus
}
#endif
