/*
 * ae_secure.c - the anti-entropy security hooks over envelope and peer book
 * (see ae_secure.h).
 */
#include "gossip/ae_secure.h"

#include <string.h>

#include "base/assert.h"
#include "gossip/ae/codec.h"
#include "gossip/secure/channel.h"

_Static_assert(GROVE_AE_ID_MAX >= GROVE_NODE_ID_MAX, "sender ids fit");
_Static_assert(GROVE_AE_FRAME_BYTES_DEFAULT <= GROVE_FRAME_BYTES_MAX, "frames fit a session frame");

void grove_ae_secure_init(grove_ae_secure_t *s, grove_sender_t *sender, grove_peerbook_t *book)
{
	memset(s, 0, sizeof(*s));
	s->sender = sender;
	s->book = book;
}

static int ae_seal(void *ctx, const char *to_addr, const char *to_id,
			  const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
			  size_t *out_len)
{
	grove_ae_secure_t *s = ctx;
	(void)to_addr;
	return grove_envelope_seal(s->sender, GROVE_AE_ENVELOPE_KIND, to_id, s->attach_cert,
				   payload, len, out, cap, out_len);
}

static int ae_open(void *ctx, uint64_t now_ms, const char *from_addr,
			  const uint8_t *dgram, size_t len, const uint8_t **payload,
			  size_t *payload_len, char sender_id[GROVE_AE_ID_MAX + 1])
{
	grove_ae_secure_t *s = ctx;
	(void)from_addr;
	int rc = grove_envelope_open(s->book, dgram, len, now_ms, &s->env, &s->last_drop);
	if (rc < 0)
		return rc;
	if (s->env.kind != GROVE_AE_ENVELOPE_KIND) {
		s->wrong_kind++;
		return GROVE_EPROTO;
	}
	*payload = s->env.payload;
	*payload_len = s->env.payload_len;
	strcpy(sender_id, s->env.from);
	return 0;
}

void grove_ae_secure_config(grove_ae_secure_t *s, grove_ae_config_t *cfg)
{
	char longest[GROVE_NODE_ID_MAX + 1];
	memset(longest, 'x', GROVE_NODE_ID_MAX);
	longest[GROVE_NODE_ID_MAX] = '\0';
	size_t payload_max = grove_envelope_payload_max(s->sender, longest, s->attach_cert);
	GROVE_ASSERT(payload_max < GROVE_DATAGRAM_MAX);
	cfg->security.ctx = s;
	cfg->security.seal = ae_seal;
	cfg->security.open = ae_open;
	cfg->security.overhead_bytes = GROVE_DATAGRAM_MAX - payload_max;
	cfg->datagram_bytes_max = GROVE_DATAGRAM_MAX;
}
