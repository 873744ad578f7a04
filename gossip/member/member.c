/*
 * member.c - the membership core's lifecycle, member table, output and
 * event queues, queries and the tick dispatcher.
 *
 * The table is an array of grove_member__node_t (index 0 is this node) with an
 * open-addressing hash index on the node id, so every update costs O(1)
 * expected.  Members are never removed except by reaping long-dead ones,
 * which rebuilds the index and the probe order.  Outputs and events are
 * FIFO arrays that grow up to GROVE_MEMBER_OUT_MAX / GROVE_MEMBER_EVENTS_MAX;
 * past that they are dropped and counted.  Protocol logic lives in
 * update.c, probe.c and stream.c.
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/buf.h"
#include "gossip/member/member_int.h"

#define FIFO_MIN 16 /* items of a FIFO's first allocation */

const char *grove_member_state_name(grove_member_state_t state)
{
	switch (state) {
	case GROVE_MEMBER_ALIVE: return "alive";
	case GROVE_MEMBER_SUSPECT: return "suspect";
	case GROVE_MEMBER_DEAD: return "dead";
	case GROVE_MEMBER_LEFT: return "left";
	}
	return "unknown";
}

void grove_member_config_init(grove_member_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->probe_interval_ms = 1000;
	cfg->probe_timeout_ms = 500;
	cfg->indirect_checks = 3;
	cfg->gossip_interval_ms = 200;
	cfg->gossip_nodes = 3;
	cfg->gossip_to_dead_ms = 30000;
	cfg->retransmit_mult = 4;
	cfg->suspicion_mult = 4;
	cfg->suspicion_max_mult = 6;
	cfg->awareness_max = 8;
	cfg->pushpull_interval_ms = 30000;
	cfg->reconnect_interval_ms = 10000;
	cfg->join_backoff_ms = 1000;
	cfg->join_backoff_max_ms = 30000;
	cfg->join_fanout = 3;
	cfg->stream_timeout_ms = 10000;
	cfg->leave_wait_ms = 2000;
	cfg->reap_ms = 86400000ULL;
	cfg->duplicate_hold_ms = 90000;
	cfg->stream_probe = true;
}

uint64_t grove_member__id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

grove_member__node_t *grove_member__self(grove_member_t *m)
{
	return &m->nodes[0];
}

/* --- id index -------------------------------------------------------------- */

int grove_member__find(const grove_member_t *m, const char *id)
{
	size_t mask = m->slot_cap - 1;
	for (size_t i = grove_member__id_hash(id) & mask, probes = 0; probes < m->slot_cap; i = (i + 1) & mask, probes++) {
		uint32_t s = m->slots[i];
		if (s == 0)
			return -1;
		if (strcmp(m->nodes[s - 1].id, id) == 0)
			return (int)(s - 1);
	}
	return -1;
}

static void index_insert(grove_member_t *m, uint32_t idx)
{
	size_t mask = m->slot_cap - 1;
	size_t i = grove_member__id_hash(m->nodes[idx].id) & mask;
	while (m->slots[i])
		i = (i + 1) & mask;
	m->slots[i] = idx + 1;
}

/* Index and probe order sized for cap members; both rebuilt. */
static int index_resize(grove_member_t *m, size_t cap)
{
	size_t slot_cap = 16;
	while (slot_cap < cap * 2)
		slot_cap *= 2;
	uint32_t *slots = grove_calloc(slot_cap, sizeof(*slots));
	uint32_t *order = grove_realloc(m->order, cap * sizeof(*order));
	if (!slots || !order) {
		grove_free(slots);
		if (order)
			m->order = order;
		return GROVE_ENOMEM;
	}
	grove_free(m->slots);
	m->slots = slots;
	m->slot_cap = slot_cap;
	m->order = order;
	for (size_t i = 0; i < m->count; i++)
		index_insert(m, (uint32_t)i);
	return 0;
}

static int member_reserve(grove_member_t *m)
{
	if (m->count < m->cap)
		return 0;
	size_t cap = m->cap; /* m->cap changes only once the index is resized too */
	int rc = grove_grow((void **)&m->nodes, &cap, m->count + 1, sizeof(*m->nodes), 0,
			    GROVE_MEMBER_MAX);
	if (rc < 0)
		return rc;
	if (index_resize(m, cap) < 0)
		return GROVE_ENOMEM;
	m->cap = cap;
	return 0;
}

