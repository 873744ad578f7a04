/*
 * ae_session.c - the reconciliation state machine of one anti-entropy
 * stream (design in ae_session.h, messages in doc/antientropy.md).
 *
 * Inbound frames only record work (bits, key queues) and merge states;
 * grove_ae_sess_next turns work into at most one frame per call, cut at
 * config.frame_target_bytes, so the driver's polling pace is the
 * backpressure.  Any protocol violation, limit or timeout ends the session
 * with a BYE carrying the reason; nothing a peer sends can touch local state
 * except through grove_db_merge.
 */
#include "gossip/ae_session.h"

#include <string.h>

#include "crdt/alloc.h"
#include "crdt/assert.h"

#define GROVE__LEVELS GROVE_TREE_LEVELS
#define GROVE__ABSENT (GROVE__LEVELS + 1) /* bitmap of segments the peer lacks */
#define GROVE__MAPS (GROVE__LEVELS + 2)
/* Credit units: request bytes counted as GROVE__RUN_UNITS per KEYS run
 * and key length + GROVE__KEY_UNITS per listed or wanted key. */
#define GROVE__RUN_UNITS 8u
#define GROVE__KEY_UNITS GROVE_DIGEST_BYTES
#define GROVE__ENTRY_UNITS_MAX (GROVE_KEY_MAX + GROVE__KEY_UNITS)
_Static_assert(GROVE_AE_WINDOW_BYTES_MIN >= 2 * (GROVE__RUN_UNITS + GROVE__ENTRY_UNITS_MAX),
	       "the smallest window holds a run with the largest key, twice");

enum grove__phase { GROVE__ACTIVE = 0, GROVE__ENDING, GROVE__CLOSED };

struct grove_ae_sess {
	grove_ae_ctx_t ctx;
	uint32_t id;
	char addr[GROVE_AE_ADDR_MAX + 1];
	bool initiator;
	bool writable;
	int phase;
	int end_code;     /* 0 = reconciled, else the error that ended it */
	bool bye_needed;  /* a BYE is still to be sent before closing */
	uint64_t started_ms;
	uint64_t last_recv_ms;
	uint64_t bytes;   /* in + out */
	uint64_t *bits[GROVE__MAPS];
	uint32_t cursor[GROVE__MAPS];
	uint32_t pending[GROVE__MAPS];
	grove_ae_keyq_t sendq;  /* keys whose state the peer gets */
	grove_ae_keyq_t wantq;  /* keys to ask the peer for */
	grove_ae_seg_t in_seg;  /* local list of the segment the peer is listing */
	grove_ae_seg_t out_seg; /* local list being sent as KEYS */
	grove_ae_seg_t abs_seg; /* local segment the peer lacks, being queued */
	grove_ae_buf_t frame;   /* frame built by next(), borrowed by the driver */
	grove_ae_buf_t carry;   /* a STATES entry that did not fit the last frame */
	size_t carry_state_bytes;
	uint64_t units_out;     /* request bytes sent, not yet credited back */
	uint64_t units_in;      /* request bytes received, not yet credited */
	uint64_t frames_sent, frames_recv; /* IDLE and BYE not counted */
	bool idle_sent;
	bool peer_idle;
	uint64_t peer_sent, peer_recv;
};

/* Bits of map `level`: tree nodes at levels 0..LEVELS, segments for ABSENT. */
static uint32_t grove__width(unsigned level)
{
	return 1u << (4 * (level == GROVE__ABSENT ? GROVE__LEVELS : level));
}

static size_t grove__words(unsigned level)
{
	return (grove__width(level) + 63) / 64;
}

