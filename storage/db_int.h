/*
 * db_int.h - the grove_db_t struct and the helpers shared by the files
 * that implement db.h: db.c (open/close, HLC, metadata, statistics),
 * db_ops.c (typed operations, merge, reads, scans), db_state.c (a key's
 * state loaded and committed), db_cache.c (record cache, stripes) and
 * db_index.c (digest index: clean-shutdown record, rebuild, tree queries).
 *
 * Record layout in the store (doc/storage_format.md has the full tables):
 *   'u' key            -> canonical value encoding, type byte   user state
 *   'd' seg(2 BE) key  -> (empty)                              segment index
 *   'm' name           -> bytes                                grove_db_meta_*
 *   'c' name           -> bytes                                db-owned system
 * Every user key lives under 'u', so no user key can collide with an
 * internal record and user scans (prefix 'u') never see internal ones.
 */
#ifndef GROVE_DB_INT_H
#define GROVE_DB_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/buf.h"
#include "storage/commit.h"
#include "grove/db.h"
#include "storage/store.h"
#include "storage/tree.h"

#define GROVE_DB_PFX_USER 'u'
#define GROVE_DB_PFX_DIGEST 'd'
#define GROVE_DB_PFX_META 'm'
#define GROVE_DB_PFX_SYS 'c' /* below 'd': segment seeks never land on the large clean record */
#define GROVE_DB_PFX_ELEM 'e'  /* 'e' klen(2 BE) key kind elem -> element record */
#define GROVE_DB_PFX_KMETA 'k' /* 'k' key -> collection metadata (local) */
#define GROVE_DB_PFX_PURGE 'p' /* 'p' key -> empty: a key delete's purge is pending */
#define GROVE_DB_PFX_ZINDEX 'z' /* 'z' klen(2 BE) key score(8) member -> empty (local) */
#define GROVE_DB_PFX_ZRANK 'r' /* 'r' klen(2 BE) key level boundary -> count (local, db_zrank.c) */
#define GROVE_DB_PFX_CLOUD 'g' /* 'g' klen(2 BE) key node 0 block(8) -> dots (db_cloud.c) */
#define GROVE_DB_PFX_EXPIRE 'x' /* 'x' deadline(8 BE) key -> empty: the TTL index (local) */
/* The records the store's point cache keeps (store.h, opts.elem_cache_bytes):
 * element records, and the heads and metadata that a point read of an
 * element reads first. */
#define GROVE_DB_CACHED_PREFIXES "euk"

#define GROVE_DB_STRIPES 256           /* key locks; a key's is hash-chosen */
#define GROVE_DB_ENAME_SPARES 4        /* element names kept for reuse (db_coll.c) */
#define GROVE_DB_CACHE_REC_MAX 1024    /* larger records are not cached */
#define GROVE_DB_CACHE_WAYS 4          /* entries per cache set (LRU within a set) */
#define GROVE_DB_CACHE_SLOTS (1u << 18) /* record cache entries: STRIPES x sets x WAYS */
#define GROVE_DB_CACHE_SETS (GROVE_DB_CACHE_SLOTS / GROVE_DB_CACHE_WAYS / GROVE_DB_STRIPES)
/* Decoded values the cache keeps beside their records, in estimated bytes
 * (GROVE_DB_VALUE_EXPANSION per record byte: value.h bounds decoded memory
 * by about 20 times the encoding).  Beyond it, records are cached alone.
 * (Measured with bench_storage over 50,000 keys in turn, about 40 MB of
 * values: callgrind's cache model counts 14.5 instead of 3.2 last-level
 * misses per write, yet wall and CPU time are no worse than caching
 * records alone, while decoding is saved: 10.2k instead of 12.1k
 * instructions per counter write, 12.2k instead of 14.8k per set add.) */
#define GROVE_DB_CACHE_VALUE_BYTES_MAX (64u * 1024 * 1024)
#define GROVE_DB_VALUE_EXPANSION 20
/* Write buffer sizes are rounded up to this, so buffers move between keys
 * of about the same size without reallocation. */
#define GROVE_DB_SCRATCH_ROUND_BYTES 64
/* A stripe's write buffers larger than this are freed after the write;
 * cache entries hold at most this (item prefix, record, rounding). */
#define GROVE_DB_SCRATCH_KEEP_BYTES \
	(4 + GROVE_KEY_MAX + GROVE_DB_CACHE_REC_MAX + GROVE_DB_SCRATCH_ROUND_BYTES)
#define GROVE_DB_META_NAME_MAX 255
#define GROVE_DB_KEY_MEMO_MAX 64 /* longest key the deferring thread's memo holds */
/* 1: whole-value collections (refused); 2: per-element collections with
 * the context's cloud in the head; 3: the cloud in 'g' records; 4: 3 plus
 * the TTL index ('x' records) and heads of value format 2; 5: 4 plus hash
 * field records that may hold counter entries (crdt/hcount.h); 6: 5 with
 * list elements' items in the segment of their dot's block
 * (GROVE_DB_LIST_SEG_BITS).  Formats 2 to 5 are read and marked 6 at open:
 * they hold no TTL to index (2, 3) and no counter entry (2..4), a format 2
 * head's cloud moves to 'g' records at its first write, and their digest
 * index is rebuilt (the clean record dropped before the mark: the 'd'
 * records of list elements move). */
#define GROVE_DB_FORMAT_VERSION 6
/* A list element's segment hashes its dot's counter >> this (storage
 * format 6): a node's 64 consecutive dots in one key share a segment. */
#define GROVE_DB_LIST_SEG_BITS 6
#define GROVE_DB_FORMAT_CLOUD_IN_HEAD 2
#define GROVE_DB_FORMAT_VERSION_OLDEST 2
/* How far ahead of the clock the persisted HLC ceiling is reserved, as a
 * fraction of the max offset (so a restart never issues timestamps peers
 * would reject). */
#define GROVE_DB_HLC_RESERVE_DIVISOR 4

