/*
 * session_int.h - internals shared by the files of one anti-entropy
 * session: session.c (lifetime, ending, work bits, merging, time),
 * session_recv.c (inbound frames) and session_send.c (outbound
 * frames).  Not a public interface.
 */
#ifndef GROVE_AE_SESSION_INT_H
#define GROVE_AE_SESSION_INT_H

#include "gossip/ae/session.h"

#define GROVE__LEVELS GROVE_TREE_LEVELS
#define GROVE__ABSENT (GROVE__LEVELS + 1) /* bitmap of segments the peer lacks */
#define GROVE__MAPS (GROVE__LEVELS + 2)
/* Credit units: request bytes counted as GROVE__RUN_UNITS per KEYS run
 * and key length + GROVE__KEY_UNITS per listed or wanted key. */
#define GROVE__RUN_UNITS 8u
#define GROVE__KEY_UNITS GROVE_DIGEST_BYTES
#define GROVE__ENTRY_UNITS_MAX (GROVE_ITEM_NAME_MAX + GROVE__KEY_UNITS)
_Static_assert(GROVE_AE_WINDOW_BYTES_MIN >= 2 * (GROVE__RUN_UNITS + GROVE__ENTRY_UNITS_MAX),
	       "the smallest window holds a run with the largest key, twice");

enum grove_ae__phase { GROVE__ACTIVE = 0, GROVE__ENDING, GROVE__CLOSED };

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
	grove_buf_t frame;   /* frame built by next(), borrowed by the driver */
	grove_buf_t carry;   /* a STATES entry that did not fit the last frame */
	size_t carry_state_bytes;
	uint64_t units_out;     /* request bytes sent, not yet credited back */
	uint64_t units_in;      /* request bytes received, not yet credited */
	uint64_t frames_sent, frames_recv; /* IDLE and BYE not counted */
	bool idle_sent;
	bool peer_idle;
	uint64_t peer_sent, peer_recv;
};

/* Ends an active session: code 0 = reconciled.  bye: send BYE first. */
void grove_ae_sess_end(grove_ae_sess_t *s, int code, bool bye);
/* Counts n bytes in or out; past config.session_bytes_max, ends the session. */
void grove_ae_sess_add_bytes(grove_ae_sess_t *s, size_t n);
/* Marks entry index of map level as work to do. */
void grove_ae_sess_set_bit(grove_ae_sess_t *s, unsigned level, uint32_t index);
/* The peer has nothing under node (level, index): marks every segment below. */
void grove_ae_sess_mark_absent(grove_ae_sess_t *s, unsigned level, uint32_t index);
/* Takes the next marked entry of map level (one must be pending). */
uint32_t grove_ae_sess_take(grove_ae_sess_t *s, unsigned level);

#endif
