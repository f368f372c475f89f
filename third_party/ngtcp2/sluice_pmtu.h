/* sluice_pmtu.h: Path MTU black-hole recovery for ngtcp2 0.12.1.
 *
 * Copyright 2026 the sluice authors. Apache-2.0.
 *
 * ngtcp2 0.12.1's Path MTU Discovery only ever raises a path's UDP payload
 * size (dcid.current.max_udp_payload_size); nothing lowers it when the path
 * shrinks afterwards (a tunnel comes up, a route changes). Every full-sized
 * packet is then lost while small ones (ACKs, PINGs) still pass, so the
 * connection neither delivers nor idles out. RFC 8899 section 4.3 calls for
 * black-hole detection; ngtcp2 has no public setter for the path's size, so
 * this extension, compiled with ngtcp2's internal headers, does it.
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

#ifdef __cplusplus
}
#endif