/* System record names (under 'c'). */
#define GROVE_DB_SYS_FORMAT "format"   /* u32 LE format version */
#define GROVE_DB_SYS_HLC "hlc"         /* u64 LE HLC ceiling */
#define GROVE_DB_SYS_CLEAN "clean"     /* clean-shutdown digest tree record */

/* The record cache (db_cache.c): GROVE_DB_CACHE_SLOTS entries in sets of
 * GROVE_DB_CACHE_WAYS, each holding the last record committed under its key
 * (write-through) with the key's tree item and, within the value budget,
 * the decoded value, so a read-modify-write of a recently written key needs
 * no store read and no decoding.  A key's set belongs to its stripe, whose
 * lock guards it.  At most SLOTS * SCRATCH_KEEP bytes of records, plus
 * the value budget.  In BATCH mode an entry may hold a record queued for
 * the group commit but not yet durable (pending_seq beyond the commit's
 * durable_seq): the store still holds an older state, so such an entry is
 * pinned (never evicted) until its batch is synced, and dropped if the
 * group write fails. */
typedef struct grove_db_cached {
	/* NULL: empty entry.  Else the key's tree item input followed by the
	 * type byte: klen u32 LE, key, encoding, type; the 'u' record is
	 * buf + 4 + klen, rec_len bytes (encoding + type byte). */
	uint8_t *buf;
	size_t cap;
	uint32_t klen, rec_len;
	uint32_t hash;   /* the key hash: rejects other keys before memcmp */
	uint32_t used;   /* the stripe's clock at the last use (LRU) */
	uint32_t charge; /* estimated bytes of v counted in value_bytes */
	uint64_t pending_seq; /* commit sequence number of the record (BATCH), or 0 */
	/* meta_kept: the key's metadata record ('k'; pending ones included)
	 * is the one of meta_count live elements of kind meta_kind (0: none)
	 * and accumulator meta_acc (lo, hi), with no pending delete and no
	 * list bounds (absent when all are zero): set by the collection
	 * commit that left it so (db_coll.c), cleared by every install and by
	 * the purge's metadata writes; a write that finds it set takes the
	 * metadata from here instead of reading and decoding the record */
	bool meta_kept;
	uint8_t meta_kind;
	/* what db_cloud.c knows of the key's cloud records, beside its small
	 * table (which many keys overwrite): 0 nothing, 1 none, 2 some (or
	 * unsure); kept while the entry holds the key, set where the table
	 * is set */
	uint8_t cloud_known;
	/* item_known: item is the tree item hash of (key, record).  A
	 * deferred write leaves it unknown (hashed once when its group
	 * settles, for the last of the key's writes in the group: db_state.c);
	 * defer_last is then that write's record, not yet settled */
	bool item_known;
	uint64_t meta_count;
	uint64_t meta_acc[2];
	grove_value_t *v; /* the record decoded, or NULL */
	struct grove_db_deferred *defer_last;
	uint8_t item[GROVE_DIGEST_BYTES];
} grove_db_cached_t;

/* A record queued for the group commit (BATCH mode, or a deferred write
 * in any mode) and not yet settled (element and metadata records of
 * collection writes, which are not cached): the next writer of the key
 * under the stripe lock reads it from here, so writers of one key share
 * fsyncs.  A write that goes around the queue's records (modes none and
 * always, or a record the cache cannot pin) drops those of its keys once
 * written: the store then holds newer ones. */
typedef struct grove_db_pending {
	uint8_t *key;
	size_t klen;
	uint8_t *val; /* NULL: deleted */
	size_t vlen;
	uint64_t seq; /* the queued write's sequence number */
	/* an element record's tree item (grove_tree_item of its name and
	 * val), known when the write that queued it hashed it: the next
	 * writer of the element takes it instead of hashing val again */
	bool has_item;
	uint8_t item[GROVE_DIGEST_BYTES];
	/* has_scan: the element record's grove_elem_rec_scan outputs, known
	 * from the write that queued it (grove_db_item_delta_t.new_scan): the
	 * next SADD/HSET of the element takes them instead of scanning val */
	bool has_scan, tagged;
	uint64_t max_ts;
	uint64_t hash; /* SipHash of key under the db's pend_key (set by _prepare) */
	uint32_t cap;  /* bytes of key's block (key, then value) */
} grove_db_pending_t;

/* The last two record keys the stripe's pending index hashed, with their
 * hashes: a write probes the index for its element and metadata records
 * (reads), then installs them (the same keys), hashing each once. */
#define GROVE_DB_PEND_MEMO_KEY_MAX 64
typedef struct grove_db_pend_memo {
	uint64_t hash[2];
	uint32_t klen[2]; /* 0: empty */
	unsigned next;    /* the slot the next miss fills */
	uint8_t key[2][GROVE_DB_PEND_MEMO_KEY_MAX];
} grove_db_pend_memo_t;

/* A change to the digest tree of one item other than a key's head (an
 * element), applied once its write is durable. */
typedef struct grove_db_item_delta {
	uint32_t segment;
	bool had_old, has_new;
	uint8_t old_item[GROVE_DIGEST_BYTES], new_item[GROVE_DIGEST_BYTES];
	/* has_new: the record key whose value new_item hashes (the write's
	 * last put of that key), or NULL; borrowed until the write's commit
	 * returns (grove_db__pending_note_items), not read after */
	const uint8_t *rkey;
	size_t rlen;
	/* new_scan: what grove_elem_rec_scan reads of the new record (its
	 * greatest entry timestamp, whether an entry is tagged), known from
	 * the record written: kept with rkey's pending copy like new_item */
	bool new_scan, new_tagged;
	uint64_t new_max_ts;
} grove_db_item_delta_t;
#define GROVE_DB_ITEM_DELTAS_MAX 4

/* What a write changes in the tree and the live-key count: computed under
 * the key lock, applied once the write is durable (db_state.c). */
typedef struct grove_db_head_delta {
	uint32_t segment;
	bool had_old, old_live, new_live;
	bool old_ttl, new_ttl; /* the record has a deadline (expires= count) */
	uint8_t old_item[GROVE_DIGEST_BYTES], new_item[GROVE_DIGEST_BYTES];
} grove_db_head_delta_t;

