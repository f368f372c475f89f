/* sluice_ext.c: see sluice_ext.h. */
#include "sluice_ext.h"

#include "ngtcp2_conn.h"
#include "ngtcp2_rtb.h"

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

void sluice_ngtcp2_datagrams_pto_eliciting(ngtcp2_conn* conn, int64_t* marked, ngtcp2_tstamp ts) {
  ngtcp2_rtb* rtb = &conn->pktns.rtb;
  ngtcp2_ksl_it it;
  ngtcp2_rtb_entry* ent;
  int64_t newest = *marked;
  int changed = 0;

  /* The entries are ordered by packet number, greatest first. */
  for (it = ngtcp2_ksl_begin(&rtb->ents); !ngtcp2_ksl_it_end(&it); ngtcp2_ksl_it_next(&it)) {
    ent = ngtcp2_ksl_it_get(&it);
    if (ent->hd.pkt_num <= *marked) {
      break;
    }
    if (ent->hd.pkt_num > newest) {
      newest = ent->hd.pkt_num;
    }
    /* A lost entry's counters were settled when it was declared lost. */
    if ((ent->flags & NGTCP2_RTB_ENTRY_FLAG_DATAGRAM) &&
        !(ent->flags &
          (NGTCP2_RTB_ENTRY_FLAG_PTO_ELICITING | NGTCP2_RTB_ENTRY_FLAG_LOST_RETRANSMITTED))) {
      ent->flags |= NGTCP2_RTB_ENTRY_FLAG_PTO_ELICITING;
      ++rtb->num_pto_eliciting;
      changed = 1;
    }
  }
  *marked = newest;
  if (changed) {
    ngtcp2_conn_set_loss_detection_timer(conn, ts);
  }
}
