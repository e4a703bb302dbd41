/* promo/promo.h: the whole public API of libpromo, one include.
 *
 * Every fallible function returns an int status (0 = PROMO_OK) and leaves a message for
 * promo_last_error(); see error.h. Each header documents its module. */
#ifndef PROMO_PROMO_H
#define PROMO_PROMO_H

#include <promo/alloc.h>
#include <promo/calibrate.h>
#include <promo/campaign.h>
#include <promo/clv.h>
#include <promo/csr.h>
#include <promo/csv.h>
#include <promo/dict.h>
#include <promo/elasticity.h>
#include <promo/error.h>
#include <promo/expansion.h>
#include <promo/explain.h>
#include <promo/fairness.h>
#include <promo/features.h>
#include <promo/forecast.h>
#include <promo/gbdt.h>
#include <promo/hash.h>
#include <promo/hdbscan.h>
#include <promo/hybrid.h>
#include <promo/infile.h>
#include <promo/kmeans.h>
#include <promo/knn.h>
#include <promo/learner.h>
#include <promo/linear.h>
#include <promo/log.h>
#include <promo/memguard.h>
#include <promo/metrics.h>
#include <promo/mf_category.h>
#include <promo/outfile.h>
#include <promo/panel.h>
#include <promo/plot.h>
#include <promo/profile.h>
#include <promo/propensity.h>
#include <promo/recommend.h>
#include <promo/report.h>
#include <promo/report_uplift.h>
#include <promo/rng.h>
#include <promo/schema.h>
#include <promo/scorer.h>
#include <promo/segment.h>
#include <promo/similar.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/table.h>
#include <promo/timeutil.h>
#include <promo/uplift.h>
#include <promo/uplift_data.h>
#include <promo/uplift_io.h>
#include <promo/uplift_metrics.h>
#include <promo/uplift_policy.h>
#include <promo/uplift_score.h>
#include <promo/uplift_tree.h>
#include <promo/uplift_ws.h>

#endif
