/* Mail through libcurl SMTP ([smtp] tls: STARTTLS, implicit TLS or, to this machine only,
 * none), run on the jobs thread only. */
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

/* RFC 2047 encoded-words of at most 36 bytes of text each (cut between UTF-8 characters),
 * folded onto continuation lines: every header line stays within 78 characters. */
static void encode_words(struct buf *b, const char *text)
{
	size_t n = strlen(text), i = 0;
	while (i < n) {
		size_t take = util_utf8_prefix(text + i, 36);
		if (take == 0)
			take = n - i < 36 ? n - i : 36;
		char out[64];
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text + i, (int)take);
		buf_printf(b, "%s=?UTF-8?B?%s?=", i ? "\r\n " : " ", out);
		i += take;
	}
}

/* Quoted-printable (RFC 2045): the body goes out as 7-bit lines of at most 76 characters,
 * however long a key line is and whatever the server says about 8BITMIME. */
static void encode_qp(struct buf *b, const char *body)
{
	size_t col = 0;
	for (const unsigned char *p = (const unsigned char *)body; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			buf_puts(b, "\r\n");
			p++;
			col = 0;
			continue;
		}
		int last = p[1] == '\0' || (p[1] == '\r' && p[2] == '\n');
		int plain =
		    (*p >= 33 && *p <= 126 && *p != '=') || ((*p == ' ' || *p == '\t') && !last);
		size_t width = plain ? 1 : 3;
		if (col + width > 75) {
			buf_puts(b, "=\r\n"); /* soft line break */
			col = 0;
		}
		if (plain)
			buf_append(b, p, 1);
		else
			buf_printf(b, "=%02X", *p);
		col += width;
	}
}

/* The body: plain text alone, or the text and its HTML twin as multipart/alternative. */
static void put_content(struct buf *b, const struct mail *m)
{
	static const char part_head[] = "Content-Type: %s; charset=UTF-8\r\n"
	                                "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
	if (!m->html) {
		buf_printf(b, part_head, "text/plain");
		encode_qp(b, m->body);
		return;
	}
	/* Quoted-printable never yields "=_", so the boundary cannot occur inside a part. */
	char id[33];
	sec_random_hex(id, 16);
	buf_printf(b,
	           "Content-Type: multipart/alternative; boundary=\"=_cardshop_%s\"\r\n\r\n"
	           "This is a multi-part message in MIME format.\r\n",
	           id);
	const char *types[2] = {"text/plain", "text/html"}, *parts[2] = {m->body, m->html};
	for (int i = 0; i < 2; i++) {
		buf_printf(b, "\r\n--=_cardshop_%s\r\n", id);
		buf_printf(b, part_head, types[i]);
		encode_qp(b, parts[i]);
	}
	buf_printf(b, "\r\n--=_cardshop_%s--\r\n", id);
}

static char *build_message(const char *from_name, const char *from_addr, const struct mail *m)
{
	struct buf b;
	buf_init(&b);
	char date[64], id[33];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	sec_random_hex(id, 16);
	buf_printf(&b, "Date: %s\r\nFrom:", date);
	if (from_name[0]) {
		encode_words(&b, from_name);
		buf_printf(&b, "\r\n <%s>\r\n", from_addr);
	} else {
		buf_printf(&b, " %s\r\n", from_addr);
	}
	buf_printf(&b, "To: %s\r\nSubject:", m->to);
	encode_words(&b, m->subject);
	buf_printf(&b, "\r\nMessage-ID: <%s%s>\r\nMIME-Version: 1.0\r\n", id,
	           strchr(from_addr, '@'));
	if (m->lang[0])
		buf_printf(&b, "Content-Language: %s\r\n", m->lang);
	put_content(&b, m);
	return buf_release(&b);
}

/* The server's last refusal (4xx/5xx), so the job's error names its reason ("550 5.1.1 no
 * such user"), not only curl's summary. */
struct reply_capture {
	char line[256];
};

