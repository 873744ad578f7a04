/*
 * pace.c - the per-peer spacing and confirmation tables of pace.h: fixed
 * arrays searched by address.
 */
#include "gossip/ae/pace.h"

#include <stdio.h>
#include <string.h>

static grove_ae_pace_ent_t *pace_find(grove_ae_pace_ent_t *t, const char *addr)
{
	for (size_t i = 0; i < GROVE_AE_PACE_PEERS; i++)
		if (t[i].at_ms != 0 && strcmp(t[i].addr, addr) == 0)
			return &t[i];
	return NULL;
}

void grove_ae_pace_space(grove_ae_pace_t *p, const char *addr, uint64_t now_ms, uint64_t gap_ms)
{
	grove_ae_pace_ent_t *e = pace_find(p->spaced, addr);
	if (e == NULL) {
		e = &p->spaced[0];
		for (size_t i = 1; i < GROVE_AE_PACE_PEERS; i++)
			if (p->spaced[i].at_ms < e->at_ms)
				e = &p->spaced[i];
	}
	snprintf(e->addr, sizeof(e->addr), "%s", addr);
	e->at_ms = now_ms + gap_ms;
}

bool grove_ae_pace_spaced(const grove_ae_pace_t *p, const char *addr, uint64_t now_ms)
{
	for (size_t i = 0; i < GROVE_AE_PACE_PEERS; i++)
		if (p->spaced[i].at_ms > now_ms && strcmp(p->spaced[i].addr, addr) == 0)
			return true;
	return false;
}

void grove_ae_pace_equal(grove_ae_pace_t *p, const char *addr)
{
	grove_ae_pace_ent_t *e = pace_find(p->differ, addr);
	if (e != NULL)
		e->at_ms = 0;
}

uint64_t grove_ae_pace_differ(grove_ae_pace_t *p, const char *addr, uint64_t now_ms)
{
	grove_ae_pace_ent_t *e = pace_find(p->differ, addr);
	if (e != NULL)
		return now_ms > e->at_ms ? now_ms - e->at_ms : 0;
	e = &p->differ[0];
	for (size_t i = 1; i < GROVE_AE_PACE_PEERS && e->at_ms != 0; i++)
		if (p->differ[i].at_ms == 0 || p->differ[i].at_ms > e->at_ms)
			e = &p->differ[i];
	snprintf(e->addr, sizeof(e->addr), "%s", addr);
	e->at_ms = now_ms > 0 ? now_ms : 1; /* 0 marks a free entry */
	return 0;
}
