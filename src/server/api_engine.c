/* The POST routes (stubs until the engine calls land). */
#include <promo/error.h>

#include "server/api_internal.h"

int promo_api_campaign(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    (void)api;
    api_campaign_req r;
    if (api_parse_campaign(call->body, &r, out))
        return 0;
    return promo_api_fail(out, 501, NULL, "not implemented yet");
}
int promo_api_optimize(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    (void)api;
    api_optimize_req r;
    if (api_parse_optimize(call->body, &r, out))
        return 0;
    return promo_api_fail(out, 501, NULL, "not implemented yet");
}
int promo_api_simulate(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    (void)api;
    api_simulate_req r;
    if (api_parse_simulate(call->body, &r, out))
        return 0;
    return promo_api_fail(out, 501, NULL, "not implemented yet");
}
int promo_api_similar_products(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    (void)api;
    api_similar_req r;
    if (api_parse_similar(call->body, &r, out))
        return 0;
    return promo_api_fail(out, 501, NULL, "not implemented yet");
}
int promo_api_crosssell(promo_api *api, const promo_api_call *call, promo_api_reply *out)
{
    (void)api;
    api_crosssell_req r;
    if (api_parse_crosssell(call->body, &r, out))
        return 0;
    return promo_api_fail(out, 501, NULL, "not implemented yet");
}
