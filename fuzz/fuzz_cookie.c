/* Fuzz target: the Cookie header parser (http_cookie_parse). Input: "<name>\n<header>". A value
 * found lies inside the header and holds no ';'; a pair put first is the one found, and a pair
 * put last is found exactly when nothing before it matched. */
#include <string.h>

#include "cardshop/http.h"
#include "cardshop/util.h"
#include "fuzz.h"

/* A name the properties can build pairs with: no separator, space, '=' or quote. */
static int plain_name(const char *name)
{
	return *name && !strpbrk(name, ";= \t\"");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *nl = strchr(s, '\n');
	const char *name = s, *header = "";
	if (nl) {
		*nl = '\0';
		header = nl + 1;
	}
	const char *val = NULL;
	size_t len = 0;
	int found = http_cookie_parse(header, name, &val, &len) == 0;
	if (found) {
		size_t hlen = strlen(header);
		FUZZ_CHECK(val >= header && val <= header + hlen &&
		           len <= hlen - (size_t)(val - header));
		FUZZ_CHECK(memchr(val, ';', len) == NULL);
		FUZZ_CHECK(*name != '\0');
	}
	if (plain_name(name)) {
		const char *v2;
		size_t l2;
		char *first = xasprintf("%s=abc.123|x; %s", name, header);
		FUZZ_CHECK(http_cookie_parse(first, name, &v2, &l2) == 0);
		FUZZ_CHECK(l2 == 9 && memcmp(v2, "abc.123|x", 9) == 0);
		free(first);
		char *last = xasprintf("%s; %s=\"zz\"", header, name);
		FUZZ_CHECK(http_cookie_parse(last, name, &v2, &l2) == 0);
		if (found)
			FUZZ_CHECK(l2 == len && memcmp(v2, val, len) == 0);
		else
			FUZZ_CHECK(l2 == 2 && memcmp(v2, "zz", 2) == 0);
		free(last);
	}
	free(s);
	return 0;
}
