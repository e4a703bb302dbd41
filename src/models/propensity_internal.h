/* src/models/propensity_internal.h: what propensity.c (training, evaluation, storage) and
 * propensity_score.c (scoring, explanations) share. */
#ifndef PROMO_PROPENSITY_INTERNAL_H
#define PROMO_PROPENSITY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <promo/panel.h>
#include <promo/propensity.h>

/* Model kinds as named in files and attributes, indexed by promo_panel_kind. */
extern const char *const prop_kind_names[3];

/* A horizon in days as whole seconds. */
int64_t prop_horizon_s(double h);
/* <ws>/models/propensity_<kind>[_<slug(scope_cat)>].json into out. */
void prop_model_path(
    promo_store *s, promo_panel_kind kind, const char *scope_cat, char *out, size_t n);
/* Load the propensity model of kind at path (no fallback, no hint): PROMO_ENOTFOUND when the
 * file does not exist; else as promo_prop_load. */
int prop_load_path(const char *path,
                   promo_panel_kind kind,
                   int n_threads,
                   promo_prop_loaded **out /* OUT */);
/* A promo.* attribute of a loaded model (promo_free), NULL when absent. */
char *prop_loaded_attr(const promo_prop_loaded *m, const char *key);
/* snprintf("%s") with NULL as "". */
void prop_copy_str(char *dst, size_t n, const char *src);

#endif
