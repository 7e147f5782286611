/* Public shop API: catalog and shop configuration (orders live in order_api.c). */
#include "internal.h"

static void categories(struct http_req *req)
{
	struct shop_err err = {0};
	api_reply_view(req, "categories", categories_json(0, &err), &err);
}

static void products(struct http_req *req)
{
	int bad = 0;
	int64_t cat = api_query_int(req, "category_id", 0, 1, INT64_MAX, &bad);
	struct shop_err err = {0};
	if (!bad && !http_replied(req))
		api_reply_view(req, "products", products_json(0, cat, &err), &err);
}

static void product(struct http_req *req)
{
	int64_t id;
	if (api_path_id(req, "id", &id) != 0)
		return;
	struct shop_err err = {0};
	api_reply_view(req, NULL, product_json(id, 0, &err), &err);
}

/* What the pages need to render: shop name, currency, gateways, demo banner. */
static void shop_config(struct http_req *req)
{
	const struct config *cfg = http_config(req);
	json_t *gw = json_array();
	if (cfg->epay_enabled)
		json_array_append_new(gw, json_string("epay"));
	if (cfg->sandbox_enabled)
		json_array_append_new(gw, json_string("sandbox"));
	http_reply_json(req, 200,
	                json_pack("{ss ss so sb}", "name", cfg->shop_name, "currency",
	                          cfg->currency, "gateways", gw, "sandbox", cfg->sandbox_enabled));
}

const struct http_route shop_api_routes[] = {
    {"GET", "/api/categories", categories, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/api/products", products, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/api/products/{id}", product, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/api/config", shop_config, HTTP_BODY_DEFAULT, HTTP_CORE},
};
const size_t shop_api_nroutes = sizeof shop_api_routes / sizeof shop_api_routes[0];