int grove_ae_sess_create(const grove_ae_ctx_t *ctx, uint32_t id, const char *addr,
			 bool initiator, uint64_t now_ms, grove_ae_sess_t **out)
{
	GROVE_ASSERT(strlen(addr) <= GROVE_AE_ADDR_MAX);
	grove_ae_sess_t *s = grove_calloc(1, sizeof(*s));
	if (s == NULL)
		return GROVE_ENOMEM;
	size_t words = 0;
	for (unsigned l = 0; l < GROVE__MAPS; l++)
		words += grove__words(l);
	uint64_t *bits = grove_calloc(words, sizeof(uint64_t));
	if (bits == NULL) {
		grove_free(s);
		return GROVE_ENOMEM;
	}
	for (unsigned l = 0; l < GROVE__MAPS; l++) {
		s->bits[l] = bits;
		bits += grove__words(l);
	}
	s->ctx = *ctx;
	s->id = id;
	strcpy(s->addr, addr);
	s->initiator = initiator;
	s->writable = true;
	s->started_ms = now_ms;
	s->last_recv_ms = now_ms;
	s->idle_sent = !initiator; /* a responder has nothing to report yet */
	grove_ae_keyq_init(&s->sendq);
	grove_ae_keyq_init(&s->wantq);
	grove_ae_seg_init(&s->in_seg);
	grove_ae_seg_init(&s->out_seg);
	grove_ae_seg_init(&s->abs_seg);
	grove_ae_buf_init(&s->frame);
	grove_ae_buf_init(&s->carry);
	*out = s;
	return 0;
}

void grove_ae_sess_destroy(grove_ae_sess_t *s)
{
	if (s == NULL)
		return;
	grove_free(s->bits[0]);
	grove_ae_keyq_close(&s->sendq);
	grove_ae_keyq_close(&s->wantq);
	grove_ae_seg_close(&s->in_seg);
	grove_ae_seg_close(&s->out_seg);
	grove_ae_seg_close(&s->abs_seg);
	grove_ae_buf_close(&s->frame);
	grove_ae_buf_close(&s->carry);
	grove_free(s);
}

uint32_t grove_ae_sess_id(const grove_ae_sess_t *s) { return s->id; }
const char *grove_ae_sess_addr(const grove_ae_sess_t *s) { return s->addr; }
bool grove_ae_sess_writable(const grove_ae_sess_t *s) { return s->writable; }
void grove_ae_sess_set_writable(grove_ae_sess_t *s, bool w) { s->writable = w; }

/* ---- ending ---- */

static void grove__count_error(grove_ae_stats_t *st, int code)
{
	st->session_errors++;
	switch (code) {
	case GROVE_EDECODE:
	case GROVE_EVERSION:
		st->err_decode++;
		break;
	case GROVE_ETOOBIG:
	case GROVE_EFULL:
		st->err_limit++;
		break;
	case GROVE_ETIMEOUT:
		st->err_timeout++;
		break;
	case GROVE_ECLOSED:
		st->err_closed++;
		break;
	case GROVE_ENOMEM:
		st->err_nomem++;
		break;
	default:
		st->err_proto++;
	}
}

/* Ends an active session: code 0 = reconciled.  bye: send BYE first. */
static void grove__end(grove_ae_sess_t *s, int code, bool bye)
{
	if (s->phase != GROVE__ACTIVE)
		return;
	s->phase = GROVE__ENDING;
	s->end_code = code;
	s->bye_needed = bye;
	if (code == 0)
		s->ctx.stats->sessions_done++;
	else
		grove__count_error(s->ctx.stats, code);
}

void grove_ae_sess_transport_closed(grove_ae_sess_t *s)
{
	grove__end(s, GROVE_ECLOSED, false);
	s->phase = GROVE__CLOSED;
}

static void grove__add_bytes(grove_ae_sess_t *s, size_t n)
{
	s->bytes += n;
	if (s->bytes > s->ctx.cfg->session_bytes_max)
		grove__end(s, GROVE_ETOOBIG, true);
}

/* ---- work bits ---- */

static void grove__set_bit(grove_ae_sess_t *s, unsigned level, uint32_t index)
{
	GROVE_ASSERT(level < GROVE__MAPS && index < grove__width(level));
	uint64_t bit = 1ULL << (index % 64);
	if (s->bits[level][index / 64] & bit)
		return;
	s->bits[level][index / 64] |= bit;
	s->pending[level]++;
}

void grove_ae_sess_mark(grove_ae_sess_t *s, unsigned level, uint32_t index)
{
	GROVE_ASSERT(level <= GROVE__LEVELS);
	grove__set_bit(s, level, index);
}

/* The peer has nothing under node (level, index): every local segment
 * beneath it is sent as states, without descending or listing keys. */
