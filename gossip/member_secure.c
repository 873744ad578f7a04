/*
 * member_secure.c - the membership security hooks over envelope and peer
 * book (see member_secure.h).
 */
#include <string.h>

#include "base/assert.h"
#include "gossip/member_secure.h"

_Static_assert(GROVE_MEMBER_ID_MAX == GROVE_NODE_ID_MAX, "one node id limit");

void grove_member_secure_init(grove_member_secure_t *s, grove_sender_t *sender, grove_peerbook_t *book)
{
	memset(s, 0, sizeof(*s));
	s->sender = sender;
	s->book = book;
	s->attach_cert = true;
}

static int member_secure_seal(void *ctx, const char *to_addr, const char *to_id, const uint8_t *payload, size_t len,
		       uint8_t *out, size_t cap, size_t *out_len)
{
	grove_member_secure_t *s = ctx;
	(void)to_addr;
	return grove_envelope_seal(s->sender, GROVE_MEMBER_ENVELOPE_KIND, to_id, s->attach_cert, payload, len, out,
				   cap, out_len);
}

static int member_secure_open(void *ctx, uint64_t now_ms, const char *from_addr, const uint8_t *dgram, size_t len,
		       const uint8_t **payload, size_t *payload_len, char sender_id[GROVE_MEMBER_ID_MAX + 1])
{
	grove_member_secure_t *s = ctx;
	(void)from_addr;
	int rc = grove_envelope_open(s->book, dgram, len, now_ms, &s->env, &s->last_drop);
	if (rc < 0)
		return rc;
	if (s->env.kind != GROVE_MEMBER_ENVELOPE_KIND) {
		s->wrong_kind++;
		return GROVE_EPROTO;
	}
	*payload = s->env.payload;
	*payload_len = s->env.payload_len;
	strcpy(sender_id, s->env.from);
	return 0;
}

static int member_secure_learn_cert(void *ctx, uint64_t now_ms, const char *id, const uint8_t *key, size_t key_len,
			     const uint8_t *cert, size_t cert_len)
{
	grove_member_secure_t *s = ctx;
	grove_cert_t c;
	if (grove_cert_decode(cert, cert_len, &c, NULL) < 0)
		return GROVE_EDECODE;
	if (strcmp(c.node_id, id) != 0 || key_len != GROVE_SIGN_PUBLIC_BYTES ||
	    memcmp(c.node_pk, key, GROVE_SIGN_PUBLIC_BYTES) != 0)
		return GROVE_EAUTH;
	return grove_peerbook_add(s->book, &c, now_ms);
}

int grove_member_secure_config(grove_member_secure_t *s, grove_member_config_t *cfg)
{
	const grove_cert_t *own = &s->sender->self->cert;
	char longest[GROVE_MEMBER_ID_MAX + 1];
	if (!cfg->id || strcmp(cfg->id, own->node_id) != 0)
		return GROVE_EINVAL;
	if (grove_cert_encode(own, s->cert, sizeof(s->cert), &s->cert_len) < 0)
		return GROVE_EINVAL;
	memset(longest, 'x', GROVE_MEMBER_ID_MAX);
	longest[GROVE_MEMBER_ID_MAX] = '\0';
	size_t payload_max = grove_envelope_payload_max(s->sender, longest, s->attach_cert);
	GROVE_ASSERT(payload_max < GROVE_DATAGRAM_MAX);
	cfg->security.ctx = s;
	cfg->security.seal = member_secure_seal;
	cfg->security.open = member_secure_open;
	cfg->security.learn_cert = member_secure_learn_cert;
	cfg->security.overhead_bytes = GROVE_DATAGRAM_MAX - payload_max;
	cfg->key = own->node_pk;
	cfg->key_len = GROVE_SIGN_PUBLIC_BYTES;
	cfg->cert = s->cert;
	cfg->cert_len = s->cert_len;
	return 0;
}
