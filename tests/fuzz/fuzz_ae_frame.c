/*
 * fuzz_ae_frame.c - libFuzzer target for the anti-entropy frame decoder
 * (gossip/ae/codec.h) and the session state machine behind it.
 *
 * 1. The whole input is decoded with the stream limit; an accepted frame is
 *    walked entry by entry to its exact end, which must land on the end of
 *    the body (the iterators cannot overrun what validation accepted).
 * 2. The input, split into frames (a length byte before each), is fed to a
 *    session of a node holding a few keys, its outputs drained after each
 *    frame; the node must never crash or assert, whatever the frames.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "gossip/ae/codec.h"
#include "gossip/ae/antientropy.h"

static void fuzz_ae_frame_walk(const grove_ae_frame_t *f)
{
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, f);
	const uint8_t *k, *d;
	size_t klen, dlen;
	for (uint32_t i = 0; i < f->count; i++) {
		switch (f->type) {
		case GROVE_AE_NODES: {
			uint32_t parent;
			uint16_t mask;
			grove_ae_rd_group(&rd, &parent, &mask, &d);
			break;
		}
		case GROVE_AE_KEYS: {
			uint32_t seg, n;
			bool fin;
			grove_ae_rd_segment(&rd, &seg, &fin, &n);
			for (uint32_t j = 0; j < n; j++)
				grove_ae_rd_keydig(&rd, &k, &klen, &d);
			break;
		}
		case GROVE_AE_WANT:
			grove_ae_rd_key(&rd, &k, &klen);
			break;
		case GROVE_AE_STATES:
		case GROVE_AE_PUSH:
			grove_ae_rd_state(&rd, &k, &klen, &d, &dlen);
			break;
		default:
			return;
		}
	}
	if (rd.p != rd.end)
		abort();
}

static uint64_t fuzz_ae_frame_clock(void *ctx)
{
	(void)ctx;
	return 1700000000000ULL;
}

static size_t no_peers(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	(void)ctx;
	(void)addrs;
	(void)max;
	return 0;
}

static grove_ae_t *fuzz_ae_frame_victim(void)
{
	static grove_ae_t *ae;
	static grove_db_t *db;
	static grove_rng_t rng;
	if (ae != NULL)
		return ae;
	grove_db_options_t o;
	grove_db_options_init(&o);
	o.node_id = "fuzz";
	o.clock = fuzz_ae_frame_clock;
	if (grove_db_open(NULL, &o, &db, NULL, 0) != 0)
		abort();
	for (int i = 0; i < 64; i++) {
		char key[8] = { 'k', (char)('a' + i % 26), (char)('a' + i / 26), 0 };
		if (grove_db_counter_add(db, key, 3, i + 1, NULL) != 0)
			abort();
	}
	grove_rng_seed(&rng, 1);
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.peers = no_peers;
	cfg.session_bytes_max = 1 << 20;
	if (grove_ae_create(&cfg, db, &rng, &ae) != 0)
		abort();
	return ae;
}

static void fuzz_ae_frame_session(const uint8_t *data, size_t size)
{
	grove_ae_t *ae = fuzz_ae_frame_victim();
	uint32_t sid;
	if (grove_ae_stream_accept(ae, 1, "fuzz", &sid) != 0)
		abort();
	grove_out_t out;
	size_t i = 0;
	while (i < size) {
		size_t n = data[i++];
		n = n < size - i ? n : size - i;
		grove_ae_stream_recv(ae, 1, sid, data + i, n);
		i += n;
		for (int k = 0; k < 10000 && grove_ae_poll(ae, 1, &out); k++)
			;
	}
	grove_ae_stream_closed(ae, 1, sid);
	while (grove_ae_poll(ae, 1, &out))
		;
	if (grove_ae_session_count(ae) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	grove_ae_frame_t f;
	if (grove_ae_frame_decode(data, size, GROVE_AE_FRAME_BYTES_LIMIT, &f) == 0)
		fuzz_ae_frame_walk(&f);
	fuzz_ae_frame_session(data, size);
	return 0;
}
