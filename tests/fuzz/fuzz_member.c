/*
 * fuzz_member.c - libFuzzer target for the membership decoders: datagram
 * payloads and push-pull frames (gossip/member/codec.c), the persisted
 * restart state, and a plaintext membership core fed the same bytes as a
 * datagram and as a stream frame (on a stream bound to a peer id for odd
 * sizes).  Nothing may crash, assert or leak.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/assert.h"
#include "gossip/member/member.h"
#include "gossip/member/codec.h"

static grove_member_t *fuzz_core(void)
{
	static grove_member_t *m;
	if (!m) {
		grove_member_config_t cfg;
		grove_member_config_init(&cfg);
		cfg.id = "fuzz";
		cfg.addr = "fuzz:1";
		if (grove_member_create(&cfg, &m) < 0)
			return NULL;
	}
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	grove_member_msg_t msg;
	grove_member_update_t u;
	if (grove_member_msg_decode(data, size, &msg) == 0) {
		size_t off = 0;
		while (grove_member_body_next(&msg, &off, &u) == 1)
			;
	}
	grove_member_peer_t peers[GROVE_MEMBER_PERSIST_PEERS_MAX];
	uint64_t inc;
	size_t count;
	(void)grove_member_persist_decode(data, size, &inc, peers, &count);

	grove_member_t *m = fuzz_core();
	if (!m)
		return 0;
	static uint64_t now = 1;
	now += 100;
	grove_member_recv_datagram(m, now, "peer:1", data, size);
	uint32_t id;
	if (grove_member_stream_accept(m, now, "peer:1", &id) == 0) {
		/* odd sizes: a stream bound to an authenticated peer named "peer" */
		if (size % 2 == 1)
			GROVE_ASSERT(grove_member_stream_peer(m, id, "peer") == 0);
		grove_member_stream_recv(m, now, id, data, size);
		grove_member_stream_closed(m, now, id);
	}
	grove_member_tick(m, now);
	grove_out_t o;
	grove_member_event_t ev;
	while (grove_member_poll(m, &o))
		;
	while (grove_member_next_event(m, &ev))
		;
	return 0;
}