/* A write queued by the deferring thread (grove_db_defer_begin) and not
 * yet settled: its batch and waiter live here until grove_db_defer_sync
 * has seen its group written, then its tree deltas are applied (if the
 * group was durable) and its pending records and cache pin released. */
typedef struct grove_db_deferred {
	struct grove_db_deferred *next;
	grove_commit_waiter_t w;
	grove_batch_t batch;
	bool has_head;
	/* has_head: head.new_item is hashed at settle time (from the head's
	 * put, the batch's first op) unless the key's next deferred head write
	 * (chain_next, linked under the stripe lock) settles in the same call
	 * and durable: it then takes this record's old item and flags, and
	 * the two deltas telescope into one.  old_known: head.old_item is set
	 * (else the previous record of the chain sets it when it settles). */
	bool old_known;
	struct grove_db_deferred *chain_next;
	uint32_t key_hash; /* grove_tree_key_hash of key */
	grove_db_head_delta_t head;
	size_t ndeltas;
	grove_db_item_delta_t deltas[GROVE_DB_ITEM_DELTAS_MAX];
	size_t klen, keycap; /* keycap: room in key (records are reused) */
	uint8_t key[]; /* klen bytes */
} grove_db_deferred_t;

/* Presence sets (db_presence.c, doc/storage_format.md "Presence sets"):
 * ways per stripe (keys tracked at once: 8 x 256), the bytes of all
 * tables together (8 per slot, at most 3/4 full: 16 MiB for a set of 10^6
 * members), the store reads of a key's elements that pay for a walk of
 * PRESENCE_READS_PER_WALK records (never above SCAN_MAX, walked under the
 * key lock; a key without live elements at once), and the hashes of
 * removed elements a set may keep beyond twice the live ones. */
#define GROVE_DB_PRESENCE_WAYS 8
#define GROVE_DB_PRESENCE_BYTES_MAX ((size_t)64 << 20)
#define GROVE_DB_PRESENCE_SCAN_MAX (1u << 18)
#define GROVE_DB_PRESENCE_READS_PER_WALK 16
#define GROVE_DB_PRESENCE_SLACK 1024
typedef struct grove_db_presence grove_db_presence_t;

#define GROVE_DB_PEND_SPARES 4 /* pending record blocks kept per stripe */
#define GROVE_DB_PEND_INPLACE_MAX 4 /* records of one write rewritten in place */

/* A prepared record rewritten in the block of the key's pending record
 * pend[at]: val (vlen bytes; NULL a delete) borrowed from the write's
 * batch until _install, and the item and scan _note_items gives it. */
typedef struct grove_db_pend_inplace {
	const uint8_t *val;
	size_t vlen;
	size_t at;
	bool has_item, has_scan, tagged;
	uint64_t max_ts;
	uint8_t item[GROVE_DIGEST_BYTES];
} grove_db_pend_inplace_t;
#define GROVE_DB_PEND_SPARE_BYTES 256 /* the largest block kept */
#define GROVE_DB_ZR_NOHDR_KEY_MAX 62 /* longer keys' writers look every time */

/* A key lock with the write buffers reused by the writes under it. */
typedef struct grove_db_stripe {
	pthread_mutex_t mu;
	uint32_t clock;       /* cache LRU clock of the stripe's sets */
	uint8_t *scratch;     /* the next record, laid out like grove_db_cached_t.buf */
	size_t scratch_cap;
	grove_batch_t batch;
	/* db_coll.c: an element's or metadata record's encoding (used and
	 * reset within one call), and the buffer of a write's extra records
	 * between writes (taken by the next one; empty while taken) */
	grove_buf_t enc;
	grove_batch_t extra_spare;
	/* pending records (db_cache.c): pend[0..npend), then nprep prepared
	 * copies; pidx their hash index (pidx_cap slots), pend_min and
	 * pend_max a lower and an upper bound of their sequence numbers,
	 * pend_key the db's SipHash key */
	grove_db_pending_t *pend;
	size_t npend, nprep, pend_cap;
	uint32_t *pidx;
	size_t pidx_cap;
	uint64_t pend_min, pend_max;
	const uint8_t *pend_key;
	grove_db_pend_memo_t *pmemo; /* db->pend_memo[stripe]: changed by reads too */
	/* records of the prepared write that go into the blocks of the
	 * key's pending records in place (grove_db__pending_prepare: a hot
	 * key's writes replace them at every write), applied by _install */
	grove_db_pend_inplace_t pin[GROVE_DB_PEND_INPLACE_MAX];
	unsigned npin;
	uint64_t pin_done; /* records rewritten so (tests) */
	/* blocks of replaced or settled pending records kept for the next
	 * copies (a hot key's records are replaced at every write), and
	 * their sizes */
	uint8_t *pspare[GROVE_DB_PEND_SPARES];
	uint32_t pspare_cap[GROVE_DB_PEND_SPARES];
	unsigned npspare;
	struct grove_db_lend *lend; /* db_list.c: one list's ends, or NULL */
	struct grove_db_lwin *lwin; /* db_list.c: one list's head window, or NULL */
	/* db_zrank.c: the bucket boundaries of the last sorted-set key with
	 * counts written under this lock (NULL: none), and that key's hash
	 * when they were not loaded yet. */
	struct grove_db_zrcache *zr;
	uint32_t zr_last;
	uint64_t zr_gen; /* bumped once a build or pass of a key of the stripe is written */
	/* db_zrank.c: the last sorted-set key (of at most
	 * GROVE_DB_ZR_NOHDR_KEY_MAX bytes; length 0: none) whose writer found
	 * no counts' version record in the store: its next writes do not look
	 * again (only a build, under this lock, writes one) */
	uint8_t zr_nohdr_len;
	uint8_t zr_nohdr[GROVE_DB_ZR_NOHDR_KEY_MAX];
	/* db_zrank.c: a sorted-set writer's buffers (57 KB, from the stripe's
	 * first sorted-set write on: 14.7 MB if all 256 stripes write one), or
	 * NULL */
	uint8_t *zr_mem;
	/* db_zrank.c: the count arrays of a sorted-set writer's view (the
	 * supers', the old and new supers' leaves', the supers' before the
	 * write), kept for the stripe's next write: 4 mallocs and frees per
	 * ZADD else; NULL until then */
	uint32_t *zr_view_v[4];
	size_t zr_view_cap[4];
	/* db_presence.c: GROVE_DB_PRESENCE_WAYS keys' presence sets (NULL
	 * until the stripe's first), and their LRU clock */
	struct grove_db_presence *pres;
	uint32_t pres_clock;
} grove_db_stripe_t;

