/*
 * session_send.c - the outbound half of an anti-entropy session: turns
 * recorded work into at most one frame per grove_ae_sess_next call, deepest
 * work first, cut at config.frame_target_bytes; then IDLE, BYE or close.
 */
#include "gossip/ae/session_int.h"

#include "grove/alloc.h"

static size_t entry_bytes(size_t klen, size_t slen)
{
	return grove_ae_varint_len(klen) + klen + grove_ae_varint_len(slen) + slen;
}

/* Appends the front key's state to the frame (or to carry when it does not
 * fit); pops it.  Returns 1 appended, 0 carried/skipped, negative error. */
static int add_state(grove_ae_sess_t *s, uint32_t n, size_t *state_bytes)
{
	const uint8_t *key;
	size_t klen;
	grove_ae_keyq_front(&s->sendq, &key, &klen);
	uint8_t *st = NULL;
	size_t slen = 0;
	int rc = grove_db_item_state(s->ctx.db, key, klen, &st, &slen);
	if (rc == GROVE_ENOTFOUND) {
		grove_ae_keyq_pop(&s->sendq);
		return 0;
	}
	if (rc != 0)
		return rc;
	size_t entry = entry_bytes(klen, slen);
	bool carry = n > 0 && s->frame.len + entry > s->ctx.cfg->frame_target_bytes;
	if (GROVE_AE_HDR_BYTES + 4 + entry > s->ctx.cfg->frame_bytes_max) {
		s->ctx.stats->states_oversize++;
		carry = false;
		rc = 0;
	} else {
		grove_buf_t *b = carry ? &s->carry : &s->frame;
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

static int build_states(grove_ae_sess_t *s, size_t *state_bytes)
{
	size_t at = grove_ae_put_header(&s->frame, GROVE_AE_STATES, 0);
	uint32_t n = 0;
	if (s->carry.len > 0) {
		grove_buf_append(&s->frame, s->carry.data, s->carry.len);
		*state_bytes += s->carry_state_bytes;
		grove_buf_reset(&s->carry);
		n = 1;
	}
	while (s->sendq.count > 0 && s->carry.len == 0 &&
	       s->frame.len < s->ctx.cfg->frame_target_bytes && n < GROVE_AE_ENTRIES_MAX) {
		int rc = add_state(s, n, state_bytes);
		if (rc < 0)
			return rc;
		n += (uint32_t)rc;
	}
	grove_ae_patch_u32(&s->frame, at, n);
	return n > 0;
}

/* Request units the peer still accepts (its window minus what it has not
 * credited back yet). */
static uint64_t session_send_room(const grove_ae_sess_t *s)
{
	uint64_t w = s->ctx.cfg->window_bytes;
	return s->units_out < w ? w - s->units_out : 0;
}

/* WANT frame, within the credit window: 1 built, 0 no room. */
static int build_wants(grove_ae_sess_t *s)
{
	size_t at = grove_ae_put_header(&s->frame, GROVE_AE_WANT, 0);
	uint32_t n = 0;
	const uint8_t *key;
	size_t klen;
	while (grove_ae_keyq_front(&s->wantq, &key, &klen) &&
	       klen + GROVE__KEY_UNITS <= session_send_room(s)) {
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
static void put_segment(grove_ae_sess_t *s, bool first)
{
	grove_ae_seg_t *g = &s->out_seg;
	size_t room = s->ctx.cfg->frame_target_bytes;
	size_t used = s->frame.len + 8;
	uint64_t units = GROVE__RUN_UNITS, budget = session_send_room(s);
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
		grove_buf_append(&s->frame, grove_ae_seg_digest(g, g->pos), GROVE_DIGEST_BYTES);
	}
	if (final)
		grove_ae_seg_unload(g);
}

/* KEYS frame, within frame size and credit window: 1 built, 0 no room. */
static int build_keys(grove_ae_sess_t *s)
{
	const uint64_t run_min = GROVE__RUN_UNITS + GROVE__ENTRY_UNITS_MAX;
	if (session_send_room(s) < run_min)
		return 0;
	size_t at = grove_ae_put_header(&s->frame, GROVE_AE_KEYS, 0);
	uint32_t n = 0;
	while (s->frame.len + 16 < s->ctx.cfg->frame_target_bytes && session_send_room(s) >= run_min) {
		if (!s->out_seg.loaded) {
			if (s->pending[GROVE__LEVELS] == 0)
				break;
			uint32_t seg = grove_ae_sess_take(s, GROVE__LEVELS);
			int rc = grove_ae_seg_load(&s->out_seg, s->ctx.db, seg);
			if (rc != 0)
				return rc;
		}
		put_segment(s, n == 0);
		n++;
		if (s->out_seg.loaded)
			break; /* the segment continues in the next frame */
	}
	grove_ae_patch_u32(&s->frame, at, n);
	return 1;
}

/* Appends one NODES group: parent, mask of non-empty children, digests. */
static int put_group(grove_ae_sess_t *s, unsigned level, uint32_t parent)
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
			grove_buf_append(&s->frame, d[c], GROVE_DIGEST_BYTES);
	return 0;
}

/* NODES frame: for marked nodes at `level`, their children's digests. */
static int build_nodes(grove_ae_sess_t *s, unsigned level)
{
	size_t at = grove_ae_put_header(&s->frame, GROVE_AE_NODES, (uint8_t)(level + 1));
	uint32_t n = 0;
	size_t group_max = 6 + GROVE_TREE_FANOUT * GROVE_DIGEST_BYTES;
	while (s->pending[level] > 0 &&
	       (n == 0 || s->frame.len + group_max <= s->ctx.cfg->frame_target_bytes)) {
		int rc = put_group(s, level, grove_ae_sess_take(s, level));
		if (rc != 0)
			return rc;
		n++;
	}
	grove_ae_patch_u32(&s->frame, at, n);
	return 1;
}

/* Bytes held by a key queue. */
static size_t queued_bytes(const grove_ae_keyq_t *q)
{
	return q->buf.len - q->head;
}

/* Queues keys of segments the peer lacks into sendq, up to the window in
 * bytes, one loaded segment at a time. */
static int feed_absent(grove_ae_sess_t *s)
{
	grove_ae_seg_t *g = &s->abs_seg;
	while (queued_bytes(&s->sendq) < s->ctx.cfg->window_bytes) {
		if (!g->loaded) {
			if (s->pending[GROVE__ABSENT] == 0)
				return 0;
			int rc = grove_ae_seg_load(g, s->ctx.db, grove_ae_sess_take(s, GROVE__ABSENT));
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
static int build_work(grove_ae_sess_t *s, int *phase, size_t *state_bytes)
{
	if (s->sendq.count == 0 && s->carry.len == 0) {
		int rc = feed_absent(s);
		if (rc != 0)
			return rc;
	}
	if (s->sendq.count > 0 || s->carry.len > 0) {
		*phase = GROVE_AE_PH_STATES;
		int rc = build_states(s, state_bytes);
		if (rc != 0)
			return rc;
		grove_buf_reset(&s->frame); /* every queued key had vanished */
	}
	*phase = GROVE_AE_PH_KEYS;
	int rc = s->wantq.count > 0 ? build_wants(s) : 0;
	if (rc == 0 && (s->out_seg.loaded || s->pending[GROVE__LEVELS] > 0))
		rc = build_keys(s);
	if (rc != 0)
		return rc;
	grove_buf_reset(&s->frame);
	*phase = GROVE_AE_PH_TREE;
	for (unsigned l = GROVE__LEVELS; l-- > 0;)
		if (s->pending[l] > 0)
			return build_nodes(s, l);
	return 0;
}

static bool idle(const grove_ae_sess_t *s)
{
	for (unsigned l = 0; l < GROVE__MAPS; l++)
		if (s->pending[l] > 0)
			return false;
	return s->units_in == 0 && s->sendq.count == 0 && s->wantq.count == 0 && s->carry.len == 0 &&
	       !s->out_seg.loaded && !s->in_seg.loaded && !s->abs_seg.loaded;
}

/* IDLE, or BYE once the peer's IDLE shows nothing in flight either way. */
static bool build_control(grove_ae_sess_t *s)
{
	if (s->peer_idle && s->peer_sent == s->frames_recv && s->peer_recv == s->frames_sent) {
		grove_ae_sess_end(s, 0, true);
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
static int build_credit(grove_ae_sess_t *s)
{
	size_t queued = queued_bytes(&s->sendq) + queued_bytes(&s->wantq);
	if (s->units_in == 0 || queued > s->ctx.cfg->window_bytes / 2)
		return 0;
	grove_ae_put_header(&s->frame, GROVE_AE_CREDIT, 0);
	grove_ae_put_varint(&s->frame, s->units_in);
	s->units_in = 0;
	return 1;
}

static int next_active(grove_ae_sess_t *s)
{
	int phase = GROVE_AE_PH_CONTROL;
	size_t state_bytes = 0;
	int rc = build_credit(s);
	if (rc == 0)
		rc = build_work(s, &phase, &state_bytes);
	if (rc == 0 && !s->frame.failed) {
		grove_buf_reset(&s->frame);
		if (!idle(s) || !build_control(s))
			return GROVE_AE_NEXT_NONE;
		phase = GROVE_AE_PH_CONTROL;
	} else if (rc > 0) {
		s->frames_sent++;
		s->idle_sent = false;
	}
	if (rc < 0 || s->frame.failed) {
		grove_ae_sess_end(s, rc < 0 ? rc : GROVE_ENOMEM, true);
		return GROVE_AE_NEXT_NONE;
	}
	s->ctx.stats->bytes_sent[phase] += s->frame.len - state_bytes;
	return GROVE_AE_NEXT_FRAME;
}

int grove_ae_sess_next(grove_ae_sess_t *s, const uint8_t **bytes, size_t *len)
{
	grove_buf_reset(&s->frame);
	int r = GROVE_AE_NEXT_NONE;
	if (s->phase == GROVE__ACTIVE && s->writable)
		r = next_active(s);
	if (r == GROVE_AE_NEXT_NONE && s->phase == GROVE__ENDING) {
		grove_buf_reset(&s->frame);
		if (!s->bye_needed) {
			s->phase = GROVE__CLOSED;
			return GROVE_AE_NEXT_CLOSE;
		}
		s->bye_needed = false;
		grove_ae_put_header(&s->frame, GROVE_AE_BYE, 0);
		grove_ae_put_u8(&s->frame, (uint8_t)(-s->end_code & 0xff));
		s->ctx.stats->bytes_sent[GROVE_AE_PH_CONTROL] += s->frame.len;
		r = s->frame.failed ? GROVE_AE_NEXT_NONE : GROVE_AE_NEXT_FRAME;
	}
	if (r == GROVE_AE_NEXT_FRAME) {
		s->ctx.stats->frames_sent++;
		*bytes = s->frame.data;
		*len = s->frame.len;
		if (s->phase == GROVE__ACTIVE)
			grove_ae_sess_add_bytes(s, s->frame.len);
	}
	return r;
}
