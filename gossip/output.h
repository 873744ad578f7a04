/*
 * output.h - what a sans-IO protocol core asks its driver to do.
 *
 * Membership (member.h) and anti-entropy (antientropy.h) both hand their
 * I/O to the driver (groved's node/, the in-process test networks, the
 * simulator) as a queue of these records, polled after every input.  One
 * type serves both, so a driver routes either core's outputs through one
 * function.  Pointers borrow from the core and stay valid until its next
 * poll or input.
 *
 * GROVE_DATAGRAM_MAX is the one datagram limit of Grove: every UDP datagram
 * on the wire, sealed envelope included, fits one Ethernet MTU with the IP
 * and UDP headers.  The secure envelope, both cores and the node's sockets
 * all use it.
 */
#ifndef GROVE_OUTPUT_H
#define GROVE_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#define GROVE_DATAGRAM_MAX 1400 /* bytes of a datagram on the wire */

typedef enum grove_out_kind {
	GROVE_OUT_DATAGRAM = 1, /* send bytes to addr */
	GROVE_OUT_STREAM_OPEN,  /* open stream_id to addr (frames follow) */
	GROVE_OUT_STREAM_FRAME, /* send bytes as one frame on stream_id */
	GROVE_OUT_STREAM_CLOSE, /* flush, then close stream_id */
} grove_out_kind_t;

typedef struct grove_out {
	grove_out_kind_t kind;
	uint32_t stream_id;
	const char *addr;     /* DATAGRAM and STREAM_OPEN */
	const uint8_t *bytes; /* DATAGRAM and STREAM_FRAME */
	size_t len;
} grove_out_t;

#endif
