/*
 * secure_hooks.c - the security hooks of membership and anti-entropy over
 * envelope and peer book (see secure_hooks.h).  Both cores' seal and open
 * hooks have one shape, so one pair of functions serves both.
 */
#include "gossip/secure_hooks.h"

#include <string.h>

#include "base/assert.h"
#include "gossip/ae/codec.h"
#include "gossip/secure/channel.h"

_Static_assert(GROVE_MEMBER_ID_MAX == GROVE_NODE_ID_MAX, "one node id limit");
_Static_assert(GROVE_AE_ID_MAX == GROVE_NODE_ID_MAX, "one node id limit");
_Static_assert(GROVE_AE_FRAME_BYTES_DEFAULT <= GROVE_FRAME_BYTES_MAX, "frames fit a session frame");

void grove_secure_hooks_init(grove_secure_hooks_t *s, grove_sender_t *sender, grove_peerbook_t *book,
			     uint8_t kind)
{
	GROVE_ASSERT(kind == GROVE_MEMBER_ENVELOPE_KIND || kind == GROVE_AE_ENVELOPE_KIND);
	memset(s, 0, sizeof(*s));
	s->sender = sender;
	s->book = book;
	s->kind = kind;
	s->attach_cert = kind == GROVE_MEMBER_ENVELOPE_KIND;
}

void grove_secure_hooks_set_resolver(grove_secure_hooks_t *s,
				     int (*resolve)(void *ctx, const char *addr, char id[GROVE_NODE_ID_MAX + 1]),
				     void *ctx)
{
	s->resolve = resolve;
	s->resolve_ctx = ctx;
}

int grove_secure_hooks_resolve_member(void *ctx, const char *addr, char id[GROVE_NODE_ID_MAX + 1])
{
	const grove_member_t *m = ctx;
	size_t n = grove_member_count(m);
	for (size_t i = 0; i < n; i++) {
		grove_member_info_t info;
		if (grove_member_get(m, i, &info) == 0 && strcmp(info.addr, addr) == 0) {
			strcpy(id, info.id);
			return 0;
		}
	}
	return GROVE_ENOTFOUND;
}

bool grove_secure_hooks_may_be_clear(uint8_t kind, const uint8_t *payload, size_t len)
{
	return kind == GROVE_AE_ENVELOPE_KIND && len > 0 && payload[0] == GROVE_AE_DIGEST;
}

/* The recipient's certificate: by the core's id, else by the resolver. */
static const grove_cert_t *recipient(grove_secure_hooks_t *s, const char *to_addr, const char *to_id)
{
	char id[GROVE_NODE_ID_MAX + 1];
	if ((to_id == NULL || to_id[0] == '\0') && s->resolve != NULL && to_addr != NULL &&
	    s->resolve(s->resolve_ctx, to_addr, id) == 0)
		to_id = id;
	return to_id != NULL && to_id[0] != '\0' ? grove_peerbook_find(s->book, to_id) : NULL;
}

static int hooks_seal(void *ctx, const char *to_addr, const char *to_id, const uint8_t *payload, size_t len,
		      uint8_t *out, size_t cap, size_t *out_len)
{
	grove_secure_hooks_t *s = ctx;
	const grove_cert_t *to = recipient(s, to_addr, to_id);
	if (to != NULL)
		return grove_envelope_seal_for(s->sender, s->kind, to, s->attach_cert, payload, len, out, cap,
					       out_len);
	if (!grove_secure_hooks_may_be_clear(s->kind, payload, len)) {
		s->unsealable++;
		return GROVE_EAUTH;
	}
	return grove_envelope_seal(s->sender, s->kind, to_id, s->attach_cert, payload, len, out, cap, out_len);
}

static int hooks_open(void *ctx, uint64_t now_ms, const char *from_addr, const uint8_t *dgram, size_t len,
		      const uint8_t **payload, size_t *payload_len, char sender_id[GROVE_NODE_ID_MAX + 1])
{
	grove_secure_hooks_t *s = ctx;
	(void)from_addr;
	s->refused_proven = false;
	int rc = grove_envelope_open_keyed(s->book, &s->sender->keys, dgram, len, now_ms, &s->env, &s->last_drop);
	if (rc < 0) {
		s->refused_proven = s->last_drop == GROVE_DROP_SUPERSEDED && s->kind == GROVE_MEMBER_ENVELOPE_KIND &&
				    grove_envelope_proven_cert(s->sender->self, &s->sender->keys, dgram, len, now_ms,
							       &s->refused_cert) == 0;
		return rc;
	}
	if (s->env.kind != s->kind) {
		s->wrong_kind++;
		return GROVE_EPROTO;
	}
	if (!s->env.sealed && !grove_secure_hooks_may_be_clear(s->kind, s->env.payload, s->env.payload_len)) {
		s->cleartext_refused++;
		return GROVE_EPROTO;
	}
	*payload = s->env.payload;
	*payload_len = s->env.payload_len;
	strcpy(sender_id, s->env.from);
	return 0;
}

static int hooks_learn_cert(void *ctx, uint64_t now_ms, const char *id, const uint8_t *key, size_t key_len,
			    const uint8_t *cert, size_t cert_len)
{
	grove_secure_hooks_t *s = ctx;
	grove_cert_t c;
	if (grove_cert_decode(cert, cert_len, &c, NULL) < 0)
		return GROVE_EDECODE;
	if (strcmp(c.node_id, id) != 0 || key_len != GROVE_SIGN_PUBLIC_BYTES ||
	    memcmp(c.node_pk, key, GROVE_SIGN_PUBLIC_BYTES) != 0)
		return GROVE_EAUTH;
	return grove_peerbook_add(s->book, &c, now_ms);
}

