/*
 * antientropy.c - the anti-entropy core of one node (API in antientropy.h,
 * messages in doc/antientropy.md): digest rounds, the session table, the
 * output queue, and push of fresh writes.
 *
 * Datagrams and stream commands wait in a bounded queue (GROVE_AE_OUT_MAX,
 * overflow counted); stream frames are not queued at all: grove_ae_poll asks
 * the sessions for their next frame in round-robin, so a session produces
 * work only as fast as the driver drains it.  The push queue is the only
 * state shared with other threads (the db change hook) and has its own lock.
 */
#include "gossip/ae/antientropy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "gossip/ae/pace.h"
#include "gossip/ae/session.h"

#define GROVE__PUSH_SENDS_MAX 384 /* PUSH datagrams sent per tick (over all peers) */
#define GROVE__SPACING_ROUNDS 10 /* longest wait, in digest intervals */
#define GROVE__HOLD_PUSHES 3     /* a difference is confirmed after this many push intervals */

typedef struct ae_out {
	grove_out_kind_t kind;
	uint32_t stream_id;
	char addr[GROVE_AE_ADDR_MAX + 1];
	size_t len;
	uint8_t bytes[]; /* datagram */
} ae_out_t;

struct grove_ae {
	grove_ae_config_t cfg;
	grove_db_t *db;
	grove_rng_t *rng;
	grove_ae_stats_t stats;
	grove_ae_ctx_t ctx;
	bool started;
	uint64_t next_round_ms;
	uint64_t next_push_ms;
	grove_ae_sess_t *sess[GROVE_AE_SESSIONS_MAX];
	size_t nsess;
	size_t rr; /* round-robin position among sessions */
	uint32_t next_id;
	ae_out_t *outq[GROVE_AE_OUT_MAX];
	size_t out_head, out_count;
	ae_out_t *held;     /* handed out by the last poll */
	grove_ae_sess_t *dead;  /* closed by the last poll */
	grove_ae_pace_t pace;   /* spacing and confirmation per peer (pace.h) */
	uint64_t hold_ms;       /* a root difference younger than this opens no session */
	bool hooked;
	pthread_mutex_t push_mu; /* guards pushq, againq, push_set and push_drops */
	grove_ae_keyq_t pushq;   /* keys not pushed yet, oldest first */
	grove_ae_keyq_t againq;  /* keys with push rounds left, sent after pushq's */
	uint64_t *push_set;      /* hashes of the queued keys (0 = free slot) */
	bool push_set_used;      /* push_set holds a key (cleared with it) */
	size_t push_set_slots;   /* power of two >= 2 x push_queue_max */
	uint64_t push_drops;
	atomic_bool push_alone; /* grove_ae_set_push_peers(false) */
	grove_buf_t scratch;
};

void grove_ae_config_init(grove_ae_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->interval_ms = 500;
	cfg->fanout = 3;
	cfg->max_sessions = 2;
	cfg->session_bytes_max = 256ULL * 1024 * 1024;
	cfg->session_timeout_ms = 60000;
	cfg->idle_timeout_ms = 10000;
	cfg->frame_bytes_max = GROVE_AE_FRAME_BYTES_DEFAULT;
	cfg->frame_target_bytes = 32 * 1024;
	cfg->window_bytes = 4u * 1024 * 1024;
	cfg->datagram_bytes_max = GROVE_DATAGRAM_MAX;
	cfg->push = false;
	cfg->push_hook = true;
	cfg->push_fanout = 3;
	cfg->push_transmits = 3;
	cfg->push_interval_ms = 100;
	cfg->push_queue_max = 16384;
}

static bool config_ok(const grove_ae_config_t *c)
{
	size_t budget = c->datagram_bytes_max - c->security.overhead_bytes;
	return c->peers != NULL && c->interval_ms > 0 && c->fanout >= 1 &&
	       c->fanout <= GROVE_AE_FANOUT_MAX && c->max_sessions >= 1 &&
	       c->max_sessions <= GROVE_AE_SESSIONS_MAX && c->frame_bytes_max >= 4096 &&
	       c->frame_bytes_max <= GROVE_AE_FRAME_BYTES_LIMIT && c->frame_target_bytes >= 1024 &&
	       c->frame_target_bytes <= c->frame_bytes_max && c->window_bytes >= GROVE_AE_WINDOW_BYTES_MIN &&
	       c->window_bytes <= GROVE_AE_WINDOW_BYTES_MAX &&
	       c->datagram_bytes_max <= GROVE_DATAGRAM_MAX &&
	       c->datagram_bytes_max > c->security.overhead_bytes && budget >= 320 &&
	       c->push_fanout <= GROVE_AE_FANOUT_MAX && c->push_queue_max <= GROVE_AE_PUSH_QUEUE_MAX &&
	       (!c->push || (c->push_interval_ms > 0 && c->push_fanout >= 1 &&
			     c->push_transmits >= 1 && c->push_transmits <= GROVE_AE_PUSH_TRANSMITS_MAX)) &&
	       (c->security.seal == NULL) == (c->security.open == NULL);
}

