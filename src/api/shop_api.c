/* Public shop API: catalog and shop configuration (orders live in order_api.c). */
#include <stdlib.h>
#include <string.h>

#include "cardshop/pay.h"
#include "internal.h"

static void reply_view(struct http_req *req, int rc, struct buf *b)
{
	if (rc == 0)
		api_reply_cached_json(req, b->data ? b->data : "", b->len);
	else if (rc > 0)
		http_reply_error(req, 404, "not_found", "product not found");
	else
		http_reply_error(req, 503, "unavailable", "the catalog is loading; try again");
	buf_cleanup(b);
}

/* Catalog reads come from memory (shop/snapshot.c): no database on the busiest routes. */
static void categories(struct http_req *req)
{
	struct buf b;
	buf_init(&b);
	reply_view(req, catalog_view_categories(&b), &b);
}

static void products(struct http_req *req)
{
	int bad = 0;
	int64_t cat = api_query_int(req, "category_id", 0, 1, INT64_MAX, &bad);
	if (bad || http_replied(req))
		return;
	struct buf b;
	buf_init(&b);
	reply_view(req, catalog_view_products(cat, &b), &b);
}

static void product(struct http_req *req)
{
	int64_t id;
	if (api_path_id(req, "id", &id) != 0)
		return;
	struct buf b;
	buf_init(&b);
	reply_view(req, catalog_view_product(id, &b), &b);
}

/* What the pages need to render: shop name, currency, gateways, demo banner. */
static void shop_config(struct http_req *req)
{
	const struct config *cfg = http_config(req);
	json_t *gw = json_array();
	/* Enabled and up only: a gateway whose breaker is open is out of the checkout. */
	for (size_t i = 0; pay_gateway_at(i); i++) {
		if (pay_gateway_offered(cfg, pay_gateway_at(i)))
			json_array_append_new(gw, json_string(pay_gateway_at(i)->name));
	}
	json_t *j = json_pack("{ss ss so so sb}", "name", cfg->shop_name, "currency", cfg->currency,
	                      "gateways", gw, "channels", pay_channels_json(cfg), "sandbox",
	                      cfg->sandbox_enabled);
	json_object_update_new(j, shop_info_json(cfg)); /* logo_url, notice, contact_url */
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	api_reply_cached_json(req, text ? text : "{}", text ? strlen(text) : 2);
	free(text);
}

const struct http_route shop_api_routes[] = {
    {"GET", "/api/categories", categories, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/api/products", products, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/api/products/{id}", product, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/api/config", shop_config, HTTP_BODY_DEFAULT, HTTP_CORE},
};
const size_t shop_api_nroutes = sizeof shop_api_routes / sizeof shop_api_routes[0];
