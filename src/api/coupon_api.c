/* Admin coupon edits: PATCH (stop a leaked code, change its uses, expiry or cap) and DELETE
 * of a coupon no order used. Listing and creation live in admin_api.c. */
#include "internal.h"

/* A signed-in admin (CSRF checked) and the path id: 0, or -1 after a reply was sent. */
static int coupon_begin(struct http_req *req, struct actor *who, int64_t *id)
{
	const struct admin_session *s = api_require_admin(req);
	if (!s || api_path_id(req, "id", id) != 0)
		return -1;
	*who = api_actor(req, s);
	return 0;
}

static void coupon_patch(struct http_req *req)
{
	struct actor who;
	int64_t id;
	if (coupon_begin(req, &who, &id) != 0)
		return;
	json_t *in = http_json(req);
	if (!in)
		return;
	struct shop_err err = {0};
	if (coupon_update(&who, id, in, &err) != 0)
		api_reply_shop_err(req, &err);
	else
		api_reply_view(req, NULL, coupon_json(id, &err), &err);
}

static void coupon_remove(struct http_req *req)
{
	struct actor who;
	int64_t id;
	if (coupon_begin(req, &who, &id) != 0)
		return;
	struct shop_err err = {0};
	if (coupon_delete(&who, id, &err) != 0)
		api_reply_shop_err(req, &err);
	else
		http_reply_json(req, 200, json_pack("{sb}", "deleted", 1));
}

const struct http_route coupon_api_routes[] = {
    {"PATCH", "/api/admin/coupons/{id}", coupon_patch, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_CORE},
    {"DELETE", "/api/admin/coupons/{id}", coupon_remove, HTTP_BODY_NONE | HTTP_GUARDED, HTTP_CORE},
};
const size_t coupon_api_nroutes = sizeof coupon_api_routes / sizeof coupon_api_routes[0];