/* What db_cloud.c knows of a key's cloud records ('g'), so that the writes
 * of a key without any read none: a few slots per stripe (guarded by the
 * stripe's lock), chosen by key hash, overwritten. */
#define GROVE_DB_CLOUD_KNOWN_WAYS 8
#define GROVE_DB_CLOUD_KNOWN_KEY_MAX 46 /* longer keys are not remembered */
typedef struct grove_db_cloud_known {
	uint8_t state; /* 0: free slot, 1: no records, 2: records (or unsure) */
	uint8_t klen;
	uint8_t key[GROVE_DB_CLOUD_KNOWN_KEY_MAX];
} grove_db_cloud_known_t;

struct grove_db {
	grove_store_t *store;
	char node_id[GROVE_NODE_ID_MAX + 1];
	grove_durability_t durability;
	grove_commit_t commit;
	grove_tree_t tree;
	grove_db_stripe_t stripes[GROVE_DB_STRIPES];
	grove_db_cloud_known_t cloud_known[GROVE_DB_STRIPES][GROVE_DB_CLOUD_KNOWN_WAYS];
	grove_db_cached_t *cache; /* GROVE_DB_CACHE_SLOTS entries */
	uint8_t pend_key[16];      /* SipHash key of the stripes' pending indexes */
	grove_db_pend_memo_t *pend_memo; /* GROVE_DB_STRIPES of them (stripe.pmemo) */
	atomic_size_t value_bytes; /* charges of the cached decoded values */
	bool stripes_inited;       /* db_cache.c */
	bool locks_inited;         /* hlc_mu, hook_mu */

	pthread_mutex_t hlc_mu; /* guards hlc and hlc_ceiling */
	grove_hlc_t hlc;
	uint64_t hlc_ceiling;   /* persisted: no issued timestamp reaches it */
	uint64_t hlc_reserve_ms;

	pthread_mutex_t hook_mu; /* guards hook_ctx and changes of hook */
	_Atomic(grove_db_change_fn) hook; /* read without the lock: NULL means no call */
	void *hook_ctx;

	/* Transactions (db_state.c): held for writing by the open one, for
	 * reading by each step of a background purge, which thus never
	 * writes while one is open. */
	pthread_rwlock_t txn_gate;
	/* Deferred writes (db_state.c): the one thread deferring, and the
	 * queued writes to settle, in sequence order. */
	_Atomic(bool) defer_on;
	pthread_t defer_thread;
	uint64_t defer_last_seq; /* the deferring thread's last queued write */
	/* the current deferral's last queued record (NULL: none yet): the
	 * next write of its key may fold into it (db_state.c defer_fold) */
	struct grove_db_deferred *defer_run_last;
	uint64_t defer_folds; /* writes folded so (the deferring thread's; tests) */
	/* the deferring thread's last written key and its hash
	 * (grove_db__key_prepare_writer): a hot key's pipelined writes hash
	 * it once */
	uint32_t defer_memo_klen, defer_memo_hash;
	uint8_t defer_memo_key[GROVE_DB_KEY_MEMO_MAX];
	pthread_mutex_t defer_mu; /* guards the list and defer_spare */
	grove_db_deferred_t *defer_head, *defer_tail;
	/* settled records kept for reuse (their batch buffers too): the
	 * deferring thread takes from defer_free without a lock and refills
	 * it with all of defer_spare at once; a sync returns its records to
	 * defer_spare with one lock */
	grove_db_deferred_t *defer_free, *defer_spare;
	size_t defer_nspare;

	atomic_uint_fast64_t live_keys;
	atomic_uint_fast64_t writes;
	atomic_uint_fast64_t merges_changed;
	atomic_uint_fast64_t merges_unchanged;
	atomic_uint_fast64_t merges_rejected;
	atomic_uint_fast64_t index_rebuilds; /* 0 or 1 per open: for tests, INFO */
	atomic_uint_fast64_t items_rejected; /* item states refused (db_coll.c) */
	/* Purges of deleted elements (db_coll.c): a queue of keys, worked by a
	 * background thread when purge_bg, else in the calling thread. */
	bool purge_bg;
	bool purge_inited, purge_thread_on, purge_stop, purge_busy;
	pthread_mutex_t purge_mu;
	pthread_cond_t purge_cv;
	pthread_t purge_thread;
	struct grove_db_purge_key {
		uint8_t *key;
		size_t klen;
	} *purgeq;
	size_t npurge, purge_cap;
	atomic_uint_fast64_t purged;         /* element records purged (db_coll.c) */
	atomic_uint_fast64_t list_window_hits; /* list reads answered by a head window (db_list.c) */
	/* Reply hints (db_coll.c): for an element a peer holds with dots this
	 * replica's context covers (it missed their removal), those dots; the
	 * next cut state of the element carries their coverage.  Lossy (a
	 * slot per name hash, overwritten), allocated on first use. */
	pthread_mutex_t hint_mu;
	struct grove_db_hint *hints;
	/* Element names (db_coll.c ename_t: three maximal record keys, about
	 * 24 KB) kept for reuse: a malloc and free of that size per element
	 * operation made glibc give its heap top back and fault it in again.
	 * Taken and given back by atomic exchange, no lock. */
	_Atomic(struct grove_db_ename *) ename_spare[GROVE_DB_ENAME_SPARES];
	/* Expiry (db_expire.c): the clock deadlines are compared with, keys
	 * with a deadline ('x' records), keys removed by their expiry. */
	grove_clock_fn clock;
	void *clock_ctx;
	atomic_uint_fast64_t expires;
	atomic_uint_fast64_t expired_keys;
	/* The counted index of sorted sets (db_zrank.c): ranks answered from
	 * the counts, builds, passes, counts dropped as out of step. */
	atomic_uint_fast64_t zrank_counted;
	atomic_uint_fast64_t zrank_builds;
	atomic_uint_fast64_t zrank_passes;
	atomic_uint_fast64_t zrank_drops;
	atomic_size_t zrcache_bytes; /* the stripes' boundary caches */
	/* their leaves' entries: ZRANKs answered from them, leaves a reader
	 * installed, leaves forgotten (bound, or not what the store holds) */
	atomic_uint_fast64_t zleaf_hits, zleaf_loads, zleaf_drops;
	atomic_uint_fast64_t zrcache_reader_loads; /* boundaries a ZRANK loaded (db_zrank.c) */
	atomic_uint_fast64_t zhint_hits; /* ZRANKs answered with the hint */
	/* Presence sets (db_presence.c): the SipHash key of element names,
	 * the bytes of every stripe's tables (at most
	 * GROVE_DB_PRESENCE_BYTES_MAX), and what they did. */
	uint8_t pres_key[16];
	bool pres_off; /* a test seam: no set is kept or used (set right after open) */
	/* a test seam: SADD and HSET decode the element's record (db_coll.c's
	 * general path) instead of reading it in place (set right after open) */
	bool add_in_place_off;
	atomic_size_t pres_bytes;
	atomic_uint_fast64_t pres_skipped; /* store reads skipped */
	atomic_uint_fast64_t pres_scans;   /* keys whose element records were walked to track them */
	atomic_uint_fast64_t pres_drops;   /* sets given up (budget, garbage, eviction) */
};