static int hooks_doc_get(void *ctx, uint8_t *buf, size_t cap, size_t *len)
{
	grove_secure_hooks_t *s = ctx;
	const grove_crl_t *crl = grove_peerbook_crl(s->book);
	*len = 0;
	return crl ? grove_crl_encode(crl, buf, cap, len) : 0;
}

static int hooks_doc_offer(void *ctx, uint64_t now_ms, const uint8_t *doc, size_t len)
{
	grove_secure_hooks_t *s = ctx;
	(void)now_ms;
	grove_crl_t crl;
	int rc = grove_crl_decode(doc, len, &crl);
	return rc < 0 ? rc : grove_peerbook_set_crl(s->book, &crl);
}

static int hooks_cert_order(void *ctx, const uint8_t *cert, size_t cert_len)
{
	grove_secure_hooks_t *s = ctx;
	const grove_cert_t *own = &s->sender->self->cert;
	grove_cert_t c;
	if (grove_cert_decode(cert, cert_len, &c, NULL) < 0 || strcmp(c.node_id, own->node_id) != 0 ||
	    grove_cert_verify(&c, s->sender->self->ca_pk, c.issued_ms + 1) < 0)
		return 0; /* validity at issue: an expired one still orders */
	return grove_cert_order(&c, own);
}

static bool hooks_refused_superseded(void *ctx, char id[GROVE_NODE_ID_MAX + 1], uint8_t *key)
{
	grove_secure_hooks_t *s = ctx;
	_Static_assert(GROVE_MEMBER_KEY_MAX == GROVE_SIGN_PUBLIC_BYTES, "member keys are node keys");
	if (s->refused_proven) {
		strcpy(id, s->refused_cert.node_id);
		memcpy(key, s->refused_cert.node_pk, GROVE_SIGN_PUBLIC_BYTES);
	}
	return s->refused_proven;
}

/* Seals for the key of the datagram just refused as superseded. */
static int hooks_seal_refused(void *ctx, const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
			      size_t *out_len)
{
	grove_secure_hooks_t *s = ctx;
	if (!s->refused_proven)
		return GROVE_ENOTFOUND;
	s->refused_proven = false;
	return grove_envelope_seal_for(s->sender, s->kind, &s->refused_cert, s->attach_cert, payload, len, out, cap,
				       out_len);
}

/* Datagram size minus payload size at worst: an open (signed) envelope to
 * the longest recipient id; a sealed one needs less (salt and tag instead
 * of the signature). */
static size_t hooks_overhead(const grove_secure_hooks_t *s)
{
	char longest[GROVE_NODE_ID_MAX + 1];
	memset(longest, 'x', GROVE_NODE_ID_MAX);
	longest[GROVE_NODE_ID_MAX] = '\0';
	size_t payload_max = grove_envelope_payload_max(s->sender, longest, s->attach_cert);
	GROVE_ASSERT(payload_max < GROVE_DATAGRAM_MAX);
	return GROVE_DATAGRAM_MAX - payload_max;
}

int grove_secure_hooks_config_member(grove_secure_hooks_t *s, grove_member_config_t *cfg)
{
	GROVE_ASSERT(s->kind == GROVE_MEMBER_ENVELOPE_KIND);
	const grove_cert_t *own = &s->sender->self->cert;
	if (!cfg->id || strcmp(cfg->id, own->node_id) != 0)
		return GROVE_EINVAL;
	if (grove_cert_encode(own, s->cert, sizeof(s->cert), &s->cert_len) < 0)
		return GROVE_EINVAL;
	cfg->security.ctx = s;
	cfg->security.seal = hooks_seal;
	cfg->security.open = hooks_open;
	cfg->security.learn_cert = hooks_learn_cert;
	cfg->security.doc_get = hooks_doc_get;
	cfg->security.doc_offer = hooks_doc_offer;
	cfg->security.cert_order = hooks_cert_order;
	cfg->security.refused_superseded = hooks_refused_superseded;
	cfg->security.seal_refused = hooks_seal_refused;
	cfg->security.overhead_bytes = hooks_overhead(s);
	cfg->key = own->node_pk;
	cfg->key_len = GROVE_SIGN_PUBLIC_BYTES;
	cfg->cert = s->cert;
	cfg->cert_len = s->cert_len;
	return 0;
}

void grove_secure_hooks_config_ae(grove_secure_hooks_t *s, grove_ae_config_t *cfg)
{
	GROVE_ASSERT(s->kind == GROVE_AE_ENVELOPE_KIND);
	cfg->security.ctx = s;
	cfg->security.seal = hooks_seal;
	cfg->security.open = hooks_open;
	cfg->security.overhead_bytes = hooks_overhead(s);
	cfg->datagram_bytes_max = GROVE_DATAGRAM_MAX;
}

int grove_secure_hooks_reload_member(grove_secure_hooks_t *s, grove_member_t *m, uint64_t now_ms)
{
	GROVE_ASSERT(s->kind == GROVE_MEMBER_ENVELOPE_KIND);
	const grove_cert_t *own = &s->sender->self->cert;
	if (grove_cert_encode(own, s->cert, sizeof(s->cert), &s->cert_len) < 0)
		return GROVE_EINVAL;
	/* The pairwise datagram keys come from our secret key: derive again. */
	grove_pairkeys_close(&s->sender->keys);
	grove_pairkeys_init(&s->sender->keys, s->sender->self);
	return grove_member_set_identity(m, now_ms, own->node_pk, GROVE_SIGN_PUBLIC_BYTES, s->cert, s->cert_len);
}
