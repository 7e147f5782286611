/* The Cookie header parser (RFC 6265 section 5.4 as browsers send it: "a=1; b=2"). */
#include <string.h>

#include "cardshop/http.h"

static int cookie_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims spaces and tabs around [*s, *e). */
static void cookie_trim(const char **s, const char **e)
{
	while (*s < *e && cookie_ws(**s))
		(*s)++;
	while (*e > *s && cookie_ws((*e)[-1]))
		(*e)--;
}

int http_cookie_parse(const char *header, const char *name, const char **val, size_t *len)
{
	size_t nlen = name ? strlen(name) : 0;
	if (!header || nlen == 0)
		return -1;
	for (const char *p = header; *p;) {
		const char *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			const char *ns = p, *ne = eq, *vs = eq + 1, *ve = end;
			cookie_trim(&ns, &ne);
			cookie_trim(&vs, &ve);
			if ((size_t)(ne - ns) == nlen && memcmp(ns, name, nlen) == 0) {
				/* A quoted value (cookie-value = DQUOTE *cookie-octet DQUOTE) means
				 * what is inside the quotes. */
				if (ve - vs >= 2 && vs[0] == '"' && ve[-1] == '"') {
					vs++;
					ve--;
				}
				*val = vs;
				*len = (size_t)(ve - vs);
				return 0;
			}
		}
		p = *end ? end + 1 : end;
	}
	return -1;
}