/* A user key prepared for one operation: its record keys and placement. */
typedef struct grove_db_key {
	const uint8_t *key;
	size_t klen;
	uint32_t segment;
	uint32_t hash; /* grove_tree_key_hash */
	uint32_t stripe;
	uint32_t cache_set; /* index of the first entry of the key's cache set */
	uint8_t urec[1 + GROVE_KEY_MAX];     /* 'u' key */
	uint8_t drec[1 + 2 + 1 + GROVE_KEY_MAX]; /* 'd' seg 0x00 key (the head's item name) */
} grove_db_key_t;


/* A key's state during one read-modify-write (db_state.c).  Caller holds
 * the key's stripe lock from load to free (commit may release it while it
 * waits for durability, and takes it again). */
typedef struct grove_db_state {
	grove_db_cached_t *entry; /* the key's cache entry, NULL if not cached */
	const uint8_t *rec; /* 'u' record: encoding + type byte; NULL if never written */
	size_t rec_len;
	uint8_t *owned_rec; /* rec when read from the store (else rec is the entry's) */
	bool have_item;
	uint8_t item[GROVE_DIGEST_BYTES]; /* tree item of rec, when have_item */
	grove_value_t *v;
	bool v_cached; /* v is entry->v: changed in place */
	/* Set by collection writes (db_coll.c): the visible type (the head
	 * alone cannot tell it), records to write in the same batch (elements,
	 * metadata) with their tree changes; such writes are durable before
	 * the key lock is released (their records are not cached). */
	bool has_type;
	grove_type_t type;
	grove_batch_t *extra;
	const grove_db_item_delta_t *deltas;
	size_t ndeltas;
	/* set by a BATCH commit that released the key lock while waiting for
	 * its group: later writers may have run meanwhile, so the caller
	 * leaves the entry's meta_kept alone (cleared) */
	bool unlocked;
} grove_db_state_t;

int grove_db__state_load(grove_db_t *db, const grove_db_key_t *k,
			 grove_db_state_t *st) GROVE_MUST_CHECK;
/* Writes st->v when its encoding differs from the stored one (*wrote).
 * On failure the stored state is unchanged and the key's cache entry is
 * dropped if st->v was its value (changed in memory only). */
int grove_db__state_commit(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
			   bool *wrote) GROVE_MUST_CHECK;
void grove_db__state_free(grove_db_state_t *st);
/* Lists (db_list.c): frees what a stripe remembers of lists (ends, head
 * window). */
void grove_db__list_stripe_free(grove_db_stripe_t *s);
/* Deferred writes: settles everything up to the db's last queued write
 * (grove_db_close); safe when nothing was deferred. */
void grove_db__defer_close(grove_db_t *db);

/* The record cache and the stripes (db_cache.c). */
int grove_db__cache_init(grove_db_t *db) GROVE_MUST_CHECK; /* also the stripe locks */
void grove_db__cache_close(grove_db_t *db); /* safe when half-initialized */
grove_db_cached_t *grove_db__cache_find(grove_db_t *db, const grove_db_key_t *k);
/* Grows the stripe's scratch buffer to at least need bytes. */
int grove_db__scratch_reserve(grove_db_stripe_t *s, size_t need) GROVE_MUST_CHECK;
/* After a committed write whose record (rec_len bytes) is in the stripe's
 * scratch buffer: makes it the key's entry (entry: the key's current one,
 * or NULL) with its item (NULL: not known yet, see item_known), keeping *v (set to NULL when taken) as the
 * decoded value when the budget allows; returns the entry.  Unless pin is
 * set, records over REC_MAX drop the key's entry instead (NULL), as does a
 * set whose entries are all pinned.  Shrinks oversized stripe buffers. */
grove_db_cached_t *grove_db__cache_install(grove_db_t *db, const grove_db_key_t *k,
					   grove_db_cached_t *entry, size_t rec_len,
					   const uint8_t item[GROVE_DIGEST_BYTES], grove_value_t **v,
					   bool pin);
/* BATCH mode.  can_pin: whether install with pin set will succeed for k
 * (entry: k's current one, or NULL): k has an entry, or its set one that
 * is not pinned.  Installed with pin, any record is kept whatever its size
 * (the caller then sets pending_seq), so pinned entries number at most the
 * writers waiting for their group.  settle, once the write with sequence
 * number seq is durable or failed: drops k's entry if it failed (the entry
 * holds this write or one built on it), or if it is this write's and
 * bigger than an unpinned entry may be. */