static void antientropy_hook(void *ctx, const void *key, size_t klen)
{
	grove_ae_note_write(ctx, key, klen);
}

int grove_ae_create(const grove_ae_config_t *cfg, grove_db_t *db, grove_rng_t *rng,
		    grove_ae_t **out)
{
	if (cfg == NULL || db == NULL || rng == NULL || out == NULL)
		return GROVE_EINVAL;
	if (!config_ok(cfg))
		return GROVE_ECONFIG;
	grove_ae_t *ae = grove_calloc(1, sizeof(*ae));
	if (ae == NULL)
		return GROVE_ENOMEM;
	if (pthread_mutex_init(&ae->push_mu, NULL) != 0) {
		grove_free(ae);
		return GROVE_ENOMEM;
	}
	ae->cfg = *cfg;
	ae->db = db;
	ae->rng = rng;
	ae->ctx = (grove_ae_ctx_t){ db, &ae->cfg, &ae->stats };
	ae->next_id = 1;
	/* a pushed write reaches the peers within a push interval (its round
	 * trip well within two more): a younger difference is push's to repair */
	ae->hold_ms = cfg->push ? (uint64_t)GROVE__HOLD_PUSHES * cfg->push_interval_ms : 0;
	grove_ae_keyq_init(&ae->pushq);
	grove_ae_keyq_init(&ae->againq);
	grove_buf_init(&ae->scratch, 0);
	if (cfg->push) {
		ae->push_set_slots = 64;
		while (ae->push_set_slots < 2 * (size_t)cfg->push_queue_max)
			ae->push_set_slots *= 2;
		ae->push_set = grove_calloc(ae->push_set_slots, sizeof(uint64_t));
		if (ae->push_set == NULL) {
			pthread_mutex_destroy(&ae->push_mu);
			grove_free(ae);
			return GROVE_ENOMEM;
		}
	}
	if (cfg->push && cfg->push_hook) {
		grove_db_set_change_hook(db, antientropy_hook, ae);
		ae->hooked = true;
	}
	*out = ae;
	return 0;
}

void grove_ae_destroy(grove_ae_t *ae)
{
	if (ae == NULL)
		return;
	if (ae->hooked)
		grove_db_set_change_hook(ae->db, NULL, NULL);
	for (size_t i = 0; i < ae->nsess; i++)
		grove_ae_sess_destroy(ae->sess[i]);
	grove_ae_sess_destroy(ae->dead);
	for (size_t i = 0; i < ae->out_count; i++)
		grove_free(ae->outq[(ae->out_head + i) % GROVE_AE_OUT_MAX]);
	grove_free(ae->held);
	grove_ae_keyq_close(&ae->pushq);
	grove_ae_keyq_close(&ae->againq);
	grove_free(ae->push_set);
	grove_buf_close(&ae->scratch);
	pthread_mutex_destroy(&ae->push_mu);
	grove_free(ae);
}

/* ---- output queue ---- */

static bool enqueue(grove_ae_t *ae, grove_out_kind_t kind, uint32_t stream_id,
			   const char *addr, const uint8_t *bytes, size_t len)
{
	if (ae->out_count == GROVE_AE_OUT_MAX) {
		ae->stats.out_drops++;
		return false;
	}
	ae_out_t *o = grove_malloc(sizeof(*o) + len);
	if (o == NULL) {
		ae->stats.out_drops++;
		return false;
	}
	o->kind = kind;
	o->stream_id = stream_id;
	snprintf(o->addr, sizeof(o->addr), "%s", addr ? addr : "");
	o->len = len;
	if (len > 0)
		memcpy(o->bytes, bytes, len);
	ae->outq[(ae->out_head + ae->out_count) % GROVE_AE_OUT_MAX] = o;
	ae->out_count++;
	return true;
}

