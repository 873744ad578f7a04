/*
 * sim_figures.h - the figure experiments of grove-sim --figures: rounds for
 * one write to reach every node, failure detection time, messages and bytes
 * per node per round, at several cluster sizes, with and without loss.
 */
#ifndef GROVE_SIM_FIGURES_H
#define GROVE_SIM_FIGURES_H

#include <stdbool.h>
#include <stdint.h>

#define SIM_FIG_SPREAD_ORACLE 1u
#define SIM_FIG_SPREAD_MEMBER 2u
#define SIM_FIG_DETECT 4u
#define SIM_FIG_ALL 7u

/* sizes: comma-separated N values; kinds: SIM_FIG_* mask; push: anti-entropy
 * pushes fresh writes (spread rows say "+push").  loss < 0: both
 * 0 and 10%.  Prints the table on stdout; returns 0, or -1 when an
 * experiment failed. */
int sim_figures(const char *sizes, unsigned kinds, uint64_t seed, bool secure, bool push, double loss);

#endif
