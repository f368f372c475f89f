/* sluice_ext.c: see sluice_ext.h. */
#include "sluice_ext.h"

#include <stddef.h>
#include <stdlib.h>

#include "ngtcp2_conn.h"
#include "ngtcp2_ksl.h"
#include "ngtcp2_map.h"
#include "ngtcp2_mem.h"
#include "ngtcp2_objalloc.h"
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

/* --- giving back the memory of closed streams ------------------------------ */

/* objalloc_block: one block of an ngtcp2_objalloc, its first object and how
 * many of its objects are on the free list. */
typedef struct objalloc_block {
  uintptr_t first;
  ngtcp2_memblock_hd* hd;
  size_t nfree;
} objalloc_block;

static int objalloc_block_cmp(const void* a, const void* b) {
  uintptr_t x = ((const objalloc_block*)a)->first;
  uintptr_t y = ((const objalloc_block*)b)->first;
  return x < y ? -1 : x > y;
}

/* objalloc_block_of returns the block (of |n|, sorted by first) that holds
 * the object at |obj|, or NULL if none does. */
static objalloc_block* objalloc_block_of(objalloc_block* blks, size_t n, size_t blklen,
                                         uintptr_t obj) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (obj < blks[mid].first) {
      hi = mid;
    } else if (obj >= blks[mid].first + blklen) {
      lo = mid + 1;
    } else {
      return &blks[mid];
    }
  }
  return NULL;
}

/* objalloc_first_object is where ngtcp2_balloc_get places a block's first
 * object: the block header, then 16-byte alignment. */
static uintptr_t objalloc_first_object(ngtcp2_memblock_hd* hd) {
  return ((uintptr_t)hd + sizeof(ngtcp2_memblock_hd) + 0xfu) & ~(uintptr_t)0xfu;
}

/* objalloc_trim frees every block of |oa| but the current one (the list's
 * head, which ngtcp2_balloc_get is carving) whose objects are all on the
 * free list, taking those objects off the list. |objlen| is the size of the
 * objects |oa| hands out (every objalloc of ngtcp2 0.12.1 but the skip
 * lists' hands out one size), |entoff| the offset of their ngtcp2_opl_entry.
 * A full block was carved into exactly blklen / stride objects: ngtcp2's
 * objalloc_init makes blklen a multiple of the 16-byte-aligned object size.
 * Returns the bytes freed. */
static size_t objalloc_trim(ngtcp2_objalloc* oa, size_t objlen, size_t entoff,
                            sluice_ngtcp2_compact_stats* st) {
  ngtcp2_balloc* ba = &oa->balloc;
  const size_t stride = (objlen + 0xfu) & ~(size_t)0xfu;
  const size_t per_block = stride ? ba->blklen / stride : 0;
  ngtcp2_memblock_hd *hd, **link;
  ngtcp2_opl_entry *ent, **elink;
  objalloc_block *blks, *b;
  size_t n = 0, i, freed = 0;

  if (ba->head == NULL || ba->head->next == NULL || per_block == 0) {
    return 0; /* one block at most: nothing but the current one */
  }
  for (hd = ba->head->next; hd; hd = hd->next) {
    ++n;
  }
  blks = ngtcp2_mem_malloc(ba->mem, n * sizeof(*blks));
  if (blks == NULL) {
    return 0; /* giving back is optional; the next call tries again */
  }
  i = 0;
  for (hd = ba->head->next; hd; hd = hd->next, ++i) {
    blks[i].first = objalloc_first_object(hd);
    blks[i].hd = hd;
    blks[i].nfree = 0;
  }
  qsort(blks, n, sizeof(*blks), objalloc_block_cmp);

  for (ent = oa->opl.head; ent; ent = ent->next) {
    b = objalloc_block_of(blks, n, ba->blklen, (uintptr_t)ent - entoff);
    if (b) {
      ++b->nfree;
    }
  }
  /* A block is free when every object carved from it is on the free list.
   * Mark it by clearing hd; then unlink its objects and the block. */
  for (i = 0; i < n; ++i) {
    if (blks[i].nfree == per_block) {
      blks[i].hd = NULL;
    }
  }
  for (elink = &oa->opl.head; (ent = *elink) != NULL;) {
    b = objalloc_block_of(blks, n, ba->blklen, (uintptr_t)ent - entoff);
    if (b && b->hd == NULL) {
      *elink = ent->next;
    } else {
      elink = &ent->next;
    }
  }
  for (link = &ba->head->next; (hd = *link) != NULL;) {
    b = objalloc_block_of(blks, n, ba->blklen, objalloc_first_object(hd));
    if (b && b->hd == NULL) {
      *link = hd->next;
      ngtcp2_mem_free(ba->mem, hd);
      freed += sizeof(ngtcp2_memblock_hd) + 0x10u + ba->blklen;
      ++st->blocks_freed;
    } else {
      link = &hd->next;
      ++st->blocks_kept;
    }
  }
  ngtcp2_mem_free(ba->mem, blks);
  return freed;
}