/* Adds an alive member at a random place of the rest of this probe cycle.
 * Returns its index or a negative code. */
int grove_member__add(grove_member_t *m, uint64_t now_ms, const char *id)
{
	if (member_reserve(m) < 0)
		return GROVE_EFULL;
	uint32_t idx = (uint32_t)m->count++;
	grove_member__node_t *n = &m->nodes[idx];
	memset(n, 0, sizeof(*n));
	strcpy(n->id, id);
	n->state = GROVE_MEMBER_ALIVE;
	n->state_since_ms = now_ms;
	m->state_counts[GROVE_MEMBER_ALIVE]++;
	index_insert(m, idx);
	size_t lo = m->order_pos, span = m->order_len - lo + 1;
	size_t at = lo + (size_t)grove_rng_below(&m->rng, span);
	m->order[m->order_len++] = idx;
	uint32_t t = m->order[at];
	m->order[at] = idx;
	m->order[m->order_len - 1] = t;
	return (int)idx;
}

void grove_member__set_state(grove_member_t *m, grove_member__node_t *n, grove_member_state_t state, uint64_t now_ms)
{
	m->state_counts[n->state]--;
	m->state_counts[state]++;
	n->state = state;
	n->state_since_ms = now_ms;
}

size_t grove_member__live_count(const grove_member_t *m)
{
	return m->state_counts[GROVE_MEMBER_ALIVE] + m->state_counts[GROVE_MEMBER_SUSPECT];
}

uint32_t grove_member__transmit_limit(const grove_member_t *m)
{
	return grove_broadcast_limit(m->cfg.retransmit_mult, grove_member__live_count(m));
}

/* --- lifecycle ------------------------------------------------------------- */

static int copy_config(grove_member_t *m, const grove_member_config_t *cfg)
{
	if (!cfg->id || !cfg->addr || !*cfg->id || !*cfg->addr || strlen(cfg->id) > GROVE_MEMBER_ID_MAX ||
	    strlen(cfg->addr) > GROVE_MEMBER_ADDR_MAX || cfg->key_len > GROVE_MEMBER_KEY_MAX ||
	    cfg->cert_len > GROVE_MEMBER_CERT_MAX || cfg->seed_count > GROVE_MEMBER_SEEDS_MAX ||
	    cfg->probe_interval_ms == 0 || cfg->probe_timeout_ms == 0 ||
	    cfg->probe_timeout_ms >= cfg->probe_interval_ms ||
	    cfg->indirect_checks > GROVE_MEMBER_INDIRECT_MAX || cfg->awareness_max == 0 ||
	    cfg->suspicion_mult == 0 || cfg->suspicion_max_mult == 0 || cfg->join_backoff_ms == 0 ||
	    cfg->reconnect_interval_ms == 0 || cfg->stream_timeout_ms == 0)
		return GROVE_EINVAL;
	m->cfg = *cfg;
	strcpy(m->self_id, cfg->id);
	strcpy(m->self_addr, cfg->addr);
	m->cfg.id = m->self_id;
	m->cfg.addr = m->self_addr;
	m->cfg.seeds = NULL;
	m->seeds = grove_calloc(cfg->seed_count, sizeof(*m->seeds));
	if (!m->seeds)
		return GROVE_ENOMEM;
	for (size_t i = 0; i < cfg->seed_count; i++) {
		if (!cfg->seeds[i] || !*cfg->seeds[i] || strlen(cfg->seeds[i]) > GROVE_MEMBER_ADDR_MAX)
			return GROVE_EINVAL;
		strcpy(m->seeds[i], cfg->seeds[i]);
	}
	m->seed_count = cfg->seed_count;
	return 0;
}

int grove_member_set_seed(grove_member_t *m, size_t index, const char *addr)
{
	if (index >= m->seed_count || !addr || !*addr || strlen(addr) > GROVE_MEMBER_ADDR_MAX)
		return GROVE_EINVAL;
	strcpy(m->seeds[index], addr);
	return 0;
}

