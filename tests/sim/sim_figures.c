/*
 * sim_figures.c - the figure experiments (see sim_figures.h).
 */
#include <stdio.h>

#include "tests/sim/sim.h"
#include "tests/sim/sim_figures.h"

int sim_figures(const char *sizes, uint64_t seed, bool secure, double loss)
{
	(void)sizes; (void)seed; (void)secure; (void)loss;
	return -1;
}