/* Seals (when security is set) and queues one datagram payload. */
static bool send_datagram(grove_ae_t *ae, const char *addr, const uint8_t *payload,
				 size_t len)
{
	if (ae->cfg.security.seal == NULL)
		return enqueue(ae, GROVE_OUT_DATAGRAM, 0, addr, payload, len);
	uint8_t dgram[GROVE_DATAGRAM_MAX];
	size_t dlen = 0;
	int rc = ae->cfg.security.seal(ae->cfg.security.ctx, addr, NULL, payload, len, dgram,
				       ae->cfg.datagram_bytes_max, &dlen);
	if (rc != 0 || dlen > ae->cfg.datagram_bytes_max) {
		ae->stats.out_drops++;
		return false;
	}
	return enqueue(ae, GROVE_OUT_DATAGRAM, 0, addr, dgram, dlen);
}

static size_t payload_max(const grove_ae_t *ae)
{
	return ae->cfg.datagram_bytes_max - ae->cfg.security.overhead_bytes;
}

/* ---- digest rounds ---- */

static uint64_t antientropy_jitter(grove_ae_t *ae, uint32_t interval_ms)
{
	uint64_t spread = interval_ms / 5 + 1; /* +-10% */
	return interval_ms - interval_ms / 10 + grove_rng_below(ae->rng, spread);
}

static void build_digest(grove_ae_t *ae, grove_buf_t *b, uint8_t flags)
{
	uint8_t root[GROVE_DIGEST_BYTES];
	grove_db_root_digest(ae->db, root);
	grove_ae_put_header(b, GROVE_AE_DIGEST, 0);
	grove_ae_put_u8(b, GROVE_AE_DIGEST_LEVEL1 | flags);
	grove_ae_put_varint(b, grove_db_count(ae->db));
	grove_buf_append(b, root, GROVE_DIGEST_BYTES);
	for (uint32_t i = 0; i < GROVE_TREE_FANOUT; i++) {
		uint8_t d[GROVE_DIGEST_BYTES];
		uint64_t count;
		if (grove_db_tree_node(ae->db, 1, i, d, &count) != 0)
			memset(d, 0, sizeof(d)); /* the peer will just find a difference */
		grove_buf_append(b, d, GROVE_DIGEST_BYTES);
	}
}

/* Sends our DIGEST (with flags) to each of addrs[0..n); returns how many
 * were queued. */
static size_t send_digests(grove_ae_t *ae, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t n,
			   uint8_t flags)
{
	size_t sent = 0;
	grove_buf_reset(&ae->scratch);
	build_digest(ae, &ae->scratch, flags);
	if (ae->scratch.failed)
		return 0;
	for (size_t i = 0; i < n; i++) {
		addrs[i][GROVE_AE_ADDR_MAX] = '\0';
		if (send_datagram(ae, addrs[i], ae->scratch.data, ae->scratch.len)) {
			ae->stats.digests_sent++;
			ae->stats.bytes_sent[GROVE_AE_PH_DIGEST] += ae->scratch.len;
			sent++;
		}
	}
	return sent;
}

/* Sends DIGEST to up to fanout random peers; returns how many were chosen. */
static size_t start_round(grove_ae_t *ae)
{
	char addrs[GROVE_AE_FANOUT_MAX][GROVE_AE_ADDR_MAX + 1];
	ae->stats.rounds++;
	size_t n = ae->cfg.peers(ae->cfg.peers_ctx, addrs, ae->cfg.fanout);
	if (n == 0)
		return 0;
	GROVE_ASSERT(n <= ae->cfg.fanout);
	send_digests(ae, addrs, n, 0);
	return n;
}

size_t grove_ae_request_digests(grove_ae_t *ae, uint64_t now_ms,
				const char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t n)
{
	char to[GROVE_AE_REQUEST_MAX][GROVE_AE_ADDR_MAX + 1];
	if (!ae->started)
		grove_ae_tick(ae, now_ms);
	if (n > GROVE_AE_REQUEST_MAX)
		n = GROVE_AE_REQUEST_MAX;
	for (size_t i = 0; i < n; i++)
		snprintf(to[i], sizeof(to[i]), "%s", addrs[i]);
	size_t sent = send_digests(ae, to, n, GROVE_AE_DIGEST_REPLY);
	ae->stats.digest_requests_sent += sent;
	return sent;
}

static grove_ae_sess_t *find_addr(const grove_ae_t *ae, const char *addr)
{
	for (size_t i = 0; i < ae->nsess; i++)
		if (strcmp(grove_ae_sess_addr(ae->sess[i]), addr) == 0)
			return ae->sess[i];
	return NULL;
}

static grove_ae_sess_t *find_id(const grove_ae_t *ae, uint32_t id, size_t *index)
{
	for (size_t i = 0; i < ae->nsess; i++) {
		if (grove_ae_sess_id(ae->sess[i]) == id) {
			if (index)
				*index = i;
			return ae->sess[i];
		}
	}
	return NULL;
}

