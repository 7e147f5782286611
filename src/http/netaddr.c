/* Address lists ("127.0.0.1, 10.0.0.0/8, ::1") for trusted proxies and /metrics access. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/http.h"
#include "cardshop/util.h"

/* Parses "a.b.c.d" or an IPv6 address (IPv4-mapped IPv6 folds to IPv4) into 16 bytes. */
static int parse_ip(const char *s, unsigned char out[16], int *is_v4)
{
	unsigned char v4[4];
	if (inet_pton(AF_INET, s, v4) == 1) {
		memset(out, 0, 16);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		*is_v4 = 1;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		*is_v4 = memcmp(out, mapped, 12) == 0;
		return 0;
	}
	return -1;
}

static int prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)bytes) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

static int entry_match(const unsigned char ip[16], const char *entry)
{
	char *copy = xstrdup(entry);
	char *slash = strchr(copy, '/');
	int bits = -1;
	if (slash) {
		*slash = '\0';
		int64_t v;
		if (util_parse_i64(slash + 1, 0, 128, &v) != 0) {
			free(copy);
			return 0;
		}
		bits = (int)v;
	}
	unsigned char net[16];
	int v4;
	int ok = parse_ip(copy, net, &v4) == 0;
	free(copy);
	if (!ok)
		return 0;
	/* A prefix on a dotted IPv4 entry counts IPv4 bits; on an IPv6 entry (mapped or not),
	 * IPv6 bits. */
	if (bits < 0)
		bits = 128;
	else if (v4 && !strchr(entry, ':'))
		bits += 96;
	if (bits > 128)
		return 0;
	return prefix_match(ip, net, bits);
}

int http_addr_in_list(const char *ip, const char *list)
{
	unsigned char addr[16];
	int v4;
	if (!ip || !list || parse_ip(ip, addr, &v4) != 0)
		return 0;
	char *copy = xstrdup(list), *save = NULL;
	int found = 0;
	for (char *tok = strtok_r(copy, ", \t", &save); tok && !found;
	     tok = strtok_r(NULL, ", \t", &save))
		found = entry_match(addr, tok);
	free(copy);
	return found;
}

int http_addr_parse(const char *s, unsigned char out[16])
{
	int v4;
	return parse_ip(s, out, &v4);
}

static int xff_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* Walks from the right: the entries nearest to us are the ones our proxies appended; a client
 * can put any number of its own in front. The walk stops at the first untrusted address (the
 * client) or at an entry that is not an address (nothing left of it is believed). */
void http_client_choose(const char *peer, const char *xff, const char *trusted, char *out, size_t n)
{
	snprintf(out, n, "%s", peer);
	if (!xff || !http_addr_in_list(peer, trusted))
		return;
	char *copy = xstrdup(xff);
	for (char *end = copy + strlen(copy);;) {
		while (end > copy && xff_sep(end[-1]))
			*--end = '\0';
		if (end == copy)
			break;
		char *start = end;
		while (start > copy && !xff_sep(start[-1]))
			start--;
		unsigned char tmp[16];
		if (http_addr_parse(start, tmp) != 0)
			break;
		snprintf(out, n, "%s", start);
		if (!http_addr_in_list(start, trusted))
			break;
		end = start;
	}
	free(copy);
}
