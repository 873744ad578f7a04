/*
 * member_int.h - internals shared by the files of the membership core:
 * member.c (table, events, output queue, queries), update.c (how updates
 * change the table: SWIM rules, Lifeguard suspicion, refutation), probe.c
 * (failure detection, datagrams, timers) and stream.c (push-pull, join,
 * reconnect, leave, persistence); broadcast.c (the update queue) and
 * codec.c (the wire format) have their own headers.  Not a public
 * interface.
 */
#ifndef GROVE_MEMBER_INT_H
#define GROVE_MEMBER_INT_H

#include "gossip/member/broadcast.h"
#include "gossip/member/member.h"
#include "gossip/member/codec.h"

#define GROVE__CONFIRM_MAX 8 /* distinct accusers remembered per suspicion */

/* The incarnation after inc, saturating: an accusation at UINT64_MAX (from a
 * hostile member or a corrupt state file) must not wrap ours back to 0,
 * where every peer would ignore our alive updates. */
static inline uint64_t grove_member__incarnation_after(uint64_t inc)
{
	return inc == UINT64_MAX ? inc : inc + 1;
}

typedef struct grove_member__node {
	char id[GROVE_MEMBER_ID_MAX + 1];
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
	uint8_t key[GROVE_MEMBER_KEY_MAX];
	size_t key_len;
	uint8_t *cert; /* grove_malloc'd or NULL */
	size_t cert_len;
	uint64_t incarnation;
	grove_member_state_t state;
	uint64_t state_since_ms;
	/* Lifeguard suspicion, while state == SUSPECT */
	uint64_t suspect_start_ms;
	uint64_t suspect_deadline_ms;
	uint32_t confirm_k;     /* confirmations that shrink the timeout to min */
	uint32_t confirm_count; /* independent accusers beyond the first */
	uint64_t confirmers[GROVE__CONFIRM_MAX];
	uint64_t conflict_hash; /* last conflicting identity reported */
	uint64_t instance;      /* this start's nonce (0: not carried) */
	uint64_t started_ms;    /* and its start time */
	uint64_t prev_instance; /* the instance a restart replaced */
	uint64_t prev_incarnation;
	uint64_t dup_until_ms;  /* two live instances seen until then */
	uint64_t other_seen_ms; /* prev_instance last showed life */
	uint64_t held_live_ms;  /* this instance showed life since the other appeared */
	uint64_t told_ms;       /* both instances last told of each other */
	uint64_t notice_ms;     /* last superseded notice sent about this id */
} grove_member__node_t;

typedef struct grove_member__out {
	grove_out_kind_t kind;
	uint32_t stream_id;
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
	uint8_t *bytes;
	size_t len;
} grove_member__out_t;

typedef struct grove_member__probe {
	bool active;
	uint32_t target;
	uint32_t seq;
	uint64_t ack_deadline_ms;
	uint64_t period_end_ms;
	bool indirect_sent;
	bool acked;
	uint32_t nacks_expected;
	uint32_t nacks_got;
} grove_member__probe_t;

typedef struct grove_member__relay {
	bool used;
	uint32_t our_seq;
	uint32_t their_seq;
	char requester_addr[GROVE_MEMBER_ADDR_MAX + 1];
	char requester_id[GROVE_MEMBER_ID_MAX + 1];
	uint64_t deadline_ms;
} grove_member__relay_t;

enum { GROVE__STREAM_PUSHPULL = 0, GROVE__STREAM_PING = 1 };

typedef struct grove_member__stream {
	bool used;
	bool initiator;
	bool join;
	uint8_t kind;       /* GROVE__STREAM_PUSHPULL or _PING */
	uint32_t frames_in;
	uint32_t seq;       /* stream ping: the probe it answers */
	char target[GROVE_MEMBER_ID_MAX + 1];
	char peer[GROVE_MEMBER_ID_MAX + 1]; /* authenticated peer, "" = unbound */
	uint32_t id;
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
	uint64_t deadline_ms;
} grove_member__stream_t;

struct grove_member {
	grove_member_config_t cfg; /* id/addr/key/cert/seeds point into this struct */
	char self_id[GROVE_MEMBER_ID_MAX + 1];
	char self_addr[GROVE_MEMBER_ADDR_MAX + 1];
	char (*seeds)[GROVE_MEMBER_ADDR_MAX + 1];
	size_t seed_count;
	grove_member_peer_t *restored; /* peers from grove_member_restore */
	size_t restored_count;
	grove_rng_t rng;

	grove_member__node_t *nodes; /* nodes[0] is self */
	size_t count, cap;
	uint32_t *slots;      /* id hash index: node index + 1, 0 = empty */
	size_t slot_cap;
	uint32_t *order;      /* probe order (node indexes), reshuffled per cycle */
	size_t order_len, order_pos;
	size_t state_counts[GROVE_MEMBER_LEFT + 1]; /* members per state */
	uint64_t suspicion_next_ms; /* earliest suspicion deadline (may be early) */

	grove_broadcast_queue_t bq;
	grove_member__probe_t probe;
	grove_member__relay_t relays[GROVE_MEMBER_RELAY_MAX];
	grove_member__stream_t streams[GROVE_MEMBER_STREAMS_MAX];
	uint32_t next_seq;
	uint32_t next_stream_id;
	uint32_t awareness;

