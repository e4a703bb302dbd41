-- bench/api_campaign.lua: wrk script for POST /api/campaign (bench/api.sh sets the product and
-- the key through the environment). Counts replies that are not 200 so the run can be refused.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("PROMO_API_KEY")
wrk.body = string.format('{"product_id": "%s", "discount_pct": %s, "target": %s, "rows": %s}',
  os.getenv("BENCH_PRODUCT"), os.getenv("BENCH_DISCOUNT") or "10",
  os.getenv("BENCH_TARGET") or "1000", os.getenv("BENCH_ROWS") or "50")
