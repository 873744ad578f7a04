/*
 * fuzz_ae_frame.c - libFuzzer target for the anti-entropy frame decoder
 * (gossip/ae_codec.h).  Every input is decoded with the stream limit; an
 * accepted frame is walked entry by entry to its exact end, which must land
 * on the end of the body (the iterators cannot overrun what validation
 * accepted).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "gossip/ae_codec.h"

static void grove__walk(const grove_ae_frame_t *f)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	grove_ae_frame_t f;
	if (grove_ae_frame_decode(data, size, GROVE_AE_FRAME_BYTES_LIMIT, &f) == 0)
		grove__walk(&f);
	return 0;
}
