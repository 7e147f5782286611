/* Concatenates the route tables of the api/ files once, at first use. */
#include <pthread.h>
#include <string.h>

#include "cardshop/util.h"
#include "internal.h"

static struct http_route *all;
static size_t nall;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void append(const struct http_route *r, size_t n)
{
	all = xrealloc(all, (nall + n) * sizeof *all);
	memcpy(all + nall, r, n * sizeof *r);
	nall += n;
}

static void build(void)
{
	append(system_api_routes, system_api_nroutes);
	append(shop_api_routes, shop_api_nroutes);
	append(admin_api_routes, admin_api_nroutes);
	append(order_admin_api_routes, order_admin_api_nroutes);
	append(order_api_routes, order_api_nroutes);
	append(pay_api_routes, pay_api_nroutes);
	append(media_api_routes, media_api_nroutes);
	append(coupon_api_routes, coupon_api_nroutes);
	append(team_api_routes, team_api_nroutes);
	append(stats_api_routes, stats_api_nroutes);
	append(gateway_admin_api_routes, gateway_admin_api_nroutes);
}

const struct http_route *api_routes(size_t *count)
{
	pthread_once(&once, build);
	*count = nall;
	return all;
}
