/* The admin's view of the payment gateways: which are enabled, ready and up, and why a
 * breaker opened (the last error, never a secret). */
#include "cardshop/config.h"
#include "cardshop/pay.h"
#include "internal.h"

static void gateways_list(struct http_req *req)
{
	if (!api_require_admin(req))
		return;
	http_reply_json(req, 200,
	                json_pack("{so}", "gateways", pay_gateways_json(http_config(req))));
}

const struct http_route gateway_admin_api_routes[] = {
    /* Owner only, like the settings: staff do not see the gateways. */
    {"GET", "/api/admin/gateways", gateways_list, HTTP_BODY_NONE | HTTP_GUARDED | HTTP_OWNER,
     HTTP_SHEDDABLE},
};
const size_t gateway_admin_api_nroutes =
    sizeof gateway_admin_api_routes / sizeof gateway_admin_api_routes[0];
