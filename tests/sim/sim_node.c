/*
 * sim_node.c - one simulated Grove node: the real cores wired to the
 * simulated network.
 *
 * A node owns an identity (Ed25519 key drawn from the seed, certificate from
 * the simulation's CA), a memory store (grove_db_open(NULL)) whose HLC reads
 * the virtual clock plus the node's skew, and, while up, a peer book, a
 * datagram sender, a membership core and an anti-entropy core.  Both cores
 * seal and open real signed envelopes (gossip/secure/envelope.h) through the
 * node's one sender and one peer book, through the layers' own bindings
 * (gossip/secure_hooks.h, one per core); received datagrams are
 * dispatched on their envelope kind, as groved does.  After every input the node's outputs are drained into the
 * network and its one timer is re-armed at the earlier core deadline.
 *
 * A crash takes the node off the network (down: its streams break, its
 * timer is cancelled), destroys the cores and the book, and keeps the
 * store; a restart reads the persisted membership state and epoch from the
 * store's metadata, as groved does.
 */
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "tests/sim/sim_int.h"

#define SIM_CERT_LIFE_MS (10ULL * 365 * 24 * 3600 * 1000)
/* A simulated node's element cache: thousands of nodes share one process
 * and each holds little, so not the default's 256 MiB of slot tables and
 * arena per node. */
#define SIM_NODE_ELEM_CACHE_BYTES ((size_t)4 << 20)

static uint64_t sim_node_clock(void *ctx)
{
	sim_node_t *nd = ctx;
	return sim_local_ms(nd->sim, nd);
}

/* --- anti-entropy peers -------------------------------------------------------- */

static size_t sim_peers(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	sim_node_t *nd = ctx;
	sim_t *s = nd->sim;
	if (max > GROVE_AE_FANOUT_MAX)
		max = GROVE_AE_FANOUT_MAX;
	if (s->cfg.peers == SIM_PEERS_MEMBER) {
		grove_member_info_t info[GROVE_AE_FANOUT_MAX];
		size_t got = nd->member ? grove_member_random_alive(nd->member, info, max) : 0;
		for (size_t k = 0; k < got; k++)
			snprintf(addrs[k], GROVE_AE_ADDR_MAX + 1, "%s", info[k].addr);
		return got;
	}
	/* oracle: distinct uniform live nodes, bounded attempts */
	size_t got = 0;
	for (uint32_t tries = 0; got < max && tries < 8 * max + 8; tries++) {
		uint32_t j = (uint32_t)grove_rng_below(&s->rng, s->n);
		bool seen = j == nd->idx || !s->nodes[j].up;
		for (size_t k = 0; k < got && !seen; k++)
			seen = s->oracle_tmp[k] == j;
		if (seen)
			continue;
		s->oracle_tmp[got] = j;
		snprintf(addrs[got++], GROVE_AE_ADDR_MAX + 1, "%s", s->nodes[j].id);
	}
	return got;
}

/* --- lifecycle ------------------------------------------------------------------ */

static int sim_node_identity(sim_t *s, sim_node_t *nd)
{
	uint8_t seed[GROVE_SIGN_SEED_BYTES], pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	for (size_t k = 0; k < sizeof(seed); k++)
		seed[k] = (uint8_t)grove_rng_next(&s->rng);
	grove_cert_t cert;
	int rc = grove_sign_seed_keypair(pk, sk, seed);
	if (rc == 0)
		rc = grove_cert_issue(&cert, nd->id, pk, SIM_START_MS + SIM_CERT_LIFE_MS, s->ca_sk);
	if (rc == 0)
		rc = grove_identity_init(&nd->ident, &cert, sk, s->ca_pk, SIM_START_MS);
	if (rc == 0)
		rc = grove_cert_encode(&cert, nd->cert_enc, sizeof(nd->cert_enc), &nd->cert_len);
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

int sim_node_init(sim_t *s, uint32_t i)
{
	sim_node_t *nd = &s->nodes[i];
	nd->sim = s;
	nd->idx = i;
	snprintf(nd->id, sizeof(nd->id), "n%u", i);
	uint32_t sk = s->cfg.skew_max_ms;
	nd->skew_ms = sk ? (int64_t)grove_rng_below(&s->rng, 2ULL * sk + 1) - (int64_t)sk : 0;
	grove_rng_seed(&nd->rng, grove_rng_next(&s->rng));
	if (sim_node_identity(s, nd) != 0)
		return -1;
	grove_db_options_t o;
	grove_db_options_init(&o);
	o.node_id = nd->id;
	o.elem_cache_bytes = SIM_NODE_ELEM_CACHE_BYTES;
	o.clock = sim_node_clock;
	o.clock_ctx = nd;
	char err[256];
	if (grove_db_open(NULL, &o, &nd->db, err, sizeof(err)) != 0) {
		fprintf(stderr, "sim: n%u: %s\n", i, err);
		return -1;
	}
	return 0;
}

void sim_node_free(sim_t *s, uint32_t i)
{
	sim_node_t *nd = &s->nodes[i];
	if (nd->up)
		sim_node_stop(s, i);
	grove_db_close(nd->db);
	nd->db = NULL;
	grove_identity_close(&nd->ident);
}

/* Epoch: persisted in the store, strictly higher at every start. */
static int sim_node_epoch(sim_node_t *nd)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t epoch = 0;
	if (grove_db_meta_get(nd->db, "sim.epoch", &buf, &len) == 0) {
		if (len == sizeof(epoch))
			memcpy(&epoch, buf, sizeof(epoch));
		grove_free(buf);
	}
	epoch++;
	nd->epoch = epoch;
	return grove_db_meta_put(nd->db, "sim.epoch", &epoch, sizeof(epoch));
}