bool grove_db__cache_can_pin(grove_db_t *db, const grove_db_key_t *k,
			     const grove_db_cached_t *entry);
void grove_db__cache_settle(grove_db_t *db, const grove_db_key_t *k, uint64_t seq, bool durable);
void grove_db__cache_drop(grove_db_t *db, grove_db_cached_t *e);
/* Pending records of a stripe (queued for the group commit, not yet
 * settled; caller holds the stripe lock): prepare copies every op of b
 * but the sorted-set score index's and the segment index's ('z', 'd': no
 * writer reads one back, and readers read the store) (all or nothing;
 * nothing visible yet), then
 * exactly one of install (the
 * copies become the keys' records under seq, replacing older ones; cannot
 * fail) or discard.  add: both.  find: key's record (val NULL: deleted) or
 * NULL, valid until the stripe's records change; get: a copy (1: found,
 * *val NULL when deleted; 0: not pending).  forget drops the records of
 * every key b writes (b was just written around them, after them).
 * settle drops every record of sequence number <= seq (0: all).  A
 * dropped or replaced record's block goes to the stripe's spares (up to
 * GROVE_DB_PEND_SPARES), which the next copies take.  close: settle all,
 * then free the spares and the record and index arrays. */
int grove_db__pending_prepare(grove_db_stripe_t *s, const grove_batch_t *b) GROVE_MUST_CHECK;
/* After _prepare: the prepared copies of the element records that
 * deltas[0..n) hashed take those items (grove_db_pending_t.has_item). */
void grove_db__pending_note_items(grove_db_stripe_t *s, const grove_db_item_delta_t *deltas,
				  size_t n);
/* Test support: GROVE_ECORRUPT if a pending record's item differs from
 * the hash of its name and value, else 0.  Takes every stripe lock. */
int grove_db__pending_check_items(grove_db_t *db) GROVE_MUST_CHECK;
void grove_db__pending_install(grove_db_stripe_t *s, uint64_t seq);
void grove_db__pending_discard(grove_db_stripe_t *s);
int grove_db__pending_add(grove_db_stripe_t *s, const grove_batch_t *b, uint64_t seq) GROVE_MUST_CHECK;
const grove_db_pending_t *grove_db__pending_find(const grove_db_stripe_t *s, const uint8_t *key,
						 size_t klen);
int grove_db__pending_get(grove_db_stripe_t *s, const uint8_t *key, size_t klen, uint8_t **val,
			  size_t *vlen) GROVE_MUST_CHECK;
bool grove_db__pending_has(const grove_db_stripe_t *s, const uint8_t *key, size_t klen);
void grove_db__pending_forget(grove_db_stripe_t *s, const grove_batch_t *b);
void grove_db__pending_settle(grove_db_stripe_t *s, uint64_t seq);
void grove_db__pending_close(grove_db_stripe_t *s);
/* Drops every cache entry (a failed transaction: they may hold its
 * writes); takes every stripe lock. */
void grove_db__cache_drop_all(grove_db_t *db);
/* A 'u' record is the canonical encoding followed by one byte, the visible
 * type (so scans and counts need no decoding).  Callers check rec_len >= 1.
 * The head's tree item and digest cover both. */
static inline grove_type_t grove_db__rec_type(const uint8_t *rec, size_t rec_len)
{
	return (grove_type_t)rec[rec_len - 1];
}
/* The deadline (unix ms) of a 'u' record, 0 when none: a head of value
 * format 2 (array of 8 items, 0x98) ends with its expiry component, whose
 * last 8 bytes are the deadline (doc/value_format.md, "Expiry"). */
static inline uint64_t grove_db__rec_deadline(const uint8_t *rec, size_t rec_len)
{
	if (rec_len < 1 + 10 || rec[0] != 0x98)
		return 0;
	uint64_t at = 0;
	for (size_t i = rec_len - 9; i < rec_len - 1; i++)
		at = (at << 8) | rec[i];
	return at;
}
/* Expiry (db_expire.c).  now: the db's clock.  A key with deadline at is
 * expired when at != 0 and now > at (Redis's rule). */
uint64_t grove_db__now_ms(grove_db_t *db);
static inline bool grove_db__expired(uint64_t at, uint64_t now)
{
	return at != 0 && now > at;
}
/* grove_db__expired against the db's clock, read only when there is a
 * deadline: a key without TTL costs no clock read per request. */
static inline bool grove_db__expired_now(grove_db_t *db, uint64_t at)
{
	return at != 0 && grove_db__now_ms(db) > at;
}
/* The TTL index record of (deadline, key) into out (1 + 8 + klen bytes). */
size_t grove_db__xkey(uint64_t at, const uint8_t *key, size_t klen, uint8_t *out);
/* Removes key if its deadline has passed (db_coll.c): *expired when a
 * visible key was removed. */
int grove_db__expire_key(grove_db_t *db, const void *key, size_t klen,
			 bool *expired) GROVE_MUST_CHECK;
/* At open: counts the 'x' records (expires=). */
int grove_db__expire_open(grove_db_t *db) GROVE_MUST_CHECK;
/* The digest of a stored 'u' record (encoding and type byte), and its tree item. */
void grove_db__rec_digest(const uint8_t *rec, size_t rec_len, uint8_t out[GROVE_DIGEST_BYTES]);
void grove_db__rec_item(const grove_db_key_t *k, const uint8_t *rec, size_t rec_len,
			uint8_t out[GROVE_DIGEST_BYTES]);

/* The item name of element record key (klen bytes: 'e', key length,
 * key, kind, element; klen >= 4 + key length) into name (klen - 1 bytes:
 * kind, key length, key, element); returns its length. */
size_t grove_db__elem_rec_name(const uint8_t *key, size_t klen, uint8_t *name);
int grove_db__key_prepare(grove_db_key_t *k, const void *key, size_t klen) GROVE_MUST_CHECK;
/* grove_db__key_prepare for a write: on the deferring thread, a key of at
 * most GROVE_DB_KEY_MEMO_MAX bytes equal to its last one takes the kept
 * hash instead of hashing again. */
