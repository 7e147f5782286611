/* Fuzz target: address lists (http_addr_in_list) as the trusted-proxy and X-Forwarded-For
 * code uses them. Input: "<ip>\n<list>". An address written in the list matches itself, and
 * garbage entries never change the answer. */
#include <arpa/inet.h>
#include <string.h>

#include "cardshop/http.h"
#include "cardshop/util.h"
#include "fuzz.h"

static int ip_valid(const char *ip)
{
	unsigned char tmp[16];
	return inet_pton(AF_INET, ip, tmp) == 1 || inet_pton(AF_INET6, ip, tmp) == 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char *nl = strchr(s, '\n');
	const char *ip = s, *list = "";
	if (nl) {
		*nl = '\0';
		list = nl + 1;
	}
	int in = http_addr_in_list(ip, list);
	FUZZ_CHECK(in == 0 || in == 1);
	if (in)
		FUZZ_CHECK(ip_valid(ip));
	char *noisy = xasprintf("nonsense, 999.1.1.1/8, ::1/999, /, %s ,10.0.0.0/x", list);
	FUZZ_CHECK(http_addr_in_list(ip, noisy) == in);
	free(noisy);
	if (ip_valid(ip) && !strpbrk(ip, ", \t")) {
		char *with = xasprintf("%s,%s", list, ip);
		FUZZ_CHECK(http_addr_in_list(ip, with) == 1);
		free(with);
	}
	free(s);
	return 0;
}