/* Which level-1 subtrees differ from the peer's (bit i = child i). */
static uint32_t level1_diff(grove_ae_t *ae, const uint8_t *theirs)
{
	uint32_t mask = 0;
	for (uint32_t i = 0; i < GROVE_TREE_FANOUT; i++) {
		uint8_t d[GROVE_DIGEST_BYTES];
		uint64_t count;
		if (grove_db_tree_node(ae->db, 1, i, d, &count) != 0 ||
		    memcmp(d, theirs + i * GROVE_DIGEST_BYTES, GROVE_DIGEST_BYTES) != 0)
			mask |= 1u << i;
	}
	return mask;
}

static void open_session(grove_ae_t *ae, uint64_t now_ms, const char *addr, uint32_t mask)
{
	grove_ae_sess_t *s;
	uint32_t id = ae->next_id++;
	if (grove_ae_sess_create(&ae->ctx, id, addr, true, now_ms, &s) != 0) {
		ae->stats.err_nomem++;
		ae->stats.session_errors++;
		return;
	}
	if (!enqueue(ae, GROVE_OUT_STREAM_OPEN, id, addr, NULL, 0)) {
		grove_ae_sess_destroy(s);
		return;
	}
	if (mask == 0)
		grove_ae_sess_mark(s, 0, 0); /* no level-1 digests: start at the root */
	for (uint32_t i = 0; i < GROVE_TREE_FANOUT; i++)
		if (mask & (1u << i))
			grove_ae_sess_mark(s, 1, i);
	ae->sess[ae->nsess++] = s;
	ae->stats.sessions_opened++;
}

/* Remembers that s (ending now) kept its peer busy: sessions with a peer
 * take at most a quarter of the time, and a wait ends within
 * GROVE__SPACING_ROUNDS digest intervals (what push missed during a fill
 * is repaired soon after it).  While one node writes faster than
 * the others have merged, every digest differs, and back-to-back sessions
 * would walk segments and ship states that push is delivering anyway;
 * a short session (a real repair, a quiet cluster) leaves no gap. */
static void spacing_note(grove_ae_t *ae, const grove_ae_sess_t *s, uint64_t now_ms)
{
	uint64_t took = now_ms - grove_ae_sess_started_ms(s);
	uint64_t most = (uint64_t)GROVE__SPACING_ROUNDS * ae->cfg.interval_ms;
	uint64_t gap = 3 * took < most ? 3 * took : most;
	if (gap >= ae->cfg.interval_ms)
		grove_ae_pace_space(&ae->pace, grove_ae_sess_addr(s), now_ms, gap);
}

/* Answers a DIGEST that asked for one (never with the reply flag, so two
 * nodes cannot ping-pong). */
static void reply_digest(grove_ae_t *ae, const char *addr)
{
	char to[1][GROVE_AE_ADDR_MAX + 1];
	snprintf(to[0], sizeof(to[0]), "%s", addr);
	ae->stats.digest_replies_sent += send_digests(ae, to, 1, 0);
}

static void on_digest(grove_ae_t *ae, uint64_t now_ms, const char *addr, const char *sender_id,
		      const grove_ae_frame_t *f)
{
	const grove_ae_watch_t *w = &ae->cfg.watch;
	uint64_t mark = w->mark ? w->mark(w->ctx) : 0; /* before the root: see the header */
	uint8_t root[GROVE_DIGEST_BYTES];
	grove_db_root_digest(ae->db, root);
	bool equal = memcmp(root, f->root, GROVE_DIGEST_BYTES) == 0;
	if (f->flags & GROVE_AE_DIGEST_REPLY)
		reply_digest(ae, addr);
	grove_ae_sess_t *s = find_addr(ae, addr);
	if (equal) {
		ae->stats.digests_equal++;
		grove_ae_pace_equal(&ae->pace, addr);
		if (s != NULL && grove_ae_sess_finish(s))
			ae->stats.sessions_ended_equal++; /* nothing is left to exchange */
		if (w->equal)
			w->equal(w->ctx, addr, sender_id, mark);
		return;
	}
	ae->stats.digests_different++;
	if (w->different)
		w->different(w->ctx, addr, sender_id);
	uint64_t age = grove_ae_pace_differ(&ae->pace, addr, now_ms);
	uint32_t mask = f->level1 != NULL ? level1_diff(ae, f->level1) : 0;
	if (s != NULL && f->level1 != NULL)
		grove_ae_sess_prune(s, ~mask & ((1u << GROVE_TREE_FANOUT) - 1));
	if (s != NULL || ae->nsess >= ae->cfg.max_sessions) {
		ae->stats.sessions_refused++;
		return;
	}
	if (grove_ae_pace_spaced(&ae->pace, addr, now_ms)) {
		ae->stats.sessions_spaced++;
		return;
	}
	if (age < ae->hold_ms) {
		ae->stats.digests_held++; /* push is likely repairing it: see pace.h */
		return;
	}
	if (f->level1 != NULL && mask == 0)
		return; /* changed since: a later round will tell */
	open_session(ae, now_ms, addr, mask);
}

