/* src/models/hybrid_internal.h: what hybrid.c shares with hybrid_rec.c (the recommend.h
 * handle): the model's sections of a recommend.h file. */
#ifndef PROMO_HYBRID_INTERNAL_H
#define PROMO_HYBRID_INTERNAL_H

#include <promo/hybrid.h>
#include <promo/recommend.h>

/* Add the model's sections ("hybrid_*") to f; read them back (checked) into a new model. */
int hybrid_add_sections(const promo_hybrid *m, promo_rec_file *f);
int hybrid_from_sections(const promo_rec_file *f, promo_hybrid **out /* OUT */);

#endif
