/* Mail through libcurl SMTP (STARTTLS when offered), run on the jobs thread only. */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cardshop/log.h"
#include "cardshop/metrics.h"
#include "cardshop/sec.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"
#include "internal.h"

struct upload {
	const char *data;
	size_t len, pos;
};

static size_t read_cb(char *out, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t room = size * nmemb, left = u->len - u->pos;
	size_t n = left < room ? left : room;
	memcpy(out, u->data + u->pos, n);
	u->pos += n;
	return n;
}

/* RFC 2047 encoded-word, so any UTF-8 subject is safe in a header. */
/* RFC 2047 encoded-words of 60 characters (36 bytes of text each, cut between UTF-8
 * characters), folded onto continuation lines: every line stays within 78 characters. */
static void encode_subject(struct buf *b, const char *subject)
{
	size_t n = strlen(subject), i = 0;
	buf_puts(b, "Subject:");
	while (i < n) {
		size_t take = n - i < 36 ? n - i : 36;
		while (take > 0 && i + take < n &&
		       ((unsigned char)subject[i + take] & 0xc0) == 0x80)
			take--; /* do not split a character */
		if (take == 0)
			take = n - i < 36 ? n - i : 36;
		char out[64];
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)subject + i,
		                (int)take);
		buf_printf(b, "%s=?UTF-8?B?%s?=", i ? "\r\n " : " ", out);
		i += take;
	}
	buf_puts(b, "\r\n");
}

static char *build_message(const struct config *cfg, const struct mail *m)
{
	struct buf b;
	buf_init(&b);
	char date[64], id[33];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	sec_random_hex(id, 16);
	const char *at = strchr(cfg->smtp_from, '@');
	buf_printf(&b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date, cfg->smtp_from, m->to);
	encode_subject(&b, m->subject);
	buf_printf(&b, "Message-ID: <%s%s>\r\nMIME-Version: 1.0\r\n", id, at ? at : "@cardshop");
	buf_puts(
	    &b,
	    "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
	buf_puts(&b, m->body);
	return buf_release(&b);
}

int mail_send(const struct config *cfg, const struct mail *m, char *err, size_t errlen)
{
	CURL *curl = curl_easy_init();
	if (!curl) {
		snprintf(err, errlen, "curl init failed");
		return -1;
	}
	char *msg = build_message(cfg, m);
	struct upload u = {msg, strlen(msg), 0};
	struct curl_slist *rcpt = curl_slist_append(NULL, m->to);
	curl_easy_setopt(curl, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, cfg->smtp_from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(curl, CURLOPT_READDATA, &u);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	/* The mail holds card keys (and AUTH a password): off this machine, STARTTLS is required,
	 * not merely tried, so a stripped STARTTLS cannot turn it into plain text. */
	curl_easy_setopt(
	    curl, CURLOPT_USE_SSL,
	    (long)(util_url_host_is_loopback(cfg->smtp_url) ? CURLUSESSL_TRY : CURLUSESSL_ALL));
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)cfg->smtp_timeout);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (cfg->smtp_username[0]) {
		curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->smtp_username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg->smtp_password);
	}
	CURLcode rc = curl_easy_perform(curl);
	if (rc != CURLE_OK)
		snprintf(err, errlen, "smtp: %s", curl_easy_strerror(rc));
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(curl);
	sec_wipe(msg, strlen(msg));
	free(msg);
	metrics_inc(rc == CURLE_OK ? M_MAIL_SENT : M_MAIL_FAILED, 1);
	return rc == CURLE_OK ? 0 : -1;
}

static int send_composed(const struct config *cfg, int composed, struct mail *m, char *err,
                         size_t errlen)
{
	if (composed > 0)
		return 0; /* nothing to send (order gone, or no alert address): done, not failed */
	if (composed < 0) {
		/* The order or a key could not be read: retried, never sent incomplete. */
		snprintf(err, errlen, "mail not composed: the order could not be read");
		mail_free(m);
		return -1;
	}
	if (!cfg->smtp_from[0]) {
		/* Visible as a failed job in the admin, not silently "done". */
		log_warn("mail not sent: [smtp] from is empty",
		         json_pack("{ss}", "subject", m->subject));
		snprintf(err, errlen, "mail is off: [smtp] from is empty");
		mail_free(m);
		return JOB_GIVE_UP;
	}
	int rc = mail_send(cfg, m, err, errlen);
	if (rc == 0)
		log_info("mail sent", json_pack("{ss}", "subject", m->subject));
	mail_free(m);
	return rc;
}

int job_order_mail(const struct config *cfg, json_t *payload, char *err, size_t errlen)
{
	struct mail m = {0};
	json_int_t id = json_integer_value(json_object_get(payload, "order_id"));
	return send_composed(cfg, order_mail_compose(cfg, id, &m), &m, err, errlen);
}

int job_alert_mail(const struct config *cfg, json_t *payload, char *err, size_t errlen)
{
	struct mail m = {0};
	json_int_t id = json_integer_value(json_object_get(payload, "order_id"));
	const char *what = json_string_value(json_object_get(payload, "what"));
	log_error("merchant alert",
	          json_pack("{sI ss}", "order_id", (json_int_t)id, "what", what ? what : ""));
	return send_composed(cfg, alert_mail_compose(cfg, id, what ? what : "", &m), &m, err,
	                     errlen);
}
