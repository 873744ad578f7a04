/*
 * member.h - SWIM membership with Lifeguard, as a sans-IO state machine.
 *
 * The core decides who is in the cluster and who is alive.  It reads no
 * clock, opens no socket and draws randomness only from its own seeded
 * grove_rng_t.  The node layer (or a test's simulated network) drives it:
 *
 *   inputs   grove_member_recv_datagram(now, from_addr, bytes)
 *            grove_member_stream_accept / _stream_recv / _stream_closed
 *            grove_member_tick(now)            at or after next_deadline
 *            grove_member_join / _leave / _restore
 *   outputs  grove_member_poll(): datagrams (addr + bytes) and stream
 *            commands (open stream N to addr, send frame on N, close N);
 *            grove_member_next_event(): joined/alive/suspect/dead/left/...;
 *            grove_member_next_deadline(): when to call tick next.
 *
 * Conventions:
 *  1. grove_member_t is opaque: grove_member_create / grove_member_destroy.
 *     Not thread-safe; the caller serializes every call.
 *  2. Addresses are opaque strings "host:port" (at most GROVE_MEMBER_ADDR_MAX
 *     bytes); the node layer resolves them.  Node ids are 1..GROVE_MEMBER_ID_MAX
 *     bytes.
 *  3. Functions return 0 or a negative code from include/grove/error.h.  Hostile
 *     input never fails a call: it is dropped and counted in the stats.
 *  4. Bytes handed out by grove_member_poll stay valid until the next call
 *     into the same grove_member_t; the core owns them.
 *  5. Wire formats (datagram payloads and push-pull frames) are defined in
 *     doc/membership.md.  Every datagram is sealed and opened through the
 *     security hooks (grove_member_security_t) when they are set.
 */
#ifndef GROVE_MEMBER_H
#define GROVE_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grove/error.h"
#include "base/rng.h"
#include "grove/value.h" /* GROVE_NODE_ID_MAX */
#include "gossip/output.h"

#define GROVE_MEMBER_ID_MAX GROVE_NODE_ID_MAX /* 63, printable ASCII */
#define GROVE_MEMBER_ADDR_MAX 128
#define GROVE_MEMBER_KEY_MAX 32        /* public key (or fingerprint) bytes */
#define GROVE_MEMBER_CERT_MAX 512      /* opaque certificate bytes */
#define GROVE_MEMBER_MAX 4096          /* members in the table, self included */
#define GROVE_MEMBER_SEEDS_MAX 64
#define GROVE_MEMBER_PAYLOAD_MAX 1200  /* datagram payload before sealing */
#define GROVE_MEMBER_FRAME_MAX 32768   /* one push-pull stream frame */
#define GROVE_MEMBER_STREAMS_MAX 32    /* push-pull streams open at once */
#define GROVE_MEMBER_OUT_MAX 4096      /* queued outputs before drops */
#define GROVE_MEMBER_EVENTS_MAX 8192   /* queued events before drops */
#define GROVE_MEMBER_INDIRECT_MAX 8    /* k, indirect probes per failed ping */
#define GROVE_MEMBER_RELAY_MAX 64      /* ping-reqs being relayed at once */
#define GROVE_MEMBER_PERSIST_PEERS_MAX 128
#define GROVE_MEMBER_ENVELOPE_KIND 1 /* envelope kind of membership datagrams */
#define GROVE_MEMBER_NOTICE_MS 5000  /* superseded notices per id, at most one per */

typedef struct grove_member grove_member_t;

typedef enum grove_member_state {
	GROVE_MEMBER_ALIVE = 1,
	GROVE_MEMBER_SUSPECT = 2,
	GROVE_MEMBER_DEAD = 3,
	GROVE_MEMBER_LEFT = 4,
} grove_member_state_t;

const char *grove_member_state_name(grove_member_state_t state);

/*
 * Security hooks.  All NULL (the default) means plaintext payloads, for
 * tests and benchmarks of the protocol alone.  gossip/secure_hooks.c binds
 * them to the envelope and peer book of gossip/secure/envelope.h.
 */
