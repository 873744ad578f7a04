/*
 * grove.h - the embedding API of libgrove in one include.
 *
 * A C program that links libgrove includes this header only and builds with
 * `pkg-config --cflags --libs grove` (or `-I include` in the source tree):
 *
 *   error.h    the error table (grove_strerror) and GROVE_MUST_CHECK
 *   alloc.h    grove_malloc / grove_free: buffers the API returns are freed
 *              with grove_free
 *   clock.h    the injected clock type and the system clock
 *   hlc.h      the hybrid logical clock that stamps every write
 *   value.h    decoded CRDT values (grove_db_get, merge input)
 *   db.h       a node's replicated key space: open, typed writes, merge,
 *              digests, durability modes
 *   handles.h  kvcrdt-style Counter, Register, Set and Map handles
 *   syncer.h   store-to-store sync with a key pattern, one-shot or looping
 *
 * Everything else in the source tree (base/, crdt/, storage/, gossip/,
 * node/) is internal and may change between versions.
 */
#ifndef GROVE_GROVE_H
#define GROVE_GROVE_H

#include "grove/error.h"
#include "grove/alloc.h"
#include "grove/clock.h"
#include "grove/hlc.h"
#include "grove/value.h"
#include "grove/db.h"
#include "grove/handles.h"
#include "grove/syncer.h"

#endif