/* ---- push ---- */

/* FNV-1a, never 0 (0 marks a free slot). */
static uint64_t antientropy_key_hash(const uint8_t *key, size_t klen)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < klen; i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	return h | 1;
}

/* Adds h to the set of queued keys; false if it was there.  The set is at
 * most half full (queue bound), so probing ends.  Caller holds push_mu. */
static bool push_set_add(grove_ae_t *ae, uint64_t h)
{
	size_t mask = ae->push_set_slots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		if (ae->push_set[i] == h)
			return false;
		if (ae->push_set[i] == 0) {
			ae->push_set[i] = h;
			ae->push_set_used = true;
			return true;
		}
	}
}


/* Moves from's records to the back of to, skipping keys queued already
 * (the set was cleared first) and dropping (counted) past the queue bound,
 * *queued records in all; from ends empty.  Caller holds push_mu. */
static void push_requeue_locked(grove_ae_t *ae, grove_ae_keyq_t *to, grove_ae_keyq_t *from,
				size_t *queued)
{
	const uint8_t *rec;
	size_t rlen;
	for (; grove_ae_keyq_front(from, &rec, &rlen); grove_ae_keyq_pop(from)) {
		if (*queued >= ae->cfg.push_queue_max)
			ae->push_drops++;
		else if (!push_set_add(ae, antientropy_key_hash(rec + 1, rlen - 1)))
			continue; /* queued already */
		else if (grove_ae_keyq_push(to, rec, rlen) != 0)
			ae->push_drops++;
		else
			++*queued;
	}
}

void grove_ae_note_write(grove_ae_t *ae, const void *key, size_t klen)
{
	if (!ae->cfg.push || key == NULL || klen < 1 || klen > GROVE_ITEM_NAME_MAX ||
	    atomic_load_explicit(&ae->push_alone, memory_order_relaxed))
		return;
	/* a push record: transmissions left, then the key; one per key queued
	 * (the state sent is read when pushed: a hot key fills no queue) */
	uint8_t rec[GROVE_AE_KEYQ_REC_MAX];
	rec[0] = (uint8_t)ae->cfg.push_transmits;
	memcpy(rec + 1, key, klen);
	pthread_mutex_lock(&ae->push_mu);
	if (ae->pushq.count + ae->againq.count >= ae->cfg.push_queue_max)
		ae->push_drops++;
	else if (push_set_add(ae, antientropy_key_hash(key, klen)) &&
		 grove_ae_keyq_push(&ae->pushq, rec, klen + 1) != 0)
		ae->push_drops++;
	pthread_mutex_unlock(&ae->push_mu);
}

void grove_ae_set_push_peers(grove_ae_t *ae, bool any)
{
	atomic_store_explicit(&ae->push_alone, !any, memory_order_relaxed);
}

static void push_send(grove_ae_t *ae, grove_buf_t *b, size_t at, uint32_t n)
{
	char addrs[GROVE_AE_FANOUT_MAX][GROVE_AE_ADDR_MAX + 1];
	grove_ae_patch_u32(b, at, n);
	size_t peers = ae->cfg.peers(ae->cfg.peers_ctx, addrs, ae->cfg.push_fanout);
	for (size_t i = 0; i < peers && !b->failed; i++) {
		addrs[i][GROVE_AE_ADDR_MAX] = '\0';
		if (send_datagram(ae, addrs[i], b->data, b->len)) {
			ae->stats.pushes_sent++;
			ae->stats.push_keys_sent += n;
			ae->stats.bytes_sent[GROVE_AE_PH_PUSH] += b->len;
		}
	}
}

/* One push round in progress: the PUSH payload being built (its count
 * at `at`, n entries), datagrams sent so far, and the keys it sent that
 * have rounds left (later, each with one round less). */
typedef struct push_round {
	grove_buf_t *b;
	size_t at, sent;
	uint32_t n;
	bool all; /* push_covers_all: no key needs another round */
	bool ok;  /* the datagram budget is not spent */
	grove_ae_keyq_t later;
	uint64_t lost; /* repeats later could not hold */
} push_round_t;

