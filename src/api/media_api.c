/* Images and the shop's header: product image and logo uploads (type judged by the bytes, size
 * refused from the head), the public /uploads/ files, and the notice and contact link. */
#include <string.h>

#include "cardshop/config.h"
#include "internal.h"

/* A signed-in admin (the guard ran from the head), and the path id when want_id. */
static int media_begin(struct http_req *req, struct actor *who, int64_t *id)
{
	const struct admin_session *s = api_require_admin(req);
	if (!s || (id && api_path_id(req, "id", id) != 0))
		return -1;
	*who = api_actor(req, s);
	return 0;
}

/* The body as an image: 415 when its first bytes are no PNG, JPEG or WebP, whatever the
 * Content-Type says. NULL after replying. */
static const char *image_body(struct http_req *req, size_t *len)
{
	const char *body = http_body(req, len);
	if (!media_type_of(body, *len)) {
		http_reply_error(req, 415, "unsupported_media_type",
		                 "body: must be a PNG, JPEG or WebP image");
		return NULL;
	}
	return body;
}

static void reply_product(struct http_req *req, int64_t id, int rc, struct shop_err *err)
{
	if (rc != 0)
		api_reply_shop_err(req, err);
	else
		api_reply_view(req, NULL, product_json(id, 1, err), err);
}

static void product_image_upload(struct http_req *req)
{
	struct actor who;
	int64_t id;
	size_t len;
	const char *body;
	if (media_begin(req, &who, &id) != 0 || !(body = image_body(req, &len)))
		return;
	struct shop_err err = {0};
	int rc = product_image_set(&who, http_config(req), id, body, len, &err);
	reply_product(req, id, rc, &err);
}

static void product_image_delete(struct http_req *req)
{
	struct actor who;
	int64_t id;
	if (media_begin(req, &who, &id) != 0)
		return;
	struct shop_err err = {0};
	reply_product(req, id, product_image_clear(&who, http_config(req), id, &err), &err);
}

/* The configuration published now: a change made by this request is not in the one the
 * request started with. */
static void reply_info(struct http_req *req, int rc, struct shop_err *err)
{
	if (rc != 0)
		api_reply_shop_err(req, err);
	else
		http_reply_json(
		    req, 200,
		    shop_info_json(config_current() ? config_current() : http_config(req)));
}

static void logo_upload(struct http_req *req)
{
	struct actor who;
	size_t len;
	const char *body;
	if (media_begin(req, &who, NULL) != 0 || !(body = image_body(req, &len)))
		return;
	struct shop_err err = {0};
	reply_info(req, shop_logo_set(&who, http_config(req), body, len, &err), &err);
}

static void logo_delete(struct http_req *req)
{
	struct actor who;
	if (media_begin(req, &who, NULL) != 0)
		return;
	struct shop_err err = {0};
	reply_info(req, shop_logo_clear(&who, http_config(req), &err), &err);
}

static void shop_patch(struct http_req *req)
{
	struct actor who;
	json_t *in;
	if (media_begin(req, &who, NULL) != 0 || !(in = http_json(req)))
		return;
	struct shop_err err = {0};
	reply_info(req, shop_info_update(&who, in, &err), &err);
}

static void shop_get(struct http_req *req)
{
	if (api_require_admin(req))
		http_reply_json(req, 200, shop_info_json(http_config(req)));
}

/* A stored file never changes under its name (a new upload gets a new one): cached for a
 * year, and never sniffed into something else by the browser (nosniff is on every reply). */
static void upload_get(struct http_req *req)
{
	const char *type;
	uint64_t size;
	int fd = media_open(http_config(req), http_param(req, "name"), &type, &size);
	if (fd < 0) {
		http_reply_error(req, 404, "not_found", "no such file");
		return;
	}
	http_add_header(req, "Cache-Control", "public, max-age=31536000, immutable");
	http_reply_fd(req, 200, type, fd, size);
}

const struct http_route media_api_routes[] = {
    {"POST", "/api/admin/products/{id}/image", product_image_upload, HTTP_BODY_IMAGE | HTTP_GUARDED,
     HTTP_CORE},
    {"DELETE", "/api/admin/products/{id}/image", product_image_delete,
     HTTP_BODY_NONE | HTTP_GUARDED, HTTP_CORE},
    /* The shop's own header is the owner's, like the settings (staff get 403). */
    {"POST", "/api/admin/logo", logo_upload, HTTP_BODY_IMAGE | HTTP_GUARDED | HTTP_OWNER,
     HTTP_CORE},
    {"DELETE", "/api/admin/logo", logo_delete, HTTP_BODY_NONE | HTTP_GUARDED | HTTP_OWNER,
     HTTP_CORE},
    {"GET", "/api/admin/shop", shop_get, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_CORE},
    {"PATCH", "/api/admin/shop", shop_patch, HTTP_BODY_DEFAULT | HTTP_GUARDED | HTTP_OWNER,
     HTTP_CORE},
    {"GET", "/uploads/{name}", upload_get, HTTP_BODY_DEFAULT, HTTP_CORE},
};
const size_t media_api_nroutes = sizeof media_api_routes / sizeof media_api_routes[0];