static int debug_cb(CURL *curl, curl_infotype type, char *data, size_t size, void *arg)
{
	(void)curl;
	struct reply_capture *c = arg;
	if (type != CURLINFO_HEADER_IN) /* never what we sent: AUTH carries the password */
		return 0;
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	const char *nl = memrchr(data, '\n', size);
	const char *line = nl ? nl + 1 : data;
	size_t n = (size_t)(data + size - line);
	if (n == 0 || (line[0] != '4' && line[0] != '5'))
		return 0; /* keep the last refusal, not the "221 Bye" after it */
	n = util_utf8_prefix(line, n < sizeof c->line - 1 ? n : sizeof c->line - 1);
	memcpy(c->line, line, n);
	c->line[n] = '\0';
	return 0;
}

/* implicit TLS wants smtps://; the rest keep the configured URL */
static char *mail_url(const struct config *cfg)
{
	if (strcmp(cfg->smtp_tls, "tls") == 0 && strncmp(cfg->smtp_url, "smtp://", 7) == 0)
		return xasprintf("smtps://%s", cfg->smtp_url + 7);
	return xstrdup(cfg->smtp_url);
}

static void set_tls(CURL *curl, const struct config *cfg)
{
	/* The mail holds card keys (and AUTH a password): off this machine, STARTTLS is required,
	 * not merely tried, so a stripped STARTTLS cannot turn it into plain text. */
	long use = util_url_host_is_loopback(cfg->smtp_url) ? CURLUSESSL_TRY : CURLUSESSL_ALL;
	if (strcmp(cfg->smtp_tls, "none") == 0)
		use = CURLUSESSL_NONE; /* config load allows it for this machine only */
	curl_easy_setopt(curl, CURLOPT_USE_SSL, use);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, cfg->smtp_tls_verify ? 1L : 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, cfg->smtp_tls_verify ? 2L : 0L);
	if (cfg->smtp_ca_file[0])
		curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->smtp_ca_file);
}

static void report_error(char *err, size_t errlen, CURLcode rc, const char *detail,
                         const struct reply_capture *c)
{
	const char *what = detail[0] ? detail : curl_easy_strerror(rc);
	const char *hint = rc == CURLE_PEER_FAILED_VERIFICATION
	                       ? " (set [smtp] ca_file to the server's CA, or tls_verify = false)"
	                       : "";
	if (c->line[0])
		snprintf(err, errlen, "smtp: %s%s (server said: %s)", what, hint, c->line);
	else
		snprintf(err, errlen, "smtp: %s%s", what, hint);
}

int mail_send(const struct config *cfg, const struct mail *m, char *err, size_t errlen)
{
	char *from_name, *from_addr;
	if (util_mail_from_parse(cfg->smtp_from, &from_name, &from_addr) != 0) {
		snprintf(err, errlen, "mail is off: [smtp] from is not an address");
		return -1;
	}
	CURL *curl = curl_easy_init();
	if (!curl) {
		snprintf(err, errlen, "curl init failed");
		free(from_name);
		free(from_addr);
		return -1;
	}
	char *msg = build_message(from_name, from_addr, m);
	char *url = mail_url(cfg);
	struct upload u = {msg, strlen(msg), 0};
	struct reply_capture cap = {""};
	char detail[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpt = curl_slist_append(NULL, m->to);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from_addr); /* the envelope: the address alone */
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(curl, CURLOPT_READDATA, &u);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &cap);
	curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
	set_tls(curl, cfg);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)cfg->smtp_timeout);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (cfg->smtp_username[0]) {
		curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->smtp_username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg->smtp_password);
	}
	CURLcode rc = curl_easy_perform(curl);
	if (rc != CURLE_OK)
		report_error(err, errlen, rc, detail, &cap);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(curl);
	sec_wipe(msg, strlen(msg));
	free(msg);
	free(url);
	free(from_name);
	free(from_addr);
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

int job_lookup_mail(const struct config *cfg, json_t *payload, char *err, size_t errlen)
{
	struct mail m = {0};
	const char *email = json_string_value(json_object_get(payload, "email"));
	if (!email)
		return 0; /* nothing to send to */
	return send_composed(cfg, lookup_mail_compose(cfg, email, &m), &m, err, errlen);
}