/* Appends one key's state to the round's payload, sending it first when
 * full; r->ok turns false (the key not appended) once the round's
 * datagram budget is spent. */
static void push_key(grove_ae_t *ae, push_round_t *r, const uint8_t *key, size_t klen)
{
	uint8_t *st;
	size_t slen;
	if (grove_db_item_state(ae->db, key, klen, &st, &slen) != 0)
		return;
	size_t entry = grove_ae_varint_len(klen) + klen + grove_ae_varint_len(slen) + slen;
	size_t max = payload_max(ae);
	if (GROVE_AE_HDR_BYTES + 4 + entry > max) {
		ae->stats.states_oversize++;
	} else {
		if (r->b->len + entry > max) {
			push_send(ae, r->b, r->at, r->n);
			r->ok = ++r->sent < GROVE__PUSH_SENDS_MAX / ae->cfg.push_fanout;
			grove_buf_reset(r->b);
			r->at = grove_ae_put_header(r->b, GROVE_AE_PUSH, 0);
			r->n = 0;
		}
		if (r->ok) {
			grove_ae_put_blob(r->b, key, klen);
			grove_ae_put_blob(r->b, st, slen);
			r->n++;
		}
	}
	grove_free(st);
}

/* True when one push round reaches every alive peer: asked for one more
 * than push_fanout, the peers callback finds no more than push_fanout.
 * Another round (or a receiver forwarding what changed it) would then
 * only send the same state to the same peers again; a lost datagram is
 * the digest rounds' to repair. */
static bool push_covers_all(grove_ae_t *ae)
{
	char addrs[GROVE_AE_FANOUT_MAX][GROVE_AE_ADDR_MAX + 1];
	size_t want = ae->cfg.push_fanout < GROVE_AE_FANOUT_MAX ? ae->cfg.push_fanout + 1u
								  : GROVE_AE_FANOUT_MAX;
	return ae->cfg.peers(ae->cfg.peers_ctx, addrs, want) < want;
}

/* Sends q's keys until the round's datagram budget is spent (what is
 * left stays in q), keeping each sent key for its next round in r->later
 * unless it has none left or one round reaches every peer. */
static void push_drain(grove_ae_t *ae, push_round_t *r, grove_ae_keyq_t *q)
{
	const uint8_t *rec;
	size_t rlen;
	while (r->ok && grove_ae_keyq_front(q, &rec, &rlen)) {
		push_key(ae, r, rec + 1, rlen - 1);
		if (!r->ok)
			break;
		if (rec[0] > 1 && !r->all) {
			uint8_t again[GROVE_AE_KEYQ_REC_MAX];
			memcpy(again, rec, rlen);
			again[0]--;
			r->lost += grove_ae_keyq_push(&r->later, again, rlen) != 0;
		}
		grove_ae_keyq_pop(q);
	}
}

/* One push round.  Keys not pushed yet go first, then those with rounds
 * left, within GROVE__PUSH_SENDS_MAX datagram sends: under a write rate the
 * budget does not carry, first transmissions are what goes out.  Keys the
 * budget left unsent stay queued, ahead of newer ones; repeats the budget
 * left unsent are dropped (counted).  Only the note of writes takes the
 * lock meanwhile: the round works on the queues it took. */
static void flush_push(grove_ae_t *ae)
{
	grove_ae_keyq_t fresh, again;
	pthread_mutex_lock(&ae->push_mu);
	if (ae->pushq.count == 0 && ae->againq.count == 0 && !ae->push_set_used) {
		/* nothing queued and the set empty: a round of a node without
		 * writes (or alone) costs no clearing of the set (2 x 256 KiB) */
		pthread_mutex_unlock(&ae->push_mu);
		return;
	}
	fresh = ae->pushq;
	again = ae->againq;
	grove_ae_keyq_init(&ae->pushq);
	grove_ae_keyq_init(&ae->againq);
	memset(ae->push_set, 0, ae->push_set_slots * sizeof(uint64_t));
	ae->push_set_used = false;
	pthread_mutex_unlock(&ae->push_mu);
	push_round_t r = { .b = &ae->scratch, .all = push_covers_all(ae), .ok = true };
	grove_ae_keyq_init(&r.later);
	grove_buf_reset(r.b);
	r.at = grove_ae_put_header(r.b, GROVE_AE_PUSH, 0);
	push_drain(ae, &r, &fresh);
	push_drain(ae, &r, &again);
	if (r.n > 0)
		push_send(ae, r.b, r.at, r.n);
	pthread_mutex_lock(&ae->push_mu);
	grove_ae_keyq_t next;
	size_t queued = 0;
	grove_ae_keyq_init(&next);
	memset(ae->push_set, 0, ae->push_set_slots * sizeof(uint64_t));
	ae->push_set_used = false;
	push_requeue_locked(ae, &next, &fresh, &queued);     /* left unsent: first in line */
	push_requeue_locked(ae, &next, &ae->pushq, &queued); /* written during the round */
	push_requeue_locked(ae, &ae->againq, &r.later, &queued);
	grove_ae_keyq_close(&ae->pushq);
	ae->pushq = next;
	ae->push_drops += again.count + r.lost; /* repeats over the budget */
	ae->stats.push_queue_drops = ae->push_drops;
	pthread_mutex_unlock(&ae->push_mu);
	grove_ae_keyq_close(&fresh);
	grove_ae_keyq_close(&again);
	grove_ae_keyq_close(&r.later);
}

