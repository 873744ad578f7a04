/*
 * session.c - the reconciliation state machine of one anti-entropy
 * stream (design in session.h, messages in doc/antientropy.md).
 *
 * Inbound frames only record work (bits, key queues) and merge states;
 * grove_ae_sess_next turns work into at most one frame per call, cut at
 * config.frame_target_bytes, so the driver's polling pace is the
 * backpressure.  Any protocol violation, limit or timeout ends the session
 * with a BYE carrying the reason; nothing a peer sends can touch local state
 * except through grove_db_merge.
 *
 * This file holds the session's lifetime, ending, work bits, merging and
 * timers; session_recv.c the inbound frames, session_send.c the
 * outbound ones.
 */
#include "gossip/ae/session_int.h"

#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"

/* Bits of map `level`: tree nodes at levels 0..LEVELS, segments for ABSENT. */
static uint32_t width(unsigned level)
{
	return 1u << (4 * (level == GROVE__ABSENT ? GROVE__LEVELS : level));
}

static size_t session_words(unsigned level)
{
	return (width(level) + 63) / 64;
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
		words += session_words(l);
	uint64_t *bits = grove_calloc(words, sizeof(uint64_t));
	if (bits == NULL) {
		grove_free(s);
		return GROVE_ENOMEM;
	}
	for (unsigned l = 0; l < GROVE__MAPS; l++) {
		s->bits[l] = bits;
		bits += session_words(l);
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
	grove_buf_init(&s->frame, 0);
	grove_buf_init(&s->carry, 0);
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
	grove_buf_close(&s->frame);
	grove_buf_close(&s->carry);
	grove_free(s);
}

uint32_t grove_ae_sess_id(const grove_ae_sess_t *s) { return s->id; }

uint64_t grove_ae_sess_started_ms(const grove_ae_sess_t *s)
{
	return s->started_ms;
}
const char *grove_ae_sess_addr(const grove_ae_sess_t *s) { return s->addr; }
bool grove_ae_sess_writable(const grove_ae_sess_t *s) { return s->writable; }
void grove_ae_sess_set_writable(grove_ae_sess_t *s, bool w) { s->writable = w; }

/* ---- ending ---- */

static void count_error(grove_ae_stats_t *st, int code)
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
void grove_ae_sess_end(grove_ae_sess_t *s, int code, bool bye)
{
	if (s->phase != GROVE__ACTIVE)
		return;
	s->phase = GROVE__ENDING;
	s->end_code = code;
	s->bye_needed = bye;
	if (code == 0) {
		s->ctx.stats->sessions_done++;
		if (s->ctx.cfg->watch.synced)
			s->ctx.cfg->watch.synced(s->ctx.cfg->watch.ctx);
	} else {
		count_error(s->ctx.stats, code);
	}
}

bool grove_ae_sess_finish(grove_ae_sess_t *s)
{
	if (s->phase != GROVE__ACTIVE)
		return false;
	grove_ae_sess_end(s, 0, true);
	return true;
}

void grove_ae_sess_transport_closed(grove_ae_sess_t *s)
{
	grove_ae_sess_end(s, GROVE_ECLOSED, false);
	s->phase = GROVE__CLOSED;
}

void grove_ae_sess_add_bytes(grove_ae_sess_t *s, size_t n)
{
	s->bytes += n;
	if (s->bytes > s->ctx.cfg->session_bytes_max)
		grove_ae_sess_end(s, GROVE_ETOOBIG, true);
}

/* ---- work bits ---- */

void grove_ae_sess_set_bit(grove_ae_sess_t *s, unsigned level, uint32_t index)
{
	GROVE_ASSERT(level < GROVE__MAPS && index < width(level));
	uint64_t bit = 1ULL << (index % 64);
	if (s->bits[level][index / 64] & bit)
		return;
	s->bits[level][index / 64] |= bit;
	s->pending[level]++;
}

void grove_ae_sess_mark(grove_ae_sess_t *s, unsigned level, uint32_t index)
{
	GROVE_ASSERT(level <= GROVE__LEVELS);
	grove_ae_sess_set_bit(s, level, index);
}

/* The peer has nothing under node (level, index): every local segment
 * beneath it is sent as states, without descending or listing keys. */
void grove_ae_sess_mark_absent(grove_ae_sess_t *s, unsigned level, uint32_t index)
{
	uint32_t span = 1u << (4 * (GROVE__LEVELS - level));
	for (uint32_t seg = index * span; seg < (index + 1) * span; seg++)
		grove_ae_sess_set_bit(s, GROVE__ABSENT, seg);
}

/* Clears entries lo .. lo + n - 1 of map level. */
static void session_clear(grove_ae_sess_t *s, unsigned level, uint32_t lo, uint32_t n)
{
	GROVE_ASSERT(level < GROVE__MAPS && lo + n <= width(level));
	for (uint32_t i = lo; i < lo + n;) {
		uint32_t b = i % 64, k = 64 - b < lo + n - i ? 64 - b : lo + n - i;
		uint64_t m = (k == 64 ? ~0ULL : (1ULL << k) - 1) << b;
		uint64_t *w = &s->bits[level][i / 64];
		s->pending[level] -= (uint32_t)__builtin_popcountll(*w & m);
		*w &= ~m;
		i += k;
	}
}

/* A queued item under a level-1 subtree of *ctx (a mask). */
static bool session_under(void *ctx, const uint8_t *name, size_t nlen)
{
	uint32_t subtree = grove_db_item_segment(name, nlen) / (GROVE_TREE_SEGMENTS / GROVE_TREE_FANOUT);
	return *(const uint32_t *)ctx & (1u << subtree);
}

void grove_ae_sess_prune(grove_ae_sess_t *s, uint32_t equal)
{
	if (equal == 0)
		return;
	grove_ae_keyq_drop_if(&s->sendq, session_under, &equal);
	grove_ae_keyq_drop_if(&s->wantq, session_under, &equal);
	for (uint32_t i = 0; i < GROVE_TREE_FANOUT; i++) {
		if (!(equal & (1u << i)))
			continue;
		for (unsigned l = 1; l <= GROVE__LEVELS; l++) {
			uint32_t span = 1u << (4 * (l - 1));
			session_clear(s, l, i * span, span);
		}
		session_clear(s, GROVE__ABSENT, i * (GROVE_TREE_SEGMENTS / GROVE_TREE_FANOUT),
			      GROVE_TREE_SEGMENTS / GROVE_TREE_FANOUT);
	}
}

/* Takes the next marked node at level (from the cursor on, wrapping). */
uint32_t grove_ae_sess_take(grove_ae_sess_t *s, unsigned level)
{
	GROVE_ASSERT(s->pending[level] > 0);
	size_t words = session_words(level);
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

/* Counts one merge's outcome; true if it was news. */
static bool count_merge(const grove_ae_ctx_t *ctx, int rc, bool changed)
{
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

/* The frame's states go to grove_db_items_merge in runs of up to
 * GROVE__MERGE_RUN (the elements of one key in a run merge as one write). */
#define GROVE__MERGE_RUN 512

size_t grove_ae_merge_states(const grove_ae_ctx_t *ctx, const grove_ae_frame_t *f,
			     grove_db_change_fn on_news, void *arg, grove_ae_reply_fn on_reply,
			     void *rarg, int *reply_rc)
{
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, f);
	size_t state_bytes = 0;
	grove_db_item_t run[GROVE__MERGE_RUN];
	for (uint32_t i = 0; i < f->count;) {
		size_t n = 0;
		for (; n < GROVE__MERGE_RUN && i < f->count; n++, i++) {
			const uint8_t *key, *st;
			size_t klen, slen;
			grove_ae_rd_state(&rd, &key, &klen, &st, &slen);
			state_bytes += slen;
			run[n] = (grove_db_item_t){ .name = key, .nlen = klen, .state = st, .slen = slen };
		}
		grove_db_items_merge(ctx->db, run, n);
		for (size_t j = 0; j < n; j++) {
			if (count_merge(ctx, run[j].rc, run[j].changed) && on_news != NULL)
				on_news(arg, run[j].name, run[j].nlen);
			if (run[j].reply && on_reply != NULL && *reply_rc == 0)
				*reply_rc = on_reply(rarg, run[j].name, run[j].nlen);
		}
	}
	return state_bytes;
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
		grove_ae_sess_end(s, GROVE_ETIMEOUT, true);
}


bool grove_ae_sess_closed(const grove_ae_sess_t *s)
{
	return s->phase == GROVE__CLOSED;
}