static int init_self(grove_member_t *m)
{
	m->cap = 16;
	m->nodes = grove_calloc(m->cap, sizeof(*m->nodes));
	if (!m->nodes || index_resize(m, m->cap) < 0)
		return GROVE_ENOMEM;
	m->count = 1;
	grove_member__node_t *self = &m->nodes[0];
	strcpy(self->id, m->self_id);
	strcpy(self->addr, m->self_addr);
	if (m->cfg.key_len)
		memcpy(self->key, m->cfg.key, m->cfg.key_len);
	self->key_len = m->cfg.key_len;
	if (m->cfg.cert_len) {
		self->cert = grove_malloc(m->cfg.cert_len);
		if (!self->cert)
			return GROVE_ENOMEM;
		memcpy(self->cert, m->cfg.cert, m->cfg.cert_len);
		self->cert_len = m->cfg.cert_len;
	}
	self->instance = m->cfg.instance;
	self->started_ms = m->cfg.instance_started_ms;
	self->state = GROVE_MEMBER_ALIVE;
	m->state_counts[GROVE_MEMBER_ALIVE] = 1;
	index_insert(m, 0);
	m->cfg.key = self->key;
	m->cfg.cert = self->cert;
	return 0;
}

int grove_member_create(const grove_member_config_t *cfg, grove_member_t **out)
{
	grove_member_t *m = grove_calloc(1, sizeof(*m));
	if (!m)
		return GROVE_ENOMEM;
	int rc = copy_config(m, cfg);
	if (rc == 0)
		rc = init_self(m);
	if (rc < 0) {
		grove_member_destroy(m);
		return rc;
	}
	grove_rng_seed(&m->rng, cfg->rng_seed);
	grove_broadcast_init(&m->bq);
	m->next_seq = (uint32_t)grove_rng_next(&m->rng);
	m->next_stream_id = 1;
	*out = m;
	return 0;
}

void grove_member_destroy(grove_member_t *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->count; i++)
		grove_free(m->nodes[i].cert);
	for (size_t i = 0; i < m->out_count; i++)
		grove_free(m->outs[m->out_head + i].bytes);
	grove_broadcast_close(&m->bq);
	grove_free(m->polled);
	grove_free(m->outs);
	grove_free(m->evs);
	grove_free(m->nodes);
	grove_free(m->slots);
	grove_free(m->order);
	grove_free(m->seeds);
	grove_free(m->restored);
	grove_free(m);
}

/* --- output and event FIFOs ------------------------------------------------ */

/* Makes room for one more item at the tail of a FIFO array; false = full. */
static bool fifo_room(void **items, size_t item_size, size_t *head, size_t count, size_t *cap,
			     size_t max)
{
	if (*head + count < *cap)
		return true;
	if (*head > 0) {
		memmove(*items, (char *)*items + *head * item_size, count * item_size);
		*head = 0;
		if (count < *cap)
			return true;
	}
	return grove_grow(items, cap, count + 1, item_size, FIFO_MIN, max) == 0;
}

void grove_member__out_push(grove_member_t *m, grove_out_kind_t kind, uint32_t stream_id, const char *addr,
		     const uint8_t *bytes, size_t len)
{
	uint8_t *copy = NULL;
	if (len) {
		copy = grove_malloc(len);
		if (!copy) {
			m->stats.drop_out++;
			return;
		}
		memcpy(copy, bytes, len);
	}
	if (!fifo_room((void **)&m->outs, sizeof(*m->outs), &m->out_head, m->out_count, &m->out_cap,
			      GROVE_MEMBER_OUT_MAX)) {
		grove_free(copy);
		m->stats.drop_out++;
		return;
	}
	grove_member__out_t *o = &m->outs[m->out_head + m->out_count++];
	o->kind = kind;
	o->stream_id = stream_id;
	o->addr[0] = '\0';
	if (addr)
		strcpy(o->addr, addr);
	o->bytes = copy;
	o->len = len;
	if (kind == GROVE_OUT_DATAGRAM) {
		m->stats.datagrams_out++;
		m->stats.bytes_out += len;
	}
}