	bool started, joined, leaving;
	const char *apply_sender; /* sender of the message being applied (records about it are direct) */
	uint32_t doc_rounds;    /* gossip rounds left to spread the document */
	uint64_t dup_until_ms;  /* another instance of our id is live until */
	uint64_t dup_instance;  /* ... its nonce */
	bool dup_yield;         /* we must yield (refuse writes) */
	bool cert_superseded;   /* another instance holds a newer certificate for our id */
	uint64_t pred_instance; /* an older instance of our id seen, and */
	uint64_t pred_incarnation; /* its highest incarnation */
	char dup_addr[GROVE_MEMBER_ADDR_MAX + 1];
	uint64_t dup_told_ms;   /* superseded: last push-pull to the newer instance */
	bool stale_accusation; /* the datagram being handled accused us too late */
	uint32_t join_failures;
	uint64_t last_tick_ms;
	uint64_t next_probe_ms, next_gossip_ms, next_pushpull_ms, next_reconnect_ms;
	uint64_t next_join_ms;  /* 0 = no join pending */
	uint64_t next_unknown_ms; /* rate limit of push-pulls with unknown senders */
	uint64_t leave_done_ms;

	grove_member__out_t *outs; /* FIFO: outs[out_head .. out_head + out_count) */
	size_t out_head, out_count, out_cap;
	uint8_t *polled;    /* bytes of the last polled output, freed on next call */
	char polled_addr[GROVE_MEMBER_ADDR_MAX + 1];
	grove_member_event_t *evs;
	size_t ev_head, ev_count, ev_cap;

	uint8_t scratch[GROVE_MEMBER_FRAME_MAX]; /* encode buffer */
	grove_member_stats_t stats;
};

/* member.c */
grove_member__node_t *grove_member__self(grove_member_t *m);
int grove_member__find(const grove_member_t *m, const char *id);
int grove_member__add(grove_member_t *m, uint64_t now_ms, const char *id);
uint32_t grove_member__transmit_limit(const grove_member_t *m);
size_t grove_member__live_count(const grove_member_t *m);
void grove_member__emit(grove_member_t *m, grove_member_event_kind_t kind, const grove_member__node_t *n);
void grove_member__emit_event(grove_member_t *m, const grove_member_event_t *ev);
void grove_member__out_push(grove_member_t *m, grove_out_kind_t kind, uint32_t stream_id,
		     const char *addr, const uint8_t *bytes, size_t len);
void grove_member__set_state(grove_member_t *m, grove_member__node_t *n, grove_member_state_t state, uint64_t now_ms);
uint64_t grove_member__id_hash(const char *id);

/* update.c */
void grove_member__gossip_node(grove_member_t *m, const grove_member__node_t *n, const char *from);
/* Apply one validated update or record; from_pushpull turns dead into suspect. */
void grove_member__apply(grove_member_t *m, uint64_t now_ms, const grove_member_update_t *u, bool from_pushpull);
void grove_member__refute(grove_member_t *m, uint64_t now_ms, uint64_t accused_inc);
void grove_member__suspect_local(grove_member_t *m, uint64_t now_ms, uint32_t idx);
void grove_member__mark_dead(grove_member_t *m, uint64_t now_ms, uint32_t idx);
/* Superseded (grove_member_cert_superseded): the newer instance of our id
 * may not know that we still run (the peers refuse us, they do not tell
 * it).  Tell it ourselves: a push-pull to its address, a session
 * authenticated as our id, where it meets our record sent directly
 * (own_id_frame in stream.c) and reports us.  At most every third of the
 * hold time; called when we learn it and from the reconnect timer. */
void grove_member__tell_newer(grove_member_t *m, uint64_t now_ms);
uint64_t grove_member__suspicion_timeout(const grove_member_t *m, const grove_member__node_t *n);
void grove_member__node_to_update(const grove_member__node_t *n, grove_member_update_t *u);

/* probe.c */
void grove_member__probe_tick(grove_member_t *m, uint64_t now_ms);
void grove_member__gossip_tick(grove_member_t *m, uint64_t now_ms);
void grove_member__doc_send(grove_member_t *m, const char *addr, const char *to_id);
void grove_member__suspicion_tick(grove_member_t *m, uint64_t now_ms);
void grove_member__relay_tick(grove_member_t *m, uint64_t now_ms);
uint64_t grove_member__probe_interval(const grove_member_t *m);
void grove_member__awareness_add(grove_member_t *m, int delta);
void grove_member__ack_seq(grove_member_t *m, uint32_t seq);
void grove_member__send_msg(grove_member_t *m, const char *addr, const char *to_id, grove_member_msg_t *hdr,
		     const grove_member__node_t *about);

/* stream.c */
void grove_member__start_timers(grove_member_t *m, uint64_t now_ms);
void grove_member__stream_tick(grove_member_t *m, uint64_t now_ms);
void grove_member__join_tick(grove_member_t *m, uint64_t now_ms);
void grove_member__pushpull_tick(grove_member_t *m, uint64_t now_ms);
void grove_member__reconnect_tick(grove_member_t *m, uint64_t now_ms);
int grove_member__pushpull_start(grove_member_t *m, uint64_t now_ms, const char *addr, bool join);
void grove_member__set_joined(grove_member_t *m);
void grove_member__pushpull_unknown(grove_member_t *m, uint64_t now_ms, const char *addr);
void grove_member__stream_probe(grove_member_t *m, uint64_t now_ms, const grove_member__node_t *target, uint32_t seq,
			 uint64_t deadline_ms);

#endif