static void grove__mark_absent(grove_ae_sess_t *s, unsigned level, uint32_t index)
{
	uint32_t span = 1u << (4 * (GROVE__LEVELS - level));
	for (uint32_t seg = index * span; seg < (index + 1) * span; seg++)
		grove__set_bit(s, GROVE__ABSENT, seg);
}

/* Takes the next marked node at level (from the cursor on, wrapping). */
static uint32_t grove__take(grove_ae_sess_t *s, unsigned level)
{
	GROVE_ASSERT(s->pending[level] > 0);
	size_t words = grove__words(level);
	size_t w = s->cursor[level] / 64;
	for (size_t n = 0; n <= words; n++, w = (w + 1) % words) {
		uint64_t x = s->bits[level][w];
		if (x == 0)
			continue;
		unsigned b = (unsigned)__builtin_ctzll(x);
		s->bits[level][w] &= ~(1ULL << b);
		s->pending[level]--;
		uint32_t index = (uint32_t)(w * 64 + b);
		s->cursor[level] = index;
		return index;
	}
	GROVE_ASSERT(!"pending count without a set bit");
	return 0;
}

/* ---- merging (shared with PUSH) ---- */

bool grove_ae_merge_state(const grove_ae_ctx_t *ctx, const uint8_t *key, size_t klen,
			  const uint8_t *state, size_t slen)
{
	bool changed = false;
	int rc = grove_db_merge(ctx->db, key, klen, state, slen, &changed);
	grove_ae_stats_t *st = ctx->stats;
	if (rc == 0 && changed)
		st->merged_changed++;
	else if (rc == 0)
		st->merged_unchanged++;
	else if (rc == GROVE_ECLOCK_OFFSET)
		st->rejected_clock++;
	else if (rc == GROVE_EDECODE || rc == GROVE_EVERSION || rc == GROVE_ETOOBIG ||
		 rc == GROVE_EWRONGTYPE)
		st->rejected_decode++;
	else
		st->rejected_other++;
	return rc == 0 && changed;
}

/* ---- inbound ---- */

/* Compares the peer's children of one parent with ours; marks the ones
 * that differ (empty on one side only, or both non-empty with other digests). */
static int grove__on_group(grove_ae_sess_t *s, unsigned level, uint32_t parent, uint16_t mask,
			   const uint8_t *theirs)
{
	for (uint32_t c = 0; c < GROVE_TREE_FANOUT; c++) {
		uint32_t index = parent * GROVE_TREE_FANOUT + c;
		uint8_t mine[GROVE_DIGEST_BYTES];
		uint64_t count;
		int rc = grove_db_tree_node(s->ctx.db, level, index, mine, &count);
		if (rc != 0)
			return rc;
		bool their_any = mask & (1u << c);
		if (!their_any && count > 0) {
			grove__mark_absent(s, level, index);
			continue;
		}
		bool differ = (count > 0) != their_any;
		if (their_any) {
			differ = differ || memcmp(mine, theirs, GROVE_DIGEST_BYTES) != 0;
			theirs += GROVE_DIGEST_BYTES;
		}
		if (differ)
			grove_ae_sess_mark(s, level, index);
	}
	return 0;
}