bool grove_member_poll(grove_member_t *m, grove_out_t *out)
{
	grove_free(m->polled);
	m->polled = NULL;
	if (m->out_count == 0)
		return false;
	grove_member__out_t *o = &m->outs[m->out_head++];
	m->out_count--;
	if (m->out_count == 0)
		m->out_head = 0;
	m->polled = o->bytes;
	strcpy(m->polled_addr, o->addr);
	out->kind = o->kind;
	out->stream_id = o->stream_id;
	out->addr = m->polled_addr;
	out->bytes = o->bytes;
	out->len = o->len;
	return true;
}

void grove_member__emit_event(grove_member_t *m, const grove_member_event_t *ev)
{
	if (!fifo_room((void **)&m->evs, sizeof(*m->evs), &m->ev_head, m->ev_count, &m->ev_cap,
			      GROVE_MEMBER_EVENTS_MAX)) {
		m->stats.drop_events++;
		return;
	}
	m->evs[m->ev_head + m->ev_count++] = *ev;
}

void grove_member__emit(grove_member_t *m, grove_member_event_kind_t kind, const grove_member__node_t *n)
{
	grove_member_event_t e;
	memset(&e, 0, sizeof(e));
	e.kind = kind;
	strcpy(e.id, n->id);
	strcpy(e.addr, n->addr);
	e.incarnation = n->incarnation;
	grove_member__emit_event(m, &e);
}

bool grove_member_next_event(grove_member_t *m, grove_member_event_t *ev)
{
	if (m->ev_count == 0)
		return false;
	*ev = m->evs[m->ev_head++];
	if (--m->ev_count == 0)
		m->ev_head = 0;
	return true;
}

/* --- reaping ----------------------------------------------------------------- */

/* Forgets dead and left members older than reap_ms; rebuilds index and
 * probe order when any went.  O(n). */
static void reap(grove_member_t *m, uint64_t now_ms)
{
	size_t w = 1;
	for (size_t r = 1; r < m->count; r++) {
		grove_member__node_t *n = &m->nodes[r];
		bool gone = (n->state == GROVE_MEMBER_DEAD || n->state == GROVE_MEMBER_LEFT) &&
			    now_ms - n->state_since_ms >= m->cfg.reap_ms;
		if (gone) {
			grove_member__emit(m, GROVE_MEMBER_EV_REAP, n);
			m->state_counts[n->state]--;
			grove_free(n->cert);
			continue;
		}
		if (w != r)
			m->nodes[w] = *n;
		w++;
	}
	if (w == m->count)
		return;
	m->count = w;
	memset(m->slots, 0, m->slot_cap * sizeof(*m->slots));
	for (size_t i = 0; i < m->count; i++)
		index_insert(m, (uint32_t)i);
	m->order_len = 0;
	m->order_pos = 0;
	for (size_t i = 1; i < m->count; i++)
		m->order[m->order_len++] = (uint32_t)i;
	m->probe.active = false;
}

/* --- ticks and deadlines ------------------------------------------------------ */

/* A tick far past the deadline means this node was paused or starved: its
 * own timers say nothing about the others, so pending suspicions restart
 * and the probe in flight is dropped instead of accusing its target. */
static void late_tick(grove_member_t *m, uint64_t now_ms)
{
	uint64_t due = grove_member_next_deadline(m);
	if (m->last_tick_ms == 0 || now_ms <= due || now_ms - due < 2ULL * m->cfg.probe_interval_ms)
		return;
	m->stats.late_ticks++;
	uint64_t gap = now_ms - due;
	for (size_t i = 1; i < m->count; i++)
		if (m->nodes[i].state == GROVE_MEMBER_SUSPECT) {
			m->nodes[i].suspect_start_ms += gap;
			m->nodes[i].suspect_deadline_ms += gap;
		}
	m->suspicion_next_ms += gap;
	m->probe.active = false;
	m->next_probe_ms = now_ms;
	grove_member__awareness_add(m, 1);
}

