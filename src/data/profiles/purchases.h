/* src/data/profiles/purchases.h: transactions from the purchase events of a log that has no
 * order lines (Taobao, Tmall), shared by their profiles. Private to src/data/profiles. */
#ifndef PROMO_PROFILES_PURCHASES_H
#define PROMO_PROFILES_PURCHASES_H

#include "data/ingest_internal.h"

/* Add a transactions item with one line per event of kind "purchase": an order is a
 * customer's purchases in one second (order_id "<customer_id>@<epoch seconds>", lines
 * numbered in event order), quantity and unit_price 1 (no prices in the source: monetary
 * figures count items). No purchase events: nothing is added. `profile` names the source in
 * the info line. */
int ingest_purchases_as_transactions(promo_ingest *ing, const char *profile);

#endif