static int grove__on_nodes(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, f);
	for (uint32_t i = 0; i < f->count; i++) {
		uint32_t parent;
		uint16_t mask;
		const uint8_t *theirs;
		grove_ae_rd_group(&rd, &parent, &mask, &theirs);
		int rc = grove__on_group(s, f->level, parent, mask, theirs);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Counts request units received.  A peer beyond the window ignored our
 * credit. */
static int grove__take_units(grove_ae_sess_t *s, uint64_t units)
{
	s->units_in += units;
	return s->units_in > s->ctx.cfg->window_bytes ? GROVE_EPROTO : 0;
}

/* Compares one peer (key, digest) with the loaded local segment. */
static int grove__on_keydig(grove_ae_sess_t *s, const uint8_t *key, size_t klen,
			    const uint8_t *digest)
{
	if (grove_db_segment_of(key, klen) != s->in_seg.segment) {
		s->ctx.stats->keys_misplaced++;
		return 0;
	}
	long i = grove_ae_seg_find(&s->in_seg, key, klen);
	if (i < 0)
		return grove_ae_keyq_push(&s->wantq, key, klen);
	s->in_seg.ents[i].matched = true;
	if (memcmp(grove_ae_seg_digest(&s->in_seg, (size_t)i), digest, GROVE_DIGEST_BYTES) == 0)
		return 0;
	int rc = grove_ae_keyq_push(&s->wantq, key, klen);
	return rc ? rc : grove_ae_keyq_push(&s->sendq, key, klen);
}

/* The peer's list of the loaded segment is complete: queue what it lacks. */
static int grove__finish_segment(grove_ae_sess_t *s)
{
	grove_ae_seg_t *g = &s->in_seg;
	for (size_t i = 0; i < g->count; i++) {
		if (g->ents[i].matched)
			continue;
		int rc = grove_ae_keyq_push(&s->sendq, grove_ae_seg_key(g, i), g->ents[i].klen);
		if (rc != 0)
			return rc;
	}
	grove_ae_seg_unload(g);
	return 0;
}

static int grove__on_keys(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, f);
	for (uint32_t i = 0; i < f->count; i++) {
		uint32_t seg, nkeys;
		bool final;
		grove_ae_rd_segment(&rd, &seg, &final, &nkeys);
		if (s->in_seg.loaded && s->in_seg.segment != seg)
			return GROVE_EPROTO; /* a segment list was left unfinished */
		int rc = grove__take_units(s, GROVE__RUN_UNITS);
		if (rc == 0 && !s->in_seg.loaded)
			rc = grove_ae_seg_load(&s->in_seg, s->ctx.db, seg);
		for (uint32_t k = 0; k < nkeys && rc == 0; k++) {
			const uint8_t *key, *dig;
			size_t klen;
			grove_ae_rd_keydig(&rd, &key, &klen, &dig);
			rc = grove__take_units(s, klen + GROVE__KEY_UNITS);
			if (rc == 0)
				rc = grove__on_keydig(s, key, klen, dig);
		}
		if (rc == 0 && final)
			rc = grove__finish_segment(s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int grove__on_want(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, f);
	for (uint32_t i = 0; i < f->count; i++) {
		const uint8_t *key;
		size_t klen;
		grove_ae_rd_key(&rd, &key, &klen);
		int rc = grove__take_units(s, klen + GROVE__KEY_UNITS);
		if (rc == 0)
			rc = grove_ae_keyq_push(&s->sendq, key, klen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int grove__on_credit(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	if (f->units > s->units_out)
		return GROVE_EPROTO; /* credit for requests never sent */
	s->units_out -= f->units;
	return 0;
}

/* Merges every state; returns the bytes of state carried (for stats). */
static size_t grove__on_states(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, f);
	size_t state_bytes = 0;
	for (uint32_t i = 0; i < f->count; i++) {
		const uint8_t *key, *st;
		size_t klen, slen;
		grove_ae_rd_state(&rd, &key, &klen, &st, &slen);
		grove_ae_merge_state(&s->ctx, key, klen, st, slen);
		s->ctx.stats->keys_received++;
		state_bytes += slen;
	}
	s->ctx.stats->state_bytes_received += state_bytes;
	return state_bytes;
}

static void grove__on_control(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	if (f->type == GROVE_AE_IDLE) {
		s->peer_idle = true;
		s->peer_sent = f->sent;
		s->peer_recv = f->received;
	} else if (f->reason == 0) {
		grove__end(s, 0, false); /* the peer saw both ends idle */
	} else {
		grove__end(s, GROVE_ECLOSED, false);
	}
}

static int grove__dispatch(grove_ae_sess_t *s, const grove_ae_frame_t *f, size_t len)
{
	grove_ae_stats_t *st = s->ctx.stats;
	int rc = 0;
	switch (f->type) {
	case GROVE_AE_NODES:
		st->bytes_received[GROVE_AE_PH_TREE] += len;
		rc = grove__on_nodes(s, f);
		break;
	case GROVE_AE_KEYS:
	case GROVE_AE_WANT:
		st->bytes_received[GROVE_AE_PH_KEYS] += len;
		rc = f->type == GROVE_AE_KEYS ? grove__on_keys(s, f) : grove__on_want(s, f);
		break;
	case GROVE_AE_STATES:
		st->bytes_received[GROVE_AE_PH_STATES] += len - grove__on_states(s, f);
		break;
	case GROVE_AE_CREDIT:
		st->bytes_received[GROVE_AE_PH_CONTROL] += len;
		rc = grove__on_credit(s, f);
		break;
	case GROVE_AE_IDLE:
	case GROVE_AE_BYE:
		st->bytes_received[GROVE_AE_PH_CONTROL] += len;
		grove__on_control(s, f);
		return 0;
	default:
		return GROVE_EPROTO; /* datagram types have no place on a stream */
	}
	s->frames_recv++;
	s->idle_sent = false;
	return rc;
}

void grove_ae_sess_recv(grove_ae_sess_t *s, uint64_t now_ms, const uint8_t *frame, size_t len)
{
	if (s->phase != GROVE__ACTIVE)
		return;
	s->last_recv_ms = now_ms;
	s->ctx.stats->frames_received++;
	grove__add_bytes(s, len);
	grove_ae_frame_t f;
	int rc = grove_ae_frame_decode(frame, len, s->ctx.cfg->frame_bytes_max, &f);
	if (rc == 0)
		rc = grove__dispatch(s, &f, len);
	if (rc != 0)
		grove__end(s, rc, true);
}

/* ---- outbound: one frame per call, deepest work first ---- */

static size_t grove__entry_bytes(size_t klen, size_t slen)
{
	return grove_ae_varint_len(klen) + klen + grove_ae_varint_len(slen) + slen;
}

/* Appends the front key's state to the frame (or to carry when it does not
 * fit); pops it.  Returns 1 appended, 0 carried/skipped, negative error. */
static int grove__add_state(grove_ae_sess_t *s, uint32_t n, size_t *state_bytes)
{
	const uint8_t *key;
	size_t klen;
	grove_ae_keyq_front(&s->sendq, &key, &klen);
	uint8_t *st = NULL;
	size_t slen = 0;
	int rc = grove_db_get_encoded(s->ctx.db, key, klen, &st, &slen);
	if (rc == GROVE_ENOTFOUND) {
		grove_ae_keyq_pop(&s->sendq);
		return 0;
	}
	if (rc != 0)
		return rc;
	size_t entry = grove__entry_bytes(klen, slen);
	bool carry = n > 0 && s->frame.len + entry > s->ctx.cfg->frame_target_bytes;
	if (GROVE_AE_HDR_BYTES + 4 + entry > s->ctx.cfg->frame_bytes_max) {
		s->ctx.stats->states_oversize++;
		carry = false;
		rc = 0;
	} else {
		grove_ae_buf_t *b = carry ? &s->carry : &s->frame;
		grove_ae_put_blob(b, key, klen);
		grove_ae_put_blob(b, st, slen);
		s->ctx.stats->keys_sent++;
		s->ctx.stats->state_bytes_sent += slen;
		if (carry)
			s->carry_state_bytes = slen;
		else
			*state_bytes += slen;
		rc = carry ? 0 : 1;
	}
	grove_free(st);
	grove_ae_keyq_pop(&s->sendq);
	return rc;
}

static int grove__build_states(grove_ae_sess_t *s, size_t *state_bytes)
{
	size_t at = grove_ae_put_header(&s->frame, GROVE_AE_STATES, 0);
	uint32_t n = 0;
	if (s->carry.len > 0) {
		grove_ae_put_bytes(&s->frame, s->carry.data, s->carry.len);
		*state_bytes += s->carry_state_bytes;
		grove_ae_buf_reset(&s->carry);
		n = 1;
	}
	while (s->sendq.count > 0 && s->carry.len == 0 &&
	       s->frame.len < s->ctx.cfg->frame_target_bytes && n < GROVE_AE_ENTRIES_MAX) {
		int rc = grove__add_state(s, n, state_bytes);
		if (rc < 0)
			return rc;
		n += (uint32_t)rc;
	}
	grove_ae_patch_u32(&s->frame, at, n);
	return n > 0;
}

/* Request units the peer still accepts (its window minus what it has not
 * credited back yet). */
static uint64_t grove__room(const grove_ae_sess_t *s)
{
	uint64_t w = s->ctx.cfg->window_bytes;
	return s->units_out < w ? w - s->units_out : 0;
}

/* WANT frame, within the credit window: 1 built, 0 no room. */
static int grove__build_wants(grove_ae_sess_t *s)
{
	size_t at = grove_ae_put_header(&s->frame, GROVE_AE_WANT, 0);
	uint32_t n = 0;
	const uint8_t *key;
	size_t klen;
	while (grove_ae_keyq_front(&s->wantq, &key, &klen) &&
	       klen + GROVE__KEY_UNITS <= grove__room(s)) {
		if (n > 0 && s->frame.len + klen + 2 > s->ctx.cfg->frame_target_bytes)
			break;
		grove_ae_put_blob(&s->frame, key, klen);
		grove_ae_keyq_pop(&s->wantq);
		s->units_out += klen + GROVE__KEY_UNITS;
		n++;
	}
	grove_ae_patch_u32(&s->frame, at, n);
	return n > 0;
}

/* Appends as much of the loaded out_seg as fits the frame (at least one
 * entry when first) and the credit window (the caller checked that room
 * holds a run with its largest possible key). */
static void grove__put_segment(grove_ae_sess_t *s, bool first)
{
	grove_ae_seg_t *g = &s->out_seg;
	size_t room = s->ctx.cfg->frame_target_bytes;
	size_t used = s->frame.len + 8;
	uint64_t units = GROVE__RUN_UNITS, budget = grove__room(s);
	size_t k = g->pos;
	while (k < g->count && units + g->ents[k].klen + GROVE__KEY_UNITS <= budget) {
		size_t e = grove_ae_varint_len(g->ents[k].klen) + g->ents[k].klen + GROVE_DIGEST_BYTES;
		if (used + e > room && !(first && k == g->pos))
			break;
		used += e;
		units += g->ents[k].klen + GROVE__KEY_UNITS;
		k++;
	}
	bool final = k == g->count;
	grove_ae_put_varint(&s->frame, g->segment);
	grove_ae_put_u8(&s->frame, final ? 1 : 0);
	grove_ae_put_varint(&s->frame, k - g->pos);
	s->units_out += units;
	for (; g->pos < k; g->pos++) {
		grove_ae_put_blob(&s->frame, grove_ae_seg_key(g, g->pos), g->ents[g->pos].klen);
		grove_ae_put_bytes(&s->frame, grove_ae_seg_digest(g, g->pos), GROVE_DIGEST_BYTES);
	}
	if (final)
		grove_ae_seg_unload(g);
}

/* KEYS frame, within frame size and credit window: 1 built, 0 no room. */
static int grove__build_keys(grove_ae_sess_t *s)
{
	const uint64_t run_min = GROVE__RUN_UNITS + GROVE__ENTRY_UNITS_MAX;
	if (grove__room(s) < run_min)
		return 0;
	size_t at = grove_ae_put_header(&s->frame, GROVE_AE_KEYS, 0);
	uint32_t n = 0;
	while (s->frame.len + 16 < s->ctx.cfg->frame_target_bytes && grove__room(s) >= run_min) {
		if (!s->out_seg.loaded) {
			if (s->pending[GROVE__LEVELS] == 0)
				break;
			uint32_t seg = grove__take(s, GROVE__LEVELS);
			int rc = grove_ae_seg_load(&s->out_seg, s->ctx.db, seg);
			if (rc != 0)
				return rc;
		}
		grove__put_segment(s, n == 0);
		n++;
		if (s->out_seg.loaded)
			break; /* the segment continues in the next frame */
	}
	grove_ae_patch_u32(&s->frame, at, n);
	return 1;
}

/* Appends one NODES group: parent, mask of non-empty children, digests. */
static int grove__put_group(grove_ae_sess_t *s, unsigned level, uint32_t parent)
{
	uint8_t d[GROVE_TREE_FANOUT][GROVE_DIGEST_BYTES];
	uint16_t mask = 0;
	for (uint32_t c = 0; c < GROVE_TREE_FANOUT; c++) {
		uint64_t count;
		int rc = grove_db_tree_node(s->ctx.db, level + 1, parent * GROVE_TREE_FANOUT + c,
					    d[c], &count);
		if (rc != 0)
			return rc;
		if (count > 0)
			mask |= (uint16_t)(1u << c);
	}
	grove_ae_put_varint(&s->frame, parent);
	grove_ae_put_u8(&s->frame, (uint8_t)(mask >> 8));
	grove_ae_put_u8(&s->frame, (uint8_t)mask);
	for (uint32_t c = 0; c < GROVE_TREE_FANOUT; c++)
		if (mask & (1u << c))
			grove_ae_put_bytes(&s->frame, d[c], GROVE_DIGEST_BYTES);
	return 0;
}

/* NODES frame: for marked nodes at `level`, their children's digests. */
static int grove__build_nodes(grove_ae_sess_t *s, unsigned level)
{
	size_t at = grove_ae_put_header(&s->frame, GROVE_AE_NODES, (uint8_t)(level + 1));
	uint32_t n = 0;
	size_t group_max = 6 + GROVE_TREE_FANOUT * GROVE_DIGEST_BYTES;
	while (s->pending[level] > 0 &&
	       (n == 0 || s->frame.len + group_max <= s->ctx.cfg->frame_target_bytes)) {
		int rc = grove__put_group(s, level, grove__take(s, level));
		if (rc != 0)
			return rc;
		n++;
	}
	grove_ae_patch_u32(&s->frame, at, n);
	return 1;
}

/* Bytes held by a key queue. */
static size_t grove__queued_bytes(const grove_ae_keyq_t *q)
{
	return q->buf.len - q->head;
}

/* Queues keys of segments the peer lacks into sendq, up to the window in
 * bytes, one loaded segment at a time. */
static int grove__feed_absent(grove_ae_sess_t *s)
{
	grove_ae_seg_t *g = &s->abs_seg;
	while (grove__queued_bytes(&s->sendq) < s->ctx.cfg->window_bytes) {
		if (!g->loaded) {
			if (s->pending[GROVE__ABSENT] == 0)
				return 0;
			int rc = grove_ae_seg_load(g, s->ctx.db, grove__take(s, GROVE__ABSENT));
			if (rc != 0)
				return rc;
		}
		if (g->pos == g->count) {
			grove_ae_seg_unload(g);
			continue;
		}
		int rc = grove_ae_keyq_push(&s->sendq, grove_ae_seg_key(g, g->pos), g->ents[g->pos].klen);
		if (rc != 0)
			return rc;
		g->pos++;
	}
	return 0;
}

/* Builds the next work frame into s->frame: 1 built, 0 no work, <0 error. */
static int grove__build_work(grove_ae_sess_t *s, int *phase, size_t *state_bytes)
{
	if (s->sendq.count == 0 && s->carry.len == 0) {
		int rc = grove__feed_absent(s);
		if (rc != 0)
			return rc;
	}
	if (s->sendq.count > 0 || s->carry.len > 0) {
		*phase = GROVE_AE_PH_STATES;
		int rc = grove__build_states(s, state_bytes);
		if (rc != 0)
			return rc;
		grove_ae_buf_reset(&s->frame); /* every queued key had vanished */
	}
	*phase = GROVE_AE_PH_KEYS;
	int rc = s->wantq.count > 0 ? grove__build_wants(s) : 0;
	if (rc == 0 && (s->out_seg.loaded || s->pending[GROVE__LEVELS] > 0))
		rc = grove__build_keys(s);
	if (rc != 0)
		return rc;
	grove_ae_buf_reset(&s->frame);
	*phase = GROVE_AE_PH_TREE;
	for (unsigned l = GROVE__LEVELS; l-- > 0;)
		if (s->pending[l] > 0)
			return grove__build_nodes(s, l);
	return 0;
}

static bool grove__idle(const grove_ae_sess_t *s)
{
	for (unsigned l = 0; l < GROVE__MAPS; l++)
		if (s->pending[l] > 0)
			return false;
	return s->units_in == 0 && s->sendq.count == 0 && s->wantq.count == 0 && s->carry.len == 0 &&
	       !s->out_seg.loaded && !s->in_seg.loaded && !s->abs_seg.loaded;
}

/* IDLE, or BYE once the peer's IDLE shows nothing in flight either way. */
static bool grove__build_control(grove_ae_sess_t *s)
{
	if (s->peer_idle && s->peer_sent == s->frames_recv && s->peer_recv == s->frames_sent) {
		grove__end(s, 0, true);
		return false;
	}
	if (s->idle_sent)
		return false;
	grove_ae_put_header(&s->frame, GROVE_AE_IDLE, 0);
	grove_ae_put_varint(&s->frame, s->frames_sent);
	grove_ae_put_varint(&s->frame, s->frames_recv);
	s->idle_sent = true;
	return true;
}

/* CREDIT for the request units received, once the work they queued is
 * mostly sent (so a peer's requests never queue more than its window). */
static int grove__build_credit(grove_ae_sess_t *s)
{
	size_t queued = grove__queued_bytes(&s->sendq) + grove__queued_bytes(&s->wantq);
	if (s->units_in == 0 || queued > s->ctx.cfg->window_bytes / 2)
		return 0;
	grove_ae_put_header(&s->frame, GROVE_AE_CREDIT, 0);
	grove_ae_put_varint(&s->frame, s->units_in);
	s->units_in = 0;
	return 1;
}

static int grove__next_active(grove_ae_sess_t *s)
{
	int phase = GROVE_AE_PH_CONTROL;
	size_t state_bytes = 0;
	int rc = grove__build_credit(s);
	if (rc == 0)
		rc = grove__build_work(s, &phase, &state_bytes);
	if (rc == 0 && !s->frame.oom) {
		grove_ae_buf_reset(&s->frame);
		if (!grove__idle(s) || !grove__build_control(s))
			return GROVE_AE_NEXT_NONE;
		phase = GROVE_AE_PH_CONTROL;
	} else if (rc > 0) {
		s->frames_sent++;
		s->idle_sent = false;
	}
	if (rc < 0 || s->frame.oom) {
		grove__end(s, rc < 0 ? rc : GROVE_ENOMEM, true);
		return GROVE_AE_NEXT_NONE;
	}
	s->ctx.stats->bytes_sent[phase] += s->frame.len - state_bytes;
	return GROVE_AE_NEXT_FRAME;
}

int grove_ae_sess_next(grove_ae_sess_t *s, const uint8_t **bytes, size_t *len)
{
	grove_ae_buf_reset(&s->frame);
	int r = GROVE_AE_NEXT_NONE;
	if (s->phase == GROVE__ACTIVE && s->writable)
		r = grove__next_active(s);
	if (r == GROVE_AE_NEXT_NONE && s->phase == GROVE__ENDING) {
		grove_ae_buf_reset(&s->frame);
		if (!s->bye_needed) {
			s->phase = GROVE__CLOSED;
			return GROVE_AE_NEXT_CLOSE;
		}
		s->bye_needed = false;
		grove_ae_put_header(&s->frame, GROVE_AE_BYE, 0);
		grove_ae_put_u8(&s->frame, (uint8_t)(-s->end_code & 0xff));
		s->ctx.stats->bytes_sent[GROVE_AE_PH_CONTROL] += s->frame.len;
		r = s->frame.oom ? GROVE_AE_NEXT_NONE : GROVE_AE_NEXT_FRAME;
	}
	if (r == GROVE_AE_NEXT_FRAME) {
		s->ctx.stats->frames_sent++;
		*bytes = s->frame.data;
		*len = s->frame.len;
		if (s->phase == GROVE__ACTIVE)
			grove__add_bytes(s, s->frame.len);
	}
	return r;
}

/* ---- time and flow ---- */

uint64_t grove_ae_sess_deadline(const grove_ae_sess_t *s)
{
	uint64_t a = s->started_ms + s->ctx.cfg->session_timeout_ms;
	uint64_t b = s->last_recv_ms + s->ctx.cfg->idle_timeout_ms;
	return a < b ? a : b;
}

void grove_ae_sess_tick(grove_ae_sess_t *s, uint64_t now_ms)
{
	if (s->phase == GROVE__ACTIVE && now_ms >= grove_ae_sess_deadline(s))
		grove__end(s, GROVE_ETIMEOUT, true);
}


bool grove_ae_sess_closed(const grove_ae_sess_t *s)
{
	return s->phase == GROVE__CLOSED;
}
