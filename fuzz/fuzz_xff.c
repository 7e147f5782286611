/* Fuzz target: the client address chosen from X-Forwarded-For (http_client_choose). Input:
 * "<peer>\n<trusted list>\n<header>". The choice is the peer or one of the header's addresses,
 * and never a trusted proxy while an untrusted address sits right of the last unreadable
 * entry: checked against a model that splits the header left to right. */
#include <string.h>

#include "cardshop/http.h"
#include "cardshop/util.h"
#include "fuzz.h"

#define MAX_TOKENS 2048 /* a 4,000-byte header holds at most 2,000 */

static int valid(const char *ip)
{
	unsigned char tmp[16];
	return http_addr_parse(ip, tmp) == 0;
}

/* The answer by the rule's own words: among the entries right of the last one that is no
 * address, the right-most untrusted; else the left-most of them; else the peer. */
static const char *model(const char *peer, char *xff, const char *trusted)
{
	if (!http_addr_in_list(peer, trusted))
		return peer;
	char *tok[MAX_TOKENS], *save = NULL;
	int n = 0, first = 0;
	for (char *t = strtok_r(xff, ", \t", &save); t && n < MAX_TOKENS;
	     t = strtok_r(NULL, ", \t", &save)) {
		tok[n++] = t;
		if (!valid(t))
			first = n; /* nothing at or left of an unreadable entry is believed */
	}
	for (int i = n - 1; i >= first; i--) {
		if (!http_addr_in_list(tok[i], trusted))
			return tok[i];
	}
	return first < n ? tok[first] : peer;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *nl1 = strchr(s, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
	if (!nl2 || nl1 - s >= 64 || strlen(nl2 + 1) > 4000) {
		free(s);
		return 0;
	}
	*nl1 = *nl2 = '\0';
	const char *peer = s, *trusted = nl1 + 1;
	char *xff = nl2 + 1;
	char out[64];
	http_client_choose(peer, xff, trusted, out, sizeof out);
	FUZZ_CHECK(memchr(out, '\0', sizeof out) != NULL);
	/* No header: always the peer. */
	char alone[64];
	http_client_choose(peer, NULL, trusted, alone, sizeof alone);
	FUZZ_CHECK(strcmp(alone, peer) == 0);
	char *copy = xstrdup(xff);
	const char *want = model(peer, copy, trusted);
	FUZZ_CHECK(strcmp(out, want) == 0);
	/* Peer or a header address; a header address only when the peer is trusted. */
	if (strcmp(out, peer) != 0) {
		FUZZ_CHECK(valid(out) && strstr(xff, out) != NULL);
		FUZZ_CHECK(http_addr_in_list(peer, trusted));
	}
	free(copy);
	free(s);
	return 0;
}
