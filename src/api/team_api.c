/* Admin API of the team and the shop's settings: admins, own password, TOTP, settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/qr.h"
#include "internal.h"

/* A signed-in admin (owner where the route says so) and its JSON body: 0, or -1 after a reply. */
static int team_begin(struct http_req *req, struct actor *who, json_t **in)
{
	const struct admin_session *s = api_require_admin(req);
	if (!s || (in && !(*in = http_json(req))))
		return -1;
	*who = api_actor(req, s);
	return 0;
}

/* Guesses of a code or of the current password from inside a session (a stolen cookie wanting
 * to turn 2FA off, or to learn the password) are limited per admin, whatever the address. */
#define GUESSES_PER_ADMIN 20
#define GUESS_WINDOW 300

static int guess_limit(struct http_req *req, const struct actor *who)
{
	int64_t wait = sec_rate_hit("admin-guess", who->username, GUESSES_PER_ADMIN, GUESS_WINDOW);
	if (wait <= 0)
		return 0;
	struct shop_err err = {.status = SHOP_RATE_LIMITED, .retry_after = wait};
	snprintf(err.message, sizeof err.message, "too many attempts; try again later");
	api_reply_shop_err(req, &err);
	return -1;
}

static void admins_list(struct http_req *req)
{
	struct shop_err err = {0};
	if (api_require_admin(req))
		api_reply_view(req, "admins", admins_json(&err), &err);
}

static void admins_add(struct http_req *req)
{
	struct actor who;
	json_t *in;
	struct shop_err err = {0};
	int64_t id = 0;
	if (team_begin(req, &who, &in) != 0)
		return;
	if (admin_add(&who, in, &id, &err) != 0)
		api_reply_shop_err(req, &err);
	else
		http_reply_json(req, 201, json_pack("{sI}", "id", (json_int_t)id));
}

static void admins_patch(struct http_req *req)
{
	struct actor who;
	json_t *in;
	struct shop_err err = {0};
	int64_t id;
	if (team_begin(req, &who, &in) != 0 || api_path_id(req, "id", &id) != 0)
		return;
	if (admin_update(&who, id, in, &err) != 0)
		api_reply_shop_err(req, &err);
	else
		http_reply_json(req, 200, json_pack("{sI}", "id", (json_int_t)id));
}

static void password_change(struct http_req *req)
{
	struct actor who;
	json_t *in;
	struct shop_err err = {0};
	if (team_begin(req, &who, &in) != 0 || guess_limit(req, &who) != 0)
		return;
	if (admin_password_change(&who, http_cookie(req, ADMIN_COOKIE), in, &err) != 0)
		api_reply_shop_err(req, &err);
	else
		http_reply_json(req, 200, json_pack("{sb}", "ok", 1));
}

static void totp_setup(struct http_req *req)
{
	struct actor who;
	struct shop_err err = {0};
	char secret[ADMIN_TOTP_SECRET_LEN + 1];
	char *uri = NULL;
	if (team_begin(req, &who, NULL) != 0)
		return;
	if (admin_totp_setup(&who, http_config(req)->shop_name, secret, &uri, &err) != 0) {
		api_reply_shop_err(req, &err);
		return;
	}
	char *svg = qr_svg_new(uri);
	http_add_header(req, "Cache-Control", "no-store");
	http_reply_json(
	    req, 200,
	    json_pack("{ss ss ss?}", "secret", secret, "otpauth_uri", uri, "qr_svg", svg));
	sec_wipe(secret, sizeof secret);
	sec_wipe(uri, strlen(uri));
	free(uri);
	free(svg);
}

/* enable and disable: {"code": "123456"}. */
static void totp_switch(struct http_req *req, int on)
{
	struct actor who;
	json_t *in;
	struct shop_err err = {0};
	if (team_begin(req, &who, &in) != 0 || guess_limit(req, &who) != 0)
		return;
	json_t *code = json_object_get(in, "code");
	if (!json_is_string(code) || json_object_size(in) != 1) {
		http_reply_error(req, 400, "invalid_request", "code: required string of 6 digits");
		return;
	}
	int rc = on ? admin_totp_enable(&who, json_string_value(code), &err)
	            : admin_totp_disable(&who, json_string_value(code), &err);
	if (rc != 0)
		api_reply_shop_err(req, &err);
	else
		http_reply_json(req, 200, json_pack("{sb}", "totp", on));
}

static void totp_enable(struct http_req *req)
{
	totp_switch(req, 1);
}

static void totp_disable(struct http_req *req)
{
	totp_switch(req, 0);
}

static void settings_get(struct http_req *req)
{
	struct shop_err err = {0};
	if (!api_require_admin(req))
		return;
	http_add_header(req, "Cache-Control", "no-store");
	api_reply_view(req, "settings", settings_json(&err), &err);
}

static void settings_patch(struct http_req *req)
{
	struct actor who;
	json_t *in;
	struct shop_err err = {0};
	if (team_begin(req, &who, &in) != 0)
		return;
	if (settings_update(&who, in, &err) != 0)
		api_reply_shop_err(req, &err);
	else
		api_reply_view(req, "settings", settings_json(&err), &err);
}

#define OWNER (HTTP_BODY_DEFAULT | HTTP_GUARDED | HTTP_OWNER)
#define ANY_ADMIN (HTTP_BODY_DEFAULT | HTTP_GUARDED)

const struct http_route team_api_routes[] = {
    {"GET", "/api/admin/admins", admins_list, OWNER, HTTP_SHEDDABLE},
    {"POST", "/api/admin/admins", admins_add, OWNER, HTTP_CORE},
    {"PATCH", "/api/admin/admins/{id}", admins_patch, OWNER, HTTP_CORE},
    {"POST", "/api/admin/password", password_change, ANY_ADMIN, HTTP_CORE},
    {"POST", "/api/admin/totp/setup", totp_setup, ANY_ADMIN, HTTP_CORE}, /* a body is ignored */
    {"POST", "/api/admin/totp/enable", totp_enable, ANY_ADMIN, HTTP_CORE},
    {"POST", "/api/admin/totp/disable", totp_disable, ANY_ADMIN, HTTP_CORE},
    {"GET", "/api/admin/settings", settings_get, OWNER, HTTP_CORE},
    {"PATCH", "/api/admin/settings", settings_patch, OWNER, HTTP_CORE},
};
const size_t team_api_nroutes = sizeof team_api_routes / sizeof team_api_routes[0];
