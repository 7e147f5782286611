/* The network half of the outgoing notifications (the events are put by shop/notify.c): the
 * signed webhook POST and the Telegram sendMessage call. Neither the secret, the bot token nor
 * the URLs (which may hold them) ever go into a log line or a job's error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/fetch.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"
#include "internal.h"

/* A receiver's reply is read (and dropped) up to this size; a bigger page is still a reply. */
#define REPLY_MAX (256 * 1024)

/* A receiver that did not answer at all (down, or a timeout) is not called again for
 * PAUSE_S: each event would otherwise wait out its own timeout and hold the buyers' mail
 * behind it on the one jobs thread. Jobs due meanwhile fail at once and keep their backoff.
 * Only the jobs thread runs these handlers, so the marks need no lock. */
#define PAUSE_S 30
static int64_t webhook_paused_until, telegram_paused_until;

static int paused(int64_t until, const char *what, char *err, size_t errlen)
{
	if (util_now() >= until)
		return 0;
	snprintf(err, errlen, "%s: receiver unreachable a moment ago; next try later", what);
	return 1;
}

int job_webhook(const struct config *cfg, json_t *payload, char *err, size_t errlen)
{
	const char *body = json_string_value(json_object_get(payload, "body"));
	if (!body) {
		snprintf(err, errlen, "webhook: bad payload");
		return JOB_GIVE_UP;
	}
	if (!cfg->webhook_url[0] || !cfg->webhook_secret[0]) {
		snprintf(err, errlen,
		         "webhook is off: [notify] webhook_url or webhook_secret is empty");
		return JOB_GIVE_UP;
	}
	/* Signed at each try, so t is fresh for a receiver that checks its age; the body bytes
	 * (and the event id in them) are the same every time. */
	size_t len = strlen(body);
	char sig[NOTIFY_SIGNATURE_MAX], sig_header[NOTIFY_SIGNATURE_MAX + 32], event_header[96];
	notify_signature(cfg->webhook_secret, util_now(), body, len, sig);
	snprintf(sig_header, sizeof sig_header, "X-Cardshop-Signature: %s", sig);
	snprintf(event_header, sizeof event_header, "X-Cardshop-Event: %s",
	         json_string_value(json_object_get(payload, "event"))
	             ? json_string_value(json_object_get(payload, "event"))
	             : "");
	const char *headers[] = {sig_header, event_header, "User-Agent: cardshop-webhook/1", NULL};
	struct fetch_req r = {.url = cfg->webhook_url,
	                      .body = body,
	                      .body_len = len,
	                      .content_type = "application/json",
	                      .timeout_s = 10,
	                      .max_reply = REPLY_MAX,
	                      .headers = headers};
	struct fetch_reply reply;
	char why[128];
	int rc = -1;
	if (paused(webhook_paused_until, "webhook", err, errlen))
		return -1;
	if (fetch_http(&r, &reply, why, sizeof why) != 0) {
		snprintf(err, errlen, "webhook: %s", why);
		webhook_paused_until = util_now() + PAUSE_S;
	} else if (reply.status < 200 || reply.status > 299) {
		snprintf(err, errlen, "webhook answered %ld", reply.status);
	} else {
		rc = 0;
	}
	fetch_reply_cleanup(&reply);
	return rc;
}

/* Telegram's error description, e.g. "Bad Request: chat not found" (never holds the token). */
static void telegram_error(const struct fetch_reply *reply, char *err, size_t errlen)
{
	json_t *j = reply->body.len ? json_loads(reply->body.data, 0, NULL) : NULL;
	const char *d = json_string_value(json_object_get(j, "description"));
	snprintf(err, errlen, "telegram answered %ld: %.120s", reply->status, d ? d : "");
	json_decref(j);
}

int job_telegram(const struct config *cfg, json_t *payload, char *err, size_t errlen)
{
	const char *text = json_string_value(json_object_get(payload, "text"));
	if (!text) {
		snprintf(err, errlen, "telegram: bad payload");
		return JOB_GIVE_UP;
	}
	if (!cfg->telegram_bot_token[0] || !cfg->telegram_chat_id[0]) {
		snprintf(err, errlen,
		         "telegram is off: [notify] telegram_bot_token or chat_id is empty");
		return JOB_GIVE_UP;
	}
	/* Plain text (no parse_mode), so a product name needs no escaping. */
	json_t *msg = json_pack("{ss ss sb}", "chat_id", cfg->telegram_chat_id, "text", text,
	                        "disable_web_page_preview", 1);
	char *body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (!body) {
		snprintf(err, errlen, "telegram: cannot build the message");
		return -1;
	}
	if (paused(telegram_paused_until, "telegram", err, errlen)) {
		free(body);
		return -1;
	}
	char *url =
	    xasprintf("%s/bot%s/sendMessage", cfg->telegram_api_url, cfg->telegram_bot_token);
	struct fetch_req r = {.url = url,
	                      .body = body,
	                      .body_len = strlen(body),
	                      .content_type = "application/json",
	                      .timeout_s = 10,
	                      .max_reply = REPLY_MAX};
	struct fetch_reply reply;
	char why[128];
	int rc = -1;
	if (fetch_http(&r, &reply, why, sizeof why) != 0) {
		snprintf(err, errlen, "telegram: %s", why);
		telegram_paused_until = util_now() + PAUSE_S;
	} else {
		json_t *j = reply.body.len ? json_loads(reply.body.data, 0, NULL) : NULL;
		if (reply.status == 200 && json_is_true(json_object_get(j, "ok")))
			rc = 0;
		else
			telegram_error(&reply, err, errlen);
		json_decref(j);
	}
	fetch_reply_cleanup(&reply);
	free(url);
	free(body);
	return rc;
}
