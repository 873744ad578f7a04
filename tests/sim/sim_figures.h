/*
 * sim_figures.h - the figure experiments of grove-sim --figures: rounds for
 * one write to reach every node, failure detection time, messages and bytes
 * per node per round, at several cluster sizes, with and without loss.
 */
#ifndef GROVE_SIM_FIGURES_H
#define GROVE_SIM_FIGURES_H

#include <stdbool.h>
#include <stdint.h>

/* sizes: comma-separated N values.  loss < 0: both 0 and 10%.  Prints the
 * table on stdout; returns 0, or -1 when an experiment failed. */
int sim_figures(const char *sizes, uint64_t seed, bool secure, double loss);

#endif
