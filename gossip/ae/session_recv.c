/*
 * session_recv.c - the inbound half of an anti-entropy session: decodes
 * each frame and records the work it implies (bits, key queues, credit) or
 * merges the states it carries; a protocol violation ends the session.
 */
#include "gossip/ae/session_int.h"

#include <string.h>

/* Compares the peer's children of one parent with ours; marks the ones
 * that differ (empty on one side only, or both non-empty with other digests). */
static int on_group(grove_ae_sess_t *s, unsigned level, uint32_t parent, uint16_t mask,
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
			grove_ae_sess_mark_absent(s, level, index);
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

static int on_nodes(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, f);
	for (uint32_t i = 0; i < f->count; i++) {
		uint32_t parent;
		uint16_t mask;
		const uint8_t *theirs;
		grove_ae_rd_group(&rd, &parent, &mask, &theirs);
		int rc = on_group(s, f->level, parent, mask, theirs);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Counts request units received.  A peer beyond the window ignored our
 * credit. */
static int take_units(grove_ae_sess_t *s, uint64_t units)
{
	s->units_in += units;
	return s->units_in > s->ctx.cfg->window_bytes ? GROVE_EPROTO : 0;
}

/* Compares one peer (key, digest) with the loaded local segment. */
static int on_keydig(grove_ae_sess_t *s, const uint8_t *key, size_t klen,
			    const uint8_t *digest)
{
	if (grove_db_item_segment(key, klen) != s->in_seg.segment) {
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
static int finish_segment(grove_ae_sess_t *s)
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

static int on_keys(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, f);
	for (uint32_t i = 0; i < f->count; i++) {
		uint32_t seg, nkeys;
		bool final;
		grove_ae_rd_segment(&rd, &seg, &final, &nkeys);
		if (s->in_seg.loaded && s->in_seg.segment != seg)
			return GROVE_EPROTO; /* a segment list was left unfinished */
		int rc = take_units(s, GROVE__RUN_UNITS);
		if (rc == 0 && !s->in_seg.loaded)
			rc = grove_ae_seg_load(&s->in_seg, s->ctx.db, seg);
		for (uint32_t k = 0; k < nkeys && rc == 0; k++) {
			const uint8_t *key, *dig;
			size_t klen;
			grove_ae_rd_keydig(&rd, &key, &klen, &dig);
			rc = take_units(s, klen + GROVE__KEY_UNITS);
			if (rc == 0)
				rc = on_keydig(s, key, klen, dig);
		}
		if (rc == 0 && final)
			rc = finish_segment(s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int on_want(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, f);
	for (uint32_t i = 0; i < f->count; i++) {
		const uint8_t *key;
		size_t klen;
		grove_ae_rd_key(&rd, &key, &klen);
		int rc = take_units(s, klen + GROVE__KEY_UNITS);
		if (rc == 0)
			rc = grove_ae_keyq_push(&s->sendq, key, klen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int on_credit(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	if (f->units > s->units_out)
		return GROVE_EPROTO; /* credit for requests never sent */
	s->units_out -= f->units;
	return 0;
}

/* An element the peer holds in a state we have merged past (it missed a
 * removal): send ours back. */
static int queue_reply(void *ctx, const uint8_t *name, size_t nlen)
{
	grove_ae_sess_t *s = ctx;
	return grove_ae_keyq_push(&s->sendq, name, nlen);
}

/* Merges every state; returns the bytes of state carried (for stats). */
static size_t on_states(grove_ae_sess_t *s, const grove_ae_frame_t *f, int *rc)
{
	size_t state_bytes = grove_ae_merge_states(&s->ctx, f, NULL, NULL, queue_reply, s, rc);
	s->ctx.stats->keys_received += f->count;
	s->ctx.stats->state_bytes_received += state_bytes;
	return state_bytes;
}

static void on_control(grove_ae_sess_t *s, const grove_ae_frame_t *f)
{
	if (f->type == GROVE_AE_IDLE) {
		s->peer_idle = true;
		s->peer_sent = f->sent;
		s->peer_recv = f->received;
	} else if (f->reason == 0) {
		grove_ae_sess_end(s, 0, false); /* the peer saw both ends idle */
	} else {
		grove_ae_sess_end(s, GROVE_ECLOSED, false);
	}
}

static int dispatch(grove_ae_sess_t *s, const grove_ae_frame_t *f, size_t len)
{
	grove_ae_stats_t *st = s->ctx.stats;
	int rc = 0;
	switch (f->type) {
	case GROVE_AE_NODES:
		st->bytes_received[GROVE_AE_PH_TREE] += len;
		rc = on_nodes(s, f);
		break;
	case GROVE_AE_KEYS:
	case GROVE_AE_WANT:
		st->bytes_received[GROVE_AE_PH_KEYS] += len;
		rc = f->type == GROVE_AE_KEYS ? on_keys(s, f) : on_want(s, f);
		break;
	case GROVE_AE_STATES:
		st->bytes_received[GROVE_AE_PH_STATES] += len - on_states(s, f, &rc);
		break;
	case GROVE_AE_CREDIT:
		st->bytes_received[GROVE_AE_PH_CONTROL] += len;
		rc = on_credit(s, f);
		break;
	case GROVE_AE_IDLE:
	case GROVE_AE_BYE:
		st->bytes_received[GROVE_AE_PH_CONTROL] += len;
		on_control(s, f);
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
	grove_ae_sess_add_bytes(s, len);
	grove_ae_frame_t f;
	int rc = grove_ae_frame_decode(frame, len, s->ctx.cfg->frame_bytes_max, &f);
	if (rc == 0)
		rc = dispatch(s, &f, len);
	if (rc != 0)
		grove_ae_sess_end(s, rc, true);
}
