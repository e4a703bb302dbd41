/* tests/t_world.h: the small generated world that the model tests (panel, propensity, scorer)
 * read, written once into a workspace. */
#ifndef T_WORLD_H
#define T_WORLD_H

#include <stddef.h>
#include <stdint.h>

/* Generate a world (synth.h defaults: seed, start date) of 3 stores and 8 months without
 * events, with the given counts, and write it into a new workspace <t_tmpdir()>/ws; its path
 * goes into ws (n bytes), which is returned. Sets the log level to errors (the generator and
 * the trainings are chatty). Fails the test on any error. */
const char *t_world_write(char *ws,
                          size_t n,
                          uint32_t customers,
                          uint32_t products,
                          uint32_t categories,
                          uint32_t promotions,
                          uint64_t transactions);

#endif