static void on_push(grove_ae_t *ae, const grove_ae_frame_t *f, size_t len)
{
	/* forward what changed this node, unless the sender's round reached
	 * every peer already */
	grove_db_change_fn news = push_covers_all(ae) ? NULL : antientropy_hook;
	size_t state_bytes = grove_ae_merge_states(&ae->ctx, f, news, ae, NULL, NULL, NULL);
	ae->stats.push_keys_received += f->count;
	ae->stats.bytes_received[GROVE_AE_PH_PUSH] += len - state_bytes;
}

/* ---- inputs ---- */

/* An authenticated (or, without security hooks, plaintext) payload;
 * sender_id is NULL without security. */
static void recv_payload(grove_ae_t *ae, uint64_t now_ms, const char *from_addr,
			 const char *sender_id, const uint8_t *payload, size_t len)
{
	grove_ae_frame_t f;
	if (from_addr == NULL || strlen(from_addr) > GROVE_AE_ADDR_MAX ||
	    grove_ae_frame_decode(payload, len, GROVE_DATAGRAM_MAX, &f) != 0 ||
	    (f.type != GROVE_AE_DIGEST && f.type != GROVE_AE_PUSH)) {
		ae->stats.datagrams_dropped++;
		return;
	}
	if (f.type == GROVE_AE_DIGEST) {
		ae->stats.bytes_received[GROVE_AE_PH_DIGEST] += len;
		on_digest(ae, now_ms, from_addr, sender_id, &f);
	} else {
		on_push(ae, &f, len);
	}
}

void grove_ae_recv_datagram(grove_ae_t *ae, uint64_t now_ms, const char *from_addr,
			    const uint8_t *bytes, size_t len)
{
	const uint8_t *payload = bytes;
	size_t plen = len;
	char sender[GROVE_AE_ID_MAX + 1];
	if (ae->cfg.security.open == NULL) {
		recv_payload(ae, now_ms, from_addr, NULL, bytes, len);
		return;
	}
	if (ae->cfg.security.open(ae->cfg.security.ctx, now_ms, from_addr, bytes, len, &payload,
				  &plen, sender) != 0) {
		ae->stats.datagrams_dropped++;
		return;
	}
	sender[GROVE_AE_ID_MAX] = '\0';
	recv_payload(ae, now_ms, from_addr, sender, payload, plen);
}

int grove_ae_stream_accept(grove_ae_t *ae, uint64_t now_ms, const char *from_addr,
			   uint32_t *stream_id)
{
	if (from_addr == NULL || strlen(from_addr) > GROVE_AE_ADDR_MAX)
		return GROVE_EINVAL;
	if (ae->nsess >= ae->cfg.max_sessions) {
		ae->stats.sessions_refused++;
		return GROVE_EFULL;
	}
	grove_ae_sess_t *s;
	uint32_t id = ae->next_id++;
	int rc = grove_ae_sess_create(&ae->ctx, id, from_addr, false, now_ms, &s);
	if (rc != 0)
		return rc;
	ae->sess[ae->nsess++] = s;
	ae->stats.sessions_accepted++;
	*stream_id = id;
	return 0;
}

void grove_ae_stream_recv(grove_ae_t *ae, uint64_t now_ms, uint32_t stream_id,
			  const uint8_t *frame, size_t len)
{
	grove_ae_sess_t *s = find_id(ae, stream_id, NULL);
	if (s != NULL)
		grove_ae_sess_recv(s, now_ms, frame, len);
}