int grove_db__key_prepare_writer(grove_db_t *db, grove_db_key_t *k, const void *key,
				 size_t klen) GROVE_MUST_CHECK;
/* Whether the calling thread defers its writes (grove_db_defer_begin). */
bool grove_db__defer_active(grove_db_t *db);
/* The same with the key's grove_tree_key_hash known (k->hash of an
 * earlier prepare): no hashing. */
void grove_db__key_prepare_hashed(grove_db_key_t *k, const void *key, size_t klen, uint32_t hash);
/* The stripe (lock) of the key of grove_tree_key_hash hash. */
uint32_t grove_db__key_stripe(uint32_t hash);
size_t grove_db__drec_len(const grove_db_key_t *k);

/* Builds a system/meta record key ("s"/"m" + name) into out (caller-sized
 * 1 + GROVE_DB_META_NAME_MAX); returns its length or a negative code. */
int grove_db__name_key(char pfx, const char *name, uint8_t *out) GROVE_MUST_CHECK;

/* HLC under hlc_mu: a local timestamp after advancing past state_max_ts;
 * observing remote state (GROVE_ECLOCK_OFFSET when too far ahead).  Both
 * persist a new ceiling first when the clock reaches the old one. */
int grove_db__hlc_local(grove_db_t *db, uint64_t state_max_ts, uint64_t *ts) GROVE_MUST_CHECK;
int grove_db__hlc_observe(grove_db_t *db, uint64_t remote_max_ts) GROVE_MUST_CHECK;

/* Digest index (db_index.c). */
int grove_db__index_open(grove_db_t *db) GROVE_MUST_CHECK;  /* load or rebuild */
void grove_db__index_close(grove_db_t *db); /* writes the clean-shutdown record */
int grove_db__index_rebuild(grove_db_t *db) GROVE_MUST_CHECK;

/* Collections and the write flow of every typed write (db_coll.c). */
/* The change hook for a write's element item and its head item (either
 * NULL: none), the hook taken once for both. */
void grove_db__call_hooks(grove_db_t *db, const void *elem, size_t elen, const void *head,
			  size_t hlen);
/* A key's value with its collection elements (grove_db_get,
 * grove_db_get_encoded): the head plus members (with their dots) and
 * fields (each as its winning entry); O(elements). */
int grove_db__materialize(grove_db_t *db, const grove_db_key_t *k, grove_value_t **out) GROVE_MUST_CHECK;
/* Removes the element records a pending key delete covers, in batches
 * under the key lock (released between batches). */
int grove_db__coll_purge(grove_db_t *db, const void *key, size_t klen) GROVE_MUST_CHECK;
/* After a write that left a pending delete: purges now (in the caller,
 * returning its result) or queues the key for the background thread. */
int grove_db__purge_request(grove_db_t *db, const void *key, size_t klen) GROVE_MUST_CHECK;
/* At open: queues (or runs) the purges an earlier run left ('p' records),
 * and starts the thread; at close: stops it (a purge in progress stops
 * between batches and resumes at the next open). */
int grove_db__purge_open(grove_db_t *db, bool background) GROVE_MUST_CHECK;
void grove_db__purge_close(grove_db_t *db);
/* Waits until no purge is queued or running (tests). */
void grove_db__purge_drain(grove_db_t *db);
/* An element name buffer (db_coll.c ename_t, uninitialized): a spare one
 * when there is one, else malloc'd (NULL: out of memory).  Give it back
 * with grove_db__ename_give (NULL allowed; kept if a slot is free, else
 * freed); grove_db__ename_spares_free at close.  Thread-safe. */
struct grove_db_ename *grove_db__ename_take(grove_db_t *db);
void grove_db__ename_give(grove_db_t *db, struct grove_db_ename *en);
void grove_db__ename_spares_free(grove_db_t *db);
/* Decodes a collection metadata record and frees it (the fuzz target's
 * entry to the decoder): 0 or GROVE_ECORRUPT / GROVE_ENOMEM. */
int grove_db__meta_check(const uint8_t *p, size_t len);
/* Sorted sets (db_coll.c writes and reads the member records, db_zset.c
 * the score index and the commands' reads).  A write of one member: fn
 * sees the member's live entries (empty when the key reads as empty) and
 * sets *op; grove_db__zset_write then applies it under the key lock in one
 * batch with the index change.  *changed: the member was written (SET,
 * INCR) or removed (REM); *score: its score after a SET or INCR. */
typedef struct grove_elem grove_elem_t;
typedef struct grove_value__set grove_ctx_t;
#define GROVE_DB_ZOP_NONE 0
#define GROVE_DB_ZOP_SET 1
#define GROVE_DB_ZOP_INCR 2
#define GROVE_DB_ZOP_REM 3
typedef struct grove_db__zop {
	int action;
	double value; /* SET: the score; INCR: the delta */
} grove_db__zop_t;
typedef int (*grove_db__zop_fn)(void *ctx, const grove_elem_t *cur, grove_db__zop_t *op);
int grove_db__zset_write(grove_db_t *db, const void *key, size_t klen, const void *member,
			 size_t mlen, grove_db__zop_fn fn, void *ctx, bool *changed,
			 double *score) GROVE_MUST_CHECK;
/* One member's live entries (1: the key reads as empty). */
int grove_db__zset_member(grove_db_t *db, const void *key, size_t klen, const void *member,
			  size_t mlen, grove_elem_t *out) GROVE_MUST_CHECK;
/* A snapshot of a sorted-set key for reads: its live member count and
 * pending-delete context (the caller frees it); 1: reads as empty.  The
 * head and metadata come from the store's point cache when no write of
 * cached keys ran around the snapshot's creation: *seq is then that write
 * sequence (even; grove_store_read_begin), else odd. */
int grove_db__zset_read_begin(grove_db_t *db, const grove_db_key_t *k, grove_snapshot_t **snap,
			      uint64_t *count, grove_ctx_t *pctx, uint64_t *seq) GROVE_MUST_CHECK;
/* A member's entries in snap, filtered by pctx (may be NULL); empty when
 * absent.  Read through the point cache when seq (read_begin's) is even
 * and no write began since, else from snap. */