typedef struct grove_member_security {
	void *ctx;
	/* Seal payload for a datagram to to_addr (node to_id, or NULL when not
	 * known) into out (cap bytes). */
	int (*seal)(void *ctx, const char *to_addr, const char *to_id, const uint8_t *payload,
		    size_t len, uint8_t *out, size_t cap, size_t *out_len);
	/* Open a datagram: on success *payload and *payload_len give the
	 * authenticated payload (valid until the next open call) and
	 * sender_id holds the authenticated sender.  A negative result means the
	 * datagram is dropped; the core counts it and changes nothing. */
	int (*open)(void *ctx, uint64_t now_ms, const char *from_addr, const uint8_t *dgram,
		    size_t len, const uint8_t **payload, size_t *payload_len,
		    char sender_id[GROVE_MEMBER_ID_MAX + 1]);
	/* A certificate met in an alive update or a push-pull record for node
	 * id with key.  0 = valid and cached; negative = the record is dropped. */
	int (*learn_cert)(void *ctx, uint64_t now_ms, const char *id, const uint8_t *key,
			  size_t key_len, const uint8_t *cert, size_t cert_len);
	size_t overhead_bytes; /* worst-case sealed size - payload size */
	/* The cluster document (the revocation list), gossiped as it is: copy
	 * the one held into buf (cap bytes), *len = 0 when none; may be NULL. */
	int (*doc_get)(void *ctx, uint8_t *buf, size_t cap, size_t *len);
	/* One received: 1 = newer and installed (it is then spread further),
	 * 0 = not newer, negative = refused. */
	int (*doc_offer)(void *ctx, uint64_t now_ms, const uint8_t *doc, size_t len);
	/* Another instance's certificate for our own id: > 0 when it supersedes
	 * ours, < 0 when ours supersedes it, 0 when neither (or unknown); may
	 * be NULL. */
	int (*cert_order)(void *ctx, const uint8_t *cert, size_t cert_len);
	/* After open refused a datagram: true when its sender must be told
	 * (a datagram it did authenticate, under a certificate for `id` superseded by
	 * a newer one: an old process still running after a key rotation,
	 * which can open nothing sealed for the new key).  The core then
	 * answers from_addr, at most once per GROVE_MEMBER_NOTICE_MS per id,
	 * with the alive record it holds for id (the newer certificate in it
	 * is the proof), sealed by seal_refused for that datagram's
	 * certificate; not while that record is still the refused instance's
	 * own (key equal to *key, GROVE_MEMBER_KEY_MAX bytes).  Both may be
	 * NULL. */
	bool (*refused_superseded)(void *ctx, char id[GROVE_MEMBER_ID_MAX + 1], uint8_t *key);
	int (*seal_refused)(void *ctx, const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
			    size_t *out_len);
} grove_member_security_t;

typedef struct grove_member_config {
	const char *id;              /* required */
	const char *addr;            /* required: how others reach this node */
	const uint8_t *key;          /* public key; compared to detect id conflicts */
	size_t key_len;
	const uint8_t *cert;         /* own certificate, carried in alive updates */
	size_t cert_len;
	const char *const *seeds;    /* seed addresses; may be down or not started */
	size_t seed_count;
	uint64_t rng_seed;
	grove_member_security_t security;
	/* This start of the node: a random nonzero nonce drawn at each start
	 * and the start time (unix ms), carried in alive updates and records.
	 * Two live instances of one id are a duplicate (see update.c); 0 = not
	 * carried (tests of the protocol alone). */
	uint64_t instance;
	uint64_t instance_started_ms;
	uint32_t duplicate_hold_ms;      /* 90000: a duplicate counts as live
					    this long after its last sign */

	uint32_t probe_interval_ms;      /* 1000 */
	uint32_t probe_timeout_ms;       /* 500 */
	uint32_t indirect_checks;        /* 3 */
	uint32_t gossip_interval_ms;     /* 200; 0 disables extra gossip */
	uint32_t gossip_nodes;           /* 3 */
	uint32_t gossip_to_dead_ms;      /* 30000: dead members still get gossip */
	uint32_t retransmit_mult;        /* 4 */
	uint32_t suspicion_mult;         /* 4 */
	uint32_t suspicion_max_mult;     /* 6 */
	uint32_t awareness_max;          /* 8 */
	uint32_t pushpull_interval_ms;   /* 30000; 0 disables */
	uint32_t reconnect_interval_ms;  /* 10000: dead members and seeds */
	uint32_t join_backoff_ms;        /* 1000, doubled per failed attempt */
	uint32_t join_backoff_max_ms;    /* 30000 */
	uint32_t join_fanout;            /* 3 targets per join attempt */
	uint32_t stream_timeout_ms;      /* 10000 */
	uint32_t leave_wait_ms;          /* 2000 */
	uint64_t reap_ms;                /* 86400000: forget dead/left after */
	bool stream_probe;               /* true: a failed ping is also tried
					    over a stream (UDP blocked, TCP not) */
} grove_member_config_t;

/* Fills every field with its default (id, addr NULL: set them). */
void grove_member_config_init(grove_member_config_t *cfg);

/* Copies what it needs from cfg.  The node starts alone (a cluster of one);
 * call grove_member_join to contact seeds and restored peers. */
int grove_member_create(const grove_member_config_t *cfg, grove_member_t **out) GROVE_MUST_CHECK;
void grove_member_destroy(grove_member_t *m);

/* --- persistence (restart) --------------------------------------------- */