void grove_member_tick(grove_member_t *m, uint64_t now_ms)
{
	grove_member__start_timers(m, now_ms);
	late_tick(m, now_ms);
	m->last_tick_ms = now_ms;
	grove_member__stream_tick(m, now_ms);
	grove_member__relay_tick(m, now_ms);
	grove_member__suspicion_tick(m, now_ms);
	grove_member__probe_tick(m, now_ms);
	grove_member__gossip_tick(m, now_ms);
	grove_member__join_tick(m, now_ms);
	grove_member__pushpull_tick(m, now_ms);
	if (now_ms >= m->next_reconnect_ms) {
		reap(m, now_ms);
		grove_member__reconnect_tick(m, now_ms);
	}
}

static uint64_t member_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t grove_member_next_deadline(const grove_member_t *m)
{
	uint64_t d = member_min(m->next_probe_ms, m->next_reconnect_ms);
	if (m->cfg.gossip_interval_ms)
		d = member_min(d, m->next_gossip_ms);
	if (m->cfg.pushpull_interval_ms)
		d = member_min(d, m->next_pushpull_ms);
	if (m->next_join_ms)
		d = member_min(d, m->next_join_ms);
	if (m->probe.active)
		d = member_min(d, m->probe.indirect_sent ? m->probe.period_end_ms : m->probe.ack_deadline_ms);
	if (m->state_counts[GROVE_MEMBER_SUSPECT])
		d = member_min(d, m->suspicion_next_ms);
	for (size_t i = 0; i < GROVE_MEMBER_RELAY_MAX; i++)
		if (m->relays[i].used)
			d = member_min(d, m->relays[i].deadline_ms);
	for (size_t i = 0; i < GROVE_MEMBER_STREAMS_MAX; i++)
		if (m->streams[i].used)
			d = member_min(d, m->streams[i].deadline_ms);
	return d;
}

/* --- queries ---------------------------------------------------------------- */

static void member_info(const grove_member__node_t *n, grove_member_info_t *info)
{
	info->id = n->id;
	info->addr = n->addr;
	info->incarnation = n->incarnation;
	info->state = n->state;
	info->state_since_ms = n->state_since_ms;
}

size_t grove_member_count(const grove_member_t *m)
{
	return m->count;
}

int grove_member_get(const grove_member_t *m, size_t index, grove_member_info_t *info)
{
	if (index >= m->count)
		return GROVE_ERANGE;
	member_info(&m->nodes[index], info);
	return 0;
}

int grove_member_find(const grove_member_t *m, const char *id, grove_member_info_t *info)
{
	int i = grove_member__find(m, id);
	if (i < 0)
		return GROVE_ENOTFOUND;
	member_info(&m->nodes[i], info);
	return 0;
}

size_t grove_member_count_state(const grove_member_t *m, grove_member_state_t state)
{
	return state >= GROVE_MEMBER_ALIVE && state <= GROVE_MEMBER_LEFT ? m->state_counts[state] : 0;
}

/* Partial Fisher-Yates over a scratch index list: O(n). */
size_t grove_member_random_alive(grove_member_t *m, grove_member_info_t *out, size_t max)
{
	size_t n = 0, got = 0;
	uint32_t *idx = grove_malloc(m->count * sizeof(*idx));
	if (!idx)
		return 0;
	for (size_t i = 1; i < m->count; i++)
		if (m->nodes[i].state == GROVE_MEMBER_ALIVE)
			idx[n++] = (uint32_t)i;
	for (; got < max && got < n; got++) {
		size_t j = got + (size_t)grove_rng_below(&m->rng, n - got);
		uint32_t t = idx[got];
		idx[got] = idx[j];
		idx[j] = t;
		member_info(&m->nodes[idx[got]], &out[got]);
	}
	grove_free(idx);
	return got;
}

bool grove_member_is_joined(const grove_member_t *m)
{
	return m->joined;
}

uint64_t grove_member_incarnation(const grove_member_t *m)
{
	return m->nodes[0].incarnation;
}

uint32_t grove_member_awareness(const grove_member_t *m)
{
	return m->awareness;
}

void grove_member_get_stats(const grove_member_t *m, grove_member_stats_t *stats)
{
	*stats = m->stats;
	stats->broadcasts_dropped += m->bq.dropped;
}