int grove_db__zset_member_in(grove_db_t *db, const grove_snapshot_t *snap, uint64_t seq,
			     const grove_db_key_t *k, const grove_ctx_t *pctx, const void *member,
			     size_t mlen, grove_elem_t *out) GROVE_MUST_CHECK;
/* Index record of (score, member) of key k into out (GROVE_DB_ZINDEX_KEY_MAX
 * bytes); returns its length.  _move adds to b the delete of the old one
 * and the put of the new one (either may be absent; nothing when equal). */
#define GROVE_DB_ZINDEX_KEY_MAX (3 + GROVE_KEY_MAX + 8 + GROVE_ELEM_MAX)
size_t grove_db__zindex_key(const grove_db_key_t *k, double score, const void *member, size_t mlen,
			    uint8_t *out);
/* zcount: the key's member count when the counted index is kept (no
 * pending delete), -1 when not (a pending delete, its purge). */
int grove_db__zindex_move(grove_db_t *db, grove_batch_t *b, const grove_db_key_t *k,
			  int64_t zcount, const void *member, size_t mlen, bool had, double old,
			  bool has, double now) GROVE_MUST_CHECK;

/* The counted index of sorted sets (db_zrank.c, doc/storage_format.md
 * "The counted index").  _move: the counts' changes of a move of member
 * from (had, old) to (has, now), added to b under the key lock (with the
 * arguments of grove_db__zindex_move); it may first write a build or a
 * pass of its own when nothing of the key is pending.  _invalidate adds
 * to b the delete of k's version record (the counts are no longer used;
 * caller holds the key lock and writes b at once, never deferred).
 * _counted: the rank of (score, member) in snap from the counts (count:
 * the key's members): 0, 1 when they cannot answer, < 0.  _check (tests):
 * the counts recomputed from the 'z' records (*present: k has counts). */
typedef struct grove_db__zrank_params {
	uint64_t leaf_max, leaf_fill, leaf_min;
	uint64_t super_max, super_fill, super_min; /* super_fill: a multiple of leaf_fill */
	uint64_t build_min;
	uint32_t label_gap; /* between leaf labels after a build or relabel (>= 1) */
	uint64_t group;     /* supers per group record of their counts (1..255) */
} grove_db__zrank_params_t;
extern grove_db__zrank_params_t grove_db__zrank_params; /* tests lower them */
int grove_db__zrank_move(grove_db_t *db, grove_batch_t *b, const grove_db_key_t *k, int64_t zcount,
			 const void *member, size_t mlen, bool had, double old, bool has,
			 double now) GROVE_MUST_CHECK;
int grove_db__zrank_invalidate(grove_db_t *db, grove_batch_t *b,
			       const grove_db_key_t *k) GROVE_MUST_CHECK;
/* Adds to b the delete of every 'r' record of k (the end of a key
 * delete's purge: no count is kept while it is pending). */
int grove_db__zrank_clear(grove_db_t *db, grove_batch_t *b, const grove_db_key_t *k) GROVE_MUST_CHECK;
/* _gen: k's stripe's boundary generation, read before a reader takes
 * the snapshot it passes to _counted (gen), which then locates through
 * the stripe's boundary cache when nothing changed it since, and, when
 * *quiet (the stripe had nothing queued and no transaction was open),
 * reads the member's leaf from the cache's entries instead of walking it. */
uint64_t grove_db__zrank_gen(grove_db_t *db, const grove_db_key_t *k, bool *quiet);
/* ZRANK of member from the stripe's cache alone (no store read), when
 * it holds k's counts and the member's score in its hint, and the
 * suffix is one of its leaf's known entries (gen and quiet as for
 * grove_db__zrank_counted): 0 with *rank (from the bottom) and *score,
 * 1 when it cannot tell (the caller reads the member's record). */
int grove_db__zrank_hinted(grove_db_t *db, const grove_db_key_t *k, uint64_t gen, bool quiet,
			   uint64_t count, const void *member, size_t mlen, uint64_t *rank,
			   double *score);
int grove_db__zrank_counted(grove_db_t *db, const grove_snapshot_t *snap, const grove_db_key_t *k,
			    uint64_t gen, bool quiet, uint64_t count, double score,
			    const void *member, size_t mlen, uint64_t *rank) GROVE_MUST_CHECK;
/* Under k's lock, once a write's batch b is handed to the store (written,
 * queued or deferred; ok) or failed after that (!ok, b may be NULL): the
 * cached leaf entries of k follow b's 'z' records (or the cache goes). */
void grove_db__zrank_note(grove_db_t *db, const grove_db_key_t *k, const grove_batch_t *b, bool ok);
/* A range read's first entries from the cached leaves (rules of _counted:
 * gen and quiet read before snap): up to max suffixes (score(8) member)
 * from the first >= from (rev: backwards from the last < from) appended
 * to out, their lengths in lens[0..*n); fewer when a leaf's entries are
 * unknown (the caller walks the store on from the last one), *end when
 * the key has no more.  0, < 0 (out's allocation). */
int grove_db__zrank_entries(grove_db_t *db, const grove_db_key_t *k, uint64_t gen, bool quiet,
			    bool rev, const uint8_t *from, size_t flen, uint32_t max,
			    grove_buf_t *out, size_t *lens, uint32_t *n, bool *end) GROVE_MUST_CHECK;
int grove_db__zrank_check(grove_db_t *db, const void *key, size_t klen,
			  bool *present) GROVE_MUST_CHECK;
/* Frees a stripe's boundary cache (grove_db__cache_close). */
void grove_db__zrank_cache_free(grove_db_t *db, grove_db_stripe_t *s);
/* Presence sets (db_presence.c): the hash key, drawn at open; a stripe's
 * sets freed (at close). */
void grove_db__presence_init(grove_db_t *db);
void grove_db__presence_stripe_free(grove_db_t *db, grove_db_stripe_t *s);

/* The largest item state sent whole (GROVE_ITEM_STATE_MAX; tests lower it
 * to reach the cut states with small contexts). */
extern size_t grove_db__item_state_max;

#endif
