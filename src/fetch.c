/* The one libcurl helper for HTTP calls to the outside (and to ourselves, for the sandbox). */
#include "cardshop/fetch.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct sink {
	struct buf *b;
	size_t max;
	int overflow;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	if (s->b->len + n > s->max) {
		s->overflow = 1;
		return 0; /* a runaway body ends the call */
	}
	buf_append(s->b, data, n);
	return n;
}

static void set_options(CURL *curl, const struct fetch_req *r, struct sink *sink,
                        struct curl_slist **headers)
{
	curl_easy_setopt(curl, CURLOPT_URL, r->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	                 r->connect_timeout_s ? r->connect_timeout_s : 5L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, r->timeout_s ? r->timeout_s : 10L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
	if (r->body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		char line[160];
		snprintf(line, sizeof line, "Content-Type: %s",
		         r->content_type ? r->content_type : "application/x-www-form-urlencoded");
		*headers = curl_slist_append(*headers, line);
	}
	for (const char *const *h = r->headers; h && *h; h++)
		*headers = curl_slist_append(*headers, *h);
	if (*headers)
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
}

int fetch_http(const struct fetch_req *r, struct fetch_reply *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	buf_init(&out->body);
	CURL *curl = curl_easy_init();
	if (!curl) {
		snprintf(err, errlen, "curl init failed");
		return -1;
	}
	struct sink sink = {&out->body, r->max_reply ? r->max_reply : 65536, 0};
	struct curl_slist *headers = NULL;
	set_options(curl, r, &sink, &headers);
	CURLcode rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	if (rc == CURLE_OK) {
		buf_cstr(&out->body);
		return 0;
	}
	/* curl's own text names the failure without the URL (which may carry a key). */
	snprintf(err, errlen, "%s", sink.overflow ? "reply too large" : curl_easy_strerror(rc));
	fetch_reply_cleanup(out);
	return -1;
}

void fetch_reply_cleanup(struct fetch_reply *r)
{
	buf_cleanup(&r->body);
	r->status = 0;
}