/* State to persist: own incarnation and up to GROVE_MEMBER_PERSIST_PEERS_MAX
 * known peers (id, addr).  *out is grove_malloc'd; free with grove_free.
 * The core raises GROVE_MEMBER_EV_PERSIST whenever the incarnation grows. */
int grove_member_save(const grove_member_t *m, uint8_t **out, size_t *out_len) GROVE_MUST_CHECK;
/* Before join: incarnation becomes saved+1, saved peers become join targets
 * besides the seeds.  GROVE_EDECODE on malformed bytes (nothing changed). */
int grove_member_restore(grove_member_t *m, const uint8_t *buf, size_t len) GROVE_MUST_CHECK;

/* --- driving ------------------------------------------------------------- */

/* Replace seed `index`'s address (the node re-resolves seed names and
 * hands the new address in; the next contact uses it).  GROVE_EINVAL:
 * index out of range, empty or too long addr. */
int grove_member_set_seed(grove_member_t *m, size_t index, const char *addr) GROVE_MUST_CHECK;

/* Start contacting seeds and restored peers (push-pull over streams), with
 * exponential backoff until one answers.  Without any target the node is a
 * cluster of one and is joined at once. */
int grove_member_join(grove_member_t *m, uint64_t now_ms) GROVE_MUST_CHECK;

/* Broadcast "left" and stop probing; *done_by_ms is when the node layer may
 * stop ticking (the broadcast has had time to spread).  Keep feeding inputs
 * until then. */
int grove_member_leave(grove_member_t *m, uint64_t now_ms, uint64_t *done_by_ms) GROVE_MUST_CHECK;

/* A datagram as received: opened by the security hook when set. */
void grove_member_recv_datagram(grove_member_t *m, uint64_t now_ms, const char *from_addr,
				const uint8_t *bytes, size_t len);
/* A payload whose envelope the caller opened itself: sender_id is the
 * authenticated sender, checked against the payload's sender.  (groved
 * does not use it: it hands whole datagrams to _recv_datagram, dispatched
 * on the envelope kind; the tests feed payloads this way.) */
void grove_member_recv_payload(grove_member_t *m, uint64_t now_ms, const char *from_addr,
			       const char *sender_id, const uint8_t *payload, size_t len);

/* Streams carry push-pull.  The node calls _accept for an inbound stream,
 * _recv for every complete frame (one frame = one message of the session
 * layer, at most GROVE_MEMBER_FRAME_MAX bytes), _closed when a stream fails
 * or the peer closes it.  Stream ids are assigned by the core. */
int grove_member_stream_accept(grove_member_t *m, uint64_t now_ms, const char *from_addr,
			       uint32_t *stream_id) GROVE_MUST_CHECK;
/* The stream's session (gossip/secure/channel.h) authenticated its peer as
 * peer_id: call right after the handshake, before feeding frames.  From
 * then on a frame whose sender is not peer_id ends the stream and is
 * counted in drop_sender, so one member cannot push records in another's
 * name.  Without it (plaintext tests) frames are not bound.
 * GROVE_ENOTFOUND (no such stream), GROVE_EINVAL (bad id). */
int grove_member_stream_peer(grove_member_t *m, uint32_t stream_id, const char *peer_id) GROVE_MUST_CHECK;
void grove_member_stream_recv(grove_member_t *m, uint64_t now_ms, uint32_t stream_id,
			      const uint8_t *frame, size_t len);
void grove_member_stream_closed(grove_member_t *m, uint64_t now_ms, uint32_t stream_id);

void grove_member_tick(grove_member_t *m, uint64_t now_ms);
uint64_t grove_member_next_deadline(const grove_member_t *m);

/* Outputs are the shared grove_out_t (gossip/output.h). */

/* Next output, oldest first: true if *out was filled. */
bool grove_member_poll(grove_member_t *m, grove_out_t *out);

/* --- events ---------------------------------------------------------------- */

typedef enum grove_member_event_kind {
	GROVE_MEMBER_EV_JOINED = 1, /* this node reached the cluster */
	GROVE_MEMBER_EV_JOIN,       /* a new member, alive */
	GROVE_MEMBER_EV_ALIVE,      /* a suspect, dead or left member is alive again */
	GROVE_MEMBER_EV_SUSPECT,
	GROVE_MEMBER_EV_DEAD,
	GROVE_MEMBER_EV_LEFT,
	GROVE_MEMBER_EV_UPDATE,     /* address or key of a member changed */
	GROVE_MEMBER_EV_CONFLICT,   /* two nodes present one id (addr = other one's) */
	GROVE_MEMBER_EV_PERSIST,    /* own incarnation grew: save state */
	GROVE_MEMBER_EV_REAP,       /* a dead or left member was forgotten */
	GROVE_MEMBER_EV_DUPLICATE,  /* two live instances of one id (addr = the
				       other one's; about_self: the id is ours;
				       must_yield: and this instance yields) */
} grove_member_event_kind_t;
#define GROVE_MEMBER_EV_KINDS (GROVE_MEMBER_EV_DUPLICATE + 1)