static void antientropy_remove(grove_ae_t *ae, size_t index)
{
	GROVE_ASSERT(index < ae->nsess);
	ae->sess[index] = ae->sess[--ae->nsess];
	ae->sess[ae->nsess] = NULL;
}

void grove_ae_stream_closed(grove_ae_t *ae, uint64_t now_ms, uint32_t stream_id)
{
	size_t i;
	grove_ae_sess_t *s = find_id(ae, stream_id, &i);
	if (s == NULL)
		return;
	spacing_note(ae, s, now_ms);
	grove_ae_sess_transport_closed(s);
	antientropy_remove(ae, i);
	grove_ae_sess_destroy(s);
}

void grove_ae_stream_set_writable(grove_ae_t *ae, uint32_t stream_id, bool writable)
{
	grove_ae_sess_t *s = find_id(ae, stream_id, NULL);
	if (s != NULL)
		grove_ae_sess_set_writable(s, writable);
}

void grove_ae_tick(grove_ae_t *ae, uint64_t now_ms)
{
	if (!ae->started) {
		ae->started = true;
		ae->next_round_ms = now_ms + grove_rng_below(ae->rng, ae->cfg.interval_ms + 1);
		ae->next_push_ms = now_ms + ae->cfg.push_interval_ms;
	}
	for (size_t i = 0; i < ae->nsess; i++)
		grove_ae_sess_tick(ae->sess[i], now_ms);
	if (now_ms >= ae->next_round_ms) {
		start_round(ae);
		ae->next_round_ms = now_ms + antientropy_jitter(ae, ae->cfg.interval_ms);
	}
	if (ae->cfg.push && now_ms >= ae->next_push_ms) {
		flush_push(ae);
		ae->next_push_ms = now_ms + ae->cfg.push_interval_ms;
	}
}

size_t grove_ae_round_now(grove_ae_t *ae, uint64_t now_ms)
{
	if (!ae->started)
		grove_ae_tick(ae, now_ms);
	return start_round(ae);
}

uint64_t grove_ae_next_deadline(const grove_ae_t *ae)
{
	if (!ae->started)
		return 0;
	uint64_t d = ae->next_round_ms;
	if (ae->cfg.push && ae->next_push_ms < d)
		d = ae->next_push_ms;
	for (size_t i = 0; i < ae->nsess; i++) {
		uint64_t s = grove_ae_sess_deadline(ae->sess[i]);
		if (s < d)
			d = s;
	}
	return d;
}

/* ---- outputs ---- */

static bool poll_sessions(grove_ae_t *ae, uint64_t now_ms, grove_out_t *out)
{
	for (size_t k = 0; k < ae->nsess; k++) {
		size_t i = (ae->rr + k) % ae->nsess;
		grove_ae_sess_t *s = ae->sess[i];
		const uint8_t *bytes;
		size_t len;
		int r = grove_ae_sess_next(s, &bytes, &len);
		if (r == GROVE_AE_NEXT_NONE)
			continue;
		out->stream_id = grove_ae_sess_id(s);
		out->addr = NULL;
		if (r == GROVE_AE_NEXT_FRAME) {
			out->kind = GROVE_OUT_STREAM_FRAME;
			out->bytes = bytes;
			out->len = len;
			ae->rr = i + 1;
		} else {
			out->kind = GROVE_OUT_STREAM_CLOSE;
			out->bytes = NULL;
			out->len = 0;
			antientropy_remove(ae, i);
			spacing_note(ae, s, now_ms);
			ae->dead = s;
		}
		return true;
	}
	return false;
}

bool grove_ae_poll(grove_ae_t *ae, uint64_t now_ms, grove_out_t *out)
{
	grove_free(ae->held);
	ae->held = NULL;
	grove_ae_sess_destroy(ae->dead);
	ae->dead = NULL;
	for (size_t i = 0; i < ae->nsess; i++)
		grove_ae_sess_tick(ae->sess[i], now_ms);
	if (ae->out_count > 0) {
		ae_out_t *o = ae->outq[ae->out_head];
		ae->out_head = (ae->out_head + 1) % GROVE_AE_OUT_MAX;
		ae->out_count--;
		ae->held = o;
		out->kind = o->kind;
		out->stream_id = o->stream_id;
		out->addr = o->addr;
		out->bytes = o->len ? o->bytes : NULL;
		out->len = o->len;
		return true;
	}
	return poll_sessions(ae, now_ms, out);
}

void grove_ae_get_stats(const grove_ae_t *ae, grove_ae_stats_t *out)
{
	*out = ae->stats;
}

size_t grove_ae_session_count(const grove_ae_t *ae)
{
	return ae->nsess;
}
