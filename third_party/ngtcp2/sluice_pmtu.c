/* sluice_pmtu.c: see sluice_pmtu.h. Compiled with ngtcp2's own sources and
 * internal headers (lib/ngtcp2_conn.h), which this build pins to 0.12.1. */
#include "sluice_pmtu.h"

#include "ngtcp2_conn.h"

int sluice_ngtcp2_pmtu_black_hole(ngtcp2_conn* conn, size_t pto_threshold) {
  ngtcp2_dcid* dcid = &conn->dcid.current;
  const ngtcp2_conn_stat* cstat = &conn->cstat;
  int rv;

  if (conn->local.settings.no_pmtud || dcid->max_udp_payload_size <= NGTCP2_MAX_UDP_PAYLOAD_SIZE ||
      !ngtcp2_conn_get_handshake_completed(conn) || conn->remote.transport_params == NULL ||
      conn->pv != NULL || conn->state != NGTCP2_CS_POST_HANDSHAKE) {
    return 0;
  }
  if (cstat->pto_count < pto_threshold && cstat->first_rtt_sample_ts != UINT64_MAX) {
    return 0;
  }
  dcid->max_udp_payload_size = NGTCP2_MAX_UDP_PAYLOAD_SIZE;
  ngtcp2_conn_stop_pmtud(conn);
  rv = ngtcp2_conn_start_pmtud(conn);
  return rv == 0 ? 1 : rv;
}