static int sim_member_config(sim_t *s, sim_node_t *nd, grove_member_config_t *c, const char **seeds,
			     size_t *nseeds)
{
	grove_member_config_init(c);
	c->id = nd->id;
	c->addr = nd->id;
	c->key = nd->ident.cert.node_pk;
	c->key_len = GROVE_SIGN_PUBLIC_BYTES;
	c->cert = nd->cert_enc;
	c->cert_len = nd->cert_len;
	*nseeds = 0;
	for (uint32_t k = 0; k < 3 && k < s->n; k++)
		if (k != nd->idx)
			seeds[(*nseeds)++] = s->nodes[k].id;
	c->seeds = seeds;
	c->seed_count = *nseeds;
	c->rng_seed = grove_rng_next(&nd->rng);
	if (s->cfg.probe_interval_ms)
		c->probe_interval_ms = s->cfg.probe_interval_ms;
	if (!s->cfg.secure)
		return 0;
	grove_secure_hooks_init(&nd->msec, &nd->sender, nd->book, GROVE_MEMBER_ENVELOPE_KIND);
	return grove_secure_hooks_config_member(&nd->msec, c);
}

static int sim_member_start(sim_t *s, sim_node_t *nd)
{
	grove_member_config_t c;
	const char *seeds[3];
	size_t nseeds;
	int rc = sim_member_config(s, nd, &c, seeds, &nseeds);
	if (rc == 0)
		rc = grove_member_create(&c, &nd->member);
	if (rc != 0)
		return rc;
	uint8_t *saved = NULL;
	size_t len = 0;
	if (grove_db_meta_get(nd->db, "sim.member", &saved, &len) == 0) {
		rc = grove_member_restore(nd->member, saved, len);
		grove_free(saved);
		if (rc != 0)
			return rc;
	}
	return grove_member_join(nd->member, sim_local_ms(s, nd));
}

/* Recipient ids for sealed anti-entropy datagrams: a simulated node's
 * address is its id (groved asks its membership table instead). */
static int sim_resolve(void *ctx, const char *addr, char id[GROVE_NODE_ID_MAX + 1])
{
	(void)ctx;
	size_t n = strlen(addr);
	if (n == 0 || n > GROVE_NODE_ID_MAX)
		return GROVE_ENOTFOUND;
	memcpy(id, addr, n + 1);
	return 0;
}

static int sim_ae_start(sim_t *s, sim_node_t *nd)
{
	grove_ae_config_t c;
	grove_ae_config_init(&c);
	c.peers = sim_peers;
	c.peers_ctx = nd;
	c.push = s->cfg.ae_push;
	if (s->cfg.ae_interval_ms)
		c.interval_ms = s->cfg.ae_interval_ms;
	if (s->cfg.secure) {
		grove_secure_hooks_init(&nd->aesec, &nd->sender, nd->book, GROVE_AE_ENVELOPE_KIND);
		/* without membership nobody else teaches the book certificates */
		nd->aesec.attach_cert = !s->cfg.membership;
		grove_secure_hooks_config_ae(&nd->aesec, &c);
		grove_secure_hooks_set_resolver(&nd->aesec, sim_resolve, NULL);
	}
	return grove_ae_create(&c, nd->db, &nd->rng, &nd->ae);
}

int sim_node_start(sim_t *s, uint32_t i)
{
	sim_node_t *nd = &s->nodes[i];
	GROVE_ASSERT(!nd->up);
	if (sim_node_epoch(nd) != 0)
		return -1;
	grove_sender_init(&nd->sender, &nd->ident, nd->epoch);
	grove_peerbook_config_t bc = { .self = &nd->ident,
				       .peers_max = s->n < GROVE_PEERBOOK_PEERS_MAX ? s->n + 1 : 0 };
	if (s->cfg.secure && grove_peerbook_create(&bc, &nd->book) != 0)
		return -1;
	nd->up = true;
	grove_netsim_set_down(s->net, (int)i, false);
	if (s->cfg.membership && sim_member_start(s, nd) != 0)
		return -1;
	if (s->cfg.antientropy && sim_ae_start(s, nd) != 0)
		return -1;
	sim_node_drain(s, i);
	return 0;
}

void sim_node_stop(sim_t *s, uint32_t i)
{
	sim_node_t *nd = &s->nodes[i];
	if (!nd->up)
		return;
	grove_netsim_set_down(s->net, (int)i, true); /* its streams break */
	grove_netsim_timer_set(s->net, (int)i, GROVE_NETSIM_NEVER);
	grove_ae_destroy(nd->ae);
	grove_member_destroy(nd->member);
	grove_peerbook_destroy(nd->book);
	nd->ae = NULL;
	nd->member = NULL;
	nd->book = NULL;
	nd->up = false;
	nd->life++;
}