/* objalloc_capacity returns how many objects of |objlen| |oa|'s blocks
 * hold. */
static size_t objalloc_capacity(ngtcp2_objalloc* oa, size_t objlen) {
  const size_t stride = (objlen + 0xfu) & ~(size_t)0xfu;
  const ngtcp2_memblock_hd* hd;
  size_t n = 0;

  for (hd = oa->balloc.head; hd; hd = hd->next) {
    ++n;
  }
  return n * (oa->balloc.blklen / stride);
}

/* map_shrink rebuilds |map|'s table at the smallest power-of-two length
 * (16 at least, ngtcp2's first) that holds its entries at a load of at most
 * 3/8, half ngtcp2's growth threshold of 3/4, so that a few more inserts do
 * not grow it again at once; only when that is at most a quarter of the
 * current length, so a small table is left alone. Returns the bytes freed. */
static size_t map_shrink(ngtcp2_map* map) {
  ngtcp2_map nm;
  uint32_t len = 16, bits = 4, i;
  size_t freed;

  while ((uint64_t)len * 3 < (uint64_t)map->size * 8) {
    len <<= 1;
    ++bits;
  }
  if ((uint64_t)len * 4 > map->tablelen) {
    return 0;
  }
  ngtcp2_map_init(&nm, map->mem);
  nm.table = ngtcp2_mem_calloc(map->mem, len, sizeof(ngtcp2_map_bucket));
  if (nm.table == NULL) {
    return 0;
  }
  nm.tablelen = len;
  nm.tablelenbits = bits;
  /* Below ngtcp2's load threshold ngtcp2_map_insert never resizes, and the
   * keys are distinct: it cannot fail. */
  for (i = 0; i < map->tablelen; ++i) {
    if (map->table[i].data) {
      ngtcp2_map_insert(&nm, map->table[i].key, map->table[i].data);
    }
  }
  freed = (map->tablelen - len) * sizeof(ngtcp2_map_bucket);
  ngtcp2_mem_free(map->mem, map->table);
  *map = nm;
  return freed;
}

size_t sluice_ngtcp2_num_streams(ngtcp2_conn* conn) { return ngtcp2_map_size(&conn->strms); }

size_t sluice_ngtcp2_stream_table_len(ngtcp2_conn* conn) { return conn->strms.tablelen; }

int sluice_ngtcp2_stream_pool_grown(ngtcp2_conn* conn) {
  const ngtcp2_memblock_hd* head = conn->strm_objalloc.balloc.head;
  return head != NULL && head->next != NULL;
}

size_t sluice_ngtcp2_compact(ngtcp2_conn* conn, sluice_ngtcp2_compact_stats* stats) {
  sluice_ngtcp2_compact_stats st = {0, 0, 0};

  st.bytes_freed +=
      objalloc_trim(&conn->strm_objalloc, sizeof(ngtcp2_strm), offsetof(ngtcp2_strm, oplent), &st);
  /* The packet pools are the data path's: under load most of their blocks
   * are in use and a freed one would soon be allocated again. Trim them only
   * once the packets in flight fill a quarter of the sent-packet pool or
   * less (the load that grew it is over), which also spares the walk. */
  if (ngtcp2_ksl_len(&conn->pktns.rtb.ents) * 4 <=
      objalloc_capacity(&conn->rtb_entry_objalloc, sizeof(ngtcp2_rtb_entry))) {
    st.bytes_freed += objalloc_trim(&conn->frc_objalloc, sizeof(ngtcp2_frame_chain),
                                    offsetof(ngtcp2_frame_chain, oplent), &st);
    st.bytes_freed += objalloc_trim(&conn->rtb_entry_objalloc, sizeof(ngtcp2_rtb_entry),
                                    offsetof(ngtcp2_rtb_entry, oplent), &st);
  }
  st.bytes_freed += map_shrink(&conn->strms);
  if (stats) {
    *stats = st;
  }
  return st.bytes_freed;
}