typedef struct grove_member_event {
	grove_member_event_kind_t kind;
	char id[GROVE_MEMBER_ID_MAX + 1];
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
	uint64_t incarnation;
	bool about_self;  /* DUPLICATE: the id is ours */
	bool must_yield;  /* DUPLICATE about self: this instance yields (see
			     grove_member_duplicate_self) */
	bool superseded;  /* DUPLICATE about self: because the other's
			     certificate supersedes ours */
} grove_member_event_t;

bool grove_member_next_event(grove_member_t *m, grove_member_event_t *ev);

/* --- queries ---------------------------------------------------------------- */

typedef struct grove_member_info {
	const char *id;   /* borrowed: valid until the next mutating call */
	const char *addr;
	uint64_t incarnation;
	grove_member_state_t state;
	uint64_t state_since_ms;
} grove_member_info_t;

/* Members (self included) in table order; index < grove_member_count. */
size_t grove_member_count(const grove_member_t *m);
int grove_member_get(const grove_member_t *m, size_t index, grove_member_info_t *info) GROVE_MUST_CHECK;
int grove_member_find(const grove_member_t *m, const char *id, grove_member_info_t *info) GROVE_MUST_CHECK;
size_t grove_member_count_state(const grove_member_t *m, grove_member_state_t state);
/* Up to max distinct random alive members other than self (anti-entropy
 * peers); returns how many were written. */
size_t grove_member_random_alive(grove_member_t *m, grove_member_info_t *out, size_t max);
bool grove_member_is_joined(const grove_member_t *m);
/* True while another live instance of our own id is known (its last sign
 * less than duplicate_hold_ms before now_ms).  *must_yield (may be NULL):
 * this instance is the one to give way (the node refuses writes): its
 * certificate is superseded by the other's, or, with certificates of
 * equal standing, it started after the other.  other_addr (may be NULL,
 * GROVE_MEMBER_ADDR_MAX + 1 bytes): the other one's address.  A
 * superseded certificate stays so until grove_member_set_identity loads a
 * newer one (the other nodes refuse it for good). */
bool grove_member_duplicate_self(const grove_member_t *m, uint64_t now_ms, bool *must_yield, char *other_addr);
/* True once another instance's certificate for our id was found to
 * supersede ours (told by a peer, or met directly), until
 * grove_member_set_identity loads a newer one. */
bool grove_member_cert_superseded(const grove_member_t *m);
/* Member ids (other than ours) seen with two live instances within
 * duplicate_hold_ms.  O(members). */
size_t grove_member_duplicates(const grove_member_t *m, uint64_t now_ms);

/* A new cluster document was installed locally (doc_get returns it now):
 * spread it (sent to gossip_nodes members per gossip interval for as many
 * rounds as a broadcast is retransmitted; every push-pull sends it too). */
void grove_member_doc_changed(grove_member_t *m);

/* The node's key and certificate changed (certificate reload): adopt them,
 * raise the incarnation and broadcast our alive record so every member
 * learns the new certificate.  GROVE_EINVAL when too long, GROVE_ENOMEM. */
int grove_member_set_identity(grove_member_t *m, uint64_t now_ms, const uint8_t *key, size_t key_len,
			      const uint8_t *cert, size_t cert_len) GROVE_MUST_CHECK;
uint64_t grove_member_incarnation(const grove_member_t *m);
uint32_t grove_member_awareness(const grove_member_t *m);

typedef struct grove_member_stats {
	uint64_t datagrams_in, datagrams_out, bytes_in, bytes_out;
	uint64_t drop_open;      /* security layer refused the datagram */
	uint64_t drop_decode;    /* malformed payload or frame */
	uint64_t drop_sender;    /* payload sender != authenticated sender */
	uint64_t drop_misdirected; /* ping for another node id */
	uint64_t drop_cert;      /* certificate refused: record ignored */
	uint64_t drop_full;      /* table, relay or stream table full */
	uint64_t drop_out;       /* output queue full */
	uint64_t drop_events;    /* event queue full */
	uint64_t conflicts;      /* one id, two nodes */
	uint64_t probes, probe_fails, indirect_probes, nacks_in;
	uint64_t suspicions;     /* members this node accused */
	uint64_t refutes;
	uint64_t late_ticks;     /* ticks far past their deadline (paused node) */
	uint64_t pushpull_ok, pushpull_fail;
	uint64_t stream_probes, stream_probe_acks;
	uint64_t join_attempts;
	uint64_t broadcasts_dropped;
	uint64_t notices_sent;   /* superseded notices answered to refused datagrams */
} grove_member_stats_t;

void grove_member_get_stats(const grove_member_t *m, grove_member_stats_t *stats);

#endif
