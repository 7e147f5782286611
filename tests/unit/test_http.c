/* Unit tests of the pure HTTP helpers: percent-decoding, query/form parsing and lookup, and
 * address-list matching for trusted proxies and /metrics (IPv4, IPv6, CIDR, mapped IPv4), the
 * client address chosen from X-Forwarded-For, and the Cookie header parser. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/http.h"
#include "cardshop/util.h"
/* The per-address counters are http/-internal; their probing and deletion are tested here. */
#include "../../src/http/internal.h"

#define LIT(lit) (lit), (sizeof(lit) - 1)

/* ---- kv_url_decode ---- */

/* Decodes s and returns the result (caller frees), failing the test on error. */
static char *decode_ok(const char *s, size_t len, int plus, size_t *outlen)
{
	char *out = NULL;
	ck_assert_msg(kv_url_decode(s, len, plus, &out, outlen) == 0, "refused '%.*s'", (int)len,
	              s);
	ck_assert_ptr_nonnull(out);
	return out;
}

static void decode_bad(const char *s, size_t len, int plus)
{
	char *out = (char *)"untouched";
	size_t outlen = 12345;
	ck_assert_msg(kv_url_decode(s, len, plus, &out, &outlen) == -1, "accepted '%.*s'", (int)len,
	              s);
	ck_assert_str_eq(out, "untouched");
	ck_assert_uint_eq(outlen, 12345);
}

START_TEST(test_decode_plain_and_escapes)
{
	size_t n = 0;
	char *s = decode_ok(LIT("abc"), 0, &n);
	ck_assert_str_eq(s, "abc");
	ck_assert_uint_eq(n, 3);
	free(s);
	s = decode_ok(LIT("a%20b"), 0, &n);
	ck_assert_str_eq(s, "a b");
	ck_assert_uint_eq(n, 3);
	free(s);
	s = decode_ok(LIT("%41%42%43"), 0, &n);
	ck_assert_str_eq(s, "ABC");
	free(s);
	s = decode_ok(LIT("%4a%4A"), 0, NULL); /* both hex cases; outlen optional */
	ck_assert_str_eq(s, "JJ");
	free(s);
	s = decode_ok(LIT("%E4%B8%AD%e6%96%87"), 0, &n);
	ck_assert_str_eq(s, "\xe4\xb8\xad\xe6\x96\x87");
	ck_assert_uint_eq(n, 6);
	free(s);
	s = decode_ok(LIT("x%41"), 0, &n); /* escape ending exactly at len */
	ck_assert_str_eq(s, "xA");
	free(s);
	s = decode_ok(LIT("%FF%01%0A"), 0, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(s, "\xff\x01\n", 3);
	free(s);
	s = decode_ok("", 0, 0, &n);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(n, 0);
	free(s);
	/* Only len bytes are read. */
	s = decode_ok("abc%zz", 3, 0, &n);
	ck_assert_str_eq(s, "abc");
	free(s);
	s = decode_ok("%41%", 3, 0, &n);
	ck_assert_str_eq(s, "A");
	free(s);
	/* No double decoding. */
	s = decode_ok(LIT("%2541"), 0, &n);
	ck_assert_str_eq(s, "%41");
	free(s);
}
END_TEST

START_TEST(test_decode_plus)
{
	char *s = decode_ok(LIT("a+b"), 1, NULL);
	ck_assert_str_eq(s, "a b");
	free(s);
	s = decode_ok(LIT("a+b"), 0, NULL);
	ck_assert_str_eq(s, "a+b");
	free(s);
	/* An encoded plus stays a plus in both modes. */
	s = decode_ok(LIT("%2B+%2b"), 1, NULL);
	ck_assert_str_eq(s, "+ +");
	free(s);
	s = decode_ok(LIT("%2B+%2b"), 0, NULL);
	ck_assert_str_eq(s, "+++");
	free(s);
	s = decode_ok(LIT("+++"), 1, NULL);
	ck_assert_str_eq(s, "   ");
	free(s);
}
END_TEST

START_TEST(test_decode_refuses)
{
	decode_bad(LIT("%00"), 0);
	decode_bad(LIT("%00"), 1);
	decode_bad(LIT("abc%00def"), 0);
	decode_bad(LIT("%zz"), 0);
	decode_bad(LIT("%4"), 0);
	decode_bad(LIT("%"), 0);
	decode_bad(LIT("%"), 1);
	decode_bad(LIT("a%"), 0);
	decode_bad(LIT("ab%4"), 0);
	decode_bad(LIT("%%"), 0);
	decode_bad(LIT("%%41"), 0);
	decode_bad(LIT("%g0"), 0);
	decode_bad(LIT("%0g"), 0);
	decode_bad(LIT("%-1"), 0);
	decode_bad(LIT("% 1"), 0);
	decode_bad(LIT("%+1"), 1);
	decode_bad(LIT("%\xff\xff"), 0);
	decode_bad(LIT("ok%41then%x"), 0);
	/* A raw NUL inside the given length. */
	decode_bad(LIT("ab\0cd"), 0);
	decode_bad(LIT("\0"), 1);
}
END_TEST

/* ---- kv_parse / kv_get ---- */

static void parse_ok(const char *s, size_t len, struct kvlist *l)
{
	l->items = (struct kv *)(uintptr_t)1; /* garbage: the parser must initialise */
	l->count = 99;
	ck_assert_msg(kv_parse(s, len, l) == 0, "refused '%.*s'", (int)len, s);
}

static void parse_bad(const char *s, size_t len)
{
	struct kvlist l = {NULL, 7};
	ck_assert_msg(kv_parse(s, len, &l) == -1, "accepted '%.*s'", (int)len, s);
	/* Nothing is left behind: no items, nothing to free (ASan checks the leak side). */
	ck_assert_ptr_null(l.items);
	ck_assert_uint_eq(l.count, 0);
	kv_free(&l);
}

START_TEST(test_kv_basic)
{
	struct kvlist l;
	parse_ok(LIT("a=1&b=2"), &l);
	ck_assert_uint_eq(l.count, 2);
	ck_assert_str_eq(l.items[0].name, "a");
	ck_assert_str_eq(l.items[0].value, "1");
	ck_assert_str_eq(l.items[1].name, "b");
	ck_assert_str_eq(l.items[1].value, "2");
	ck_assert_str_eq(kv_get(&l, "a"), "1");
	ck_assert_str_eq(kv_get(&l, "b"), "2");
	ck_assert_ptr_null(kv_get(&l, "c"));
	ck_assert_ptr_null(kv_get(&l, "A")); /* names are case-sensitive */
	ck_assert_ptr_null(kv_get(&l, ""));
	kv_free(&l);
	ck_assert_ptr_null(l.items);
	ck_assert_uint_eq(l.count, 0);
	kv_free(&l); /* idempotent */
}
END_TEST

START_TEST(test_kv_empty_pairs)
{
	struct kvlist l;
	parse_ok("", 0, &l);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_ptr_null(kv_get(&l, "a"));
	kv_free(&l);

	parse_ok(LIT("&&&&"), &l);
	ck_assert_uint_eq(l.count, 0);
	kv_free(&l);

	parse_ok(LIT("&a=1&&b=2&"), &l);
	ck_assert_uint_eq(l.count, 2);
	ck_assert_str_eq(kv_get(&l, "a"), "1");
	ck_assert_str_eq(kv_get(&l, "b"), "2");
	kv_free(&l);
}
END_TEST

START_TEST(test_kv_missing_equals_and_empties)
{
	struct kvlist l;
	parse_ok(LIT("flag&a=&=v&b=x=y=z"), &l);
	ck_assert_uint_eq(l.count, 4);
	ck_assert_str_eq(l.items[0].name, "flag");
	ck_assert_str_eq(l.items[0].value, "");
	ck_assert_str_eq(l.items[1].name, "a");
	ck_assert_str_eq(l.items[1].value, "");
	ck_assert_str_eq(l.items[2].name, "");
	ck_assert_str_eq(l.items[2].value, "v");
	ck_assert_str_eq(l.items[3].name, "b");
	ck_assert_str_eq(l.items[3].value, "x=y=z"); /* only the first '=' splits */
	ck_assert_str_eq(kv_get(&l, "flag"), "");
	ck_assert_str_eq(kv_get(&l, ""), "v");
	kv_free(&l);

	parse_ok(LIT("="), &l);
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].name, "");
	ck_assert_str_eq(l.items[0].value, "");
	kv_free(&l);
}
END_TEST

START_TEST(test_kv_repeated_names)
{
	struct kvlist l;
	parse_ok(LIT("a=1&b=2&a=3"), &l);
	/* Every copy is kept, so callers that care (payment notifies) can refuse repeats... */
	ck_assert_uint_eq(l.count, 3);
	ck_assert_str_eq(l.items[2].name, "a");
	ck_assert_str_eq(l.items[2].value, "3");
	/* ...and lookup is stable: the first one. */
	ck_assert_str_eq(kv_get(&l, "a"), "1");
	kv_free(&l);
}
END_TEST

START_TEST(test_kv_encoded_separators)
{
	struct kvlist l;
	parse_ok(LIT("x=%26%3D&y%3D1=2&z%26w=3&p=a+b%2Bc"), &l);
	ck_assert_uint_eq(l.count, 4);
	ck_assert_str_eq(kv_get(&l, "x"), "&=");
	ck_assert_str_eq(kv_get(&l, "y=1"), "2");
	ck_assert_str_eq(kv_get(&l, "z&w"), "3");
	ck_assert_str_eq(kv_get(&l, "p"), "a b+c");
	ck_assert_ptr_null(kv_get(&l, "y"));
	kv_free(&l);

	parse_ok(LIT("a+b=c+d&%E5%90%8D=%E5%80%BC"), &l);
	ck_assert_str_eq(kv_get(&l, "a b"), "c d");
	ck_assert_str_eq(kv_get(&l, "\xe5\x90\x8d"), "\xe5\x80\xbc");
	kv_free(&l);
}
END_TEST

START_TEST(test_kv_malformed)
{
	parse_bad(LIT("a=%zz"));
	parse_bad(LIT("%zz=1"));
	parse_bad(LIT("a=%"));
	parse_bad(LIT("a=%4"));
	parse_bad(LIT("a=%00"));
	parse_bad(LIT("a%00=1"));
	/* Earlier good pairs are freed when a later one is bad (ASan: no leak). */
	parse_bad(LIT("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=%"));
	parse_bad(LIT("a=1&b=2&c%=3"));
	parse_bad(LIT("a=1&b=\0&c=3"));
}
END_TEST

START_TEST(test_kv_length_respected)
{
	struct kvlist l;
	parse_ok("a=1&b=2", 3, &l);
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(kv_get(&l, "a"), "1");
	kv_free(&l);
	/* A bad escape past len is not looked at. */
	parse_ok("a=1&b=%zz", 4, &l);
	ck_assert_uint_eq(l.count, 1);
	kv_free(&l);
	/* Cutting inside a value. */
	parse_ok("abc=defg", 6, &l);
	ck_assert_str_eq(kv_get(&l, "abc"), "de");
	kv_free(&l);
}
END_TEST

START_TEST(test_kv_many_pairs)
{
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, "%sk%d=v%d", i ? "&&" : "", i, i * 7);
	struct kvlist l;
	parse_ok(b.data, b.len, &l);
	ck_assert_uint_eq(l.count, 5000);
	ck_assert_str_eq(l.items[0].name, "k0");
	ck_assert_str_eq(l.items[4999].name, "k4999");
	ck_assert_str_eq(kv_get(&l, "k1234"), "v8638");
	ck_assert_str_eq(kv_get(&l, "k4999"), "v34993");
	kv_free(&l);
	buf_cleanup(&b);

	/* Thousands of separators and nothing else. */
	buf_init(&b);
	for (int i = 0; i < 100000; i++)
		buf_puts(&b, "&");
	parse_ok(b.data, b.len, &l);
	ck_assert_uint_eq(l.count, 0);
	kv_free(&l);
	buf_cleanup(&b);
}
END_TEST

START_TEST(test_kv_get_empty_list)
{
	struct kvlist l = {NULL, 0};
	ck_assert_ptr_null(kv_get(&l, "a"));
	kv_free(&l);
}
END_TEST

/* ---- http_addr_in_list ---- */

START_TEST(test_addr_ipv4)
{
	ck_assert_int_eq(http_addr_in_list("127.0.0.1", "127.0.0.1"), 1);
	ck_assert_int_eq(http_addr_in_list("127.0.0.2", "127.0.0.1"), 0);
	ck_assert_int_eq(http_addr_in_list("10.255.1.2", "10.0.0.0/8"), 1);
	ck_assert_int_eq(http_addr_in_list("10.0.0.0", "10.0.0.0/8"), 1);
	ck_assert_int_eq(http_addr_in_list("11.0.0.1", "10.0.0.0/8"), 0);
	ck_assert_int_eq(http_addr_in_list("9.255.255.255", "10.0.0.0/8"), 0);
	ck_assert_int_eq(http_addr_in_list("192.0.2.7", "192.0.2.7/32"), 1);
	ck_assert_int_eq(http_addr_in_list("192.0.2.8", "192.0.2.7/32"), 0);
	ck_assert_int_eq(http_addr_in_list("8.8.8.8", "0.0.0.0/0"), 1);
	ck_assert_int_eq(http_addr_in_list("255.255.255.255", "0.0.0.0/0"), 1);
	/* Prefixes that do not fall on a byte. */
	ck_assert_int_eq(http_addr_in_list("10.200.0.1", "10.128.0.0/9"), 1);
	ck_assert_int_eq(http_addr_in_list("10.127.255.255", "10.128.0.0/9"), 0);
	ck_assert_int_eq(http_addr_in_list("172.31.255.255", "172.16.0.0/12"), 1);
	ck_assert_int_eq(http_addr_in_list("172.32.0.0", "172.16.0.0/12"), 0);
	ck_assert_int_eq(http_addr_in_list("192.168.1.129", "192.168.1.128/25"), 1);
	ck_assert_int_eq(http_addr_in_list("192.168.1.127", "192.168.1.128/25"), 0);
	/* A network written with host bits set still matches by prefix. */
	ck_assert_int_eq(http_addr_in_list("10.9.9.9", "10.1.2.3/8"), 1);
}
END_TEST

START_TEST(test_addr_ipv6)
{
	ck_assert_int_eq(http_addr_in_list("::1", "::1"), 1);
	ck_assert_int_eq(http_addr_in_list("::2", "::1"), 0);
	ck_assert_int_eq(http_addr_in_list("0:0:0:0:0:0:0:1", "::1"), 1);
	ck_assert_int_eq(http_addr_in_list("2001:db8::1", "2001:db8::/32"), 1);
	ck_assert_int_eq(http_addr_in_list("2001:DB8:ffff::1", "2001:db8::/32"), 1);
	ck_assert_int_eq(http_addr_in_list("2001:db9::1", "2001:db8::/32"), 0);
	ck_assert_int_eq(http_addr_in_list("fe80::1", "fe80::/10"), 1);
	ck_assert_int_eq(http_addr_in_list("febf::1", "fe80::/10"), 1);
	ck_assert_int_eq(http_addr_in_list("fec0::1", "fe80::/10"), 0);
	ck_assert_int_eq(http_addr_in_list("2001:db8::1", "2001:db8::1/128"), 1);
	ck_assert_int_eq(http_addr_in_list("2001:db8::2", "2001:db8::1/128"), 0);
	ck_assert_int_eq(http_addr_in_list("2001:db8::1", "::/0"), 1);
	/* An IPv4 /0 covers IPv4 only. */
	ck_assert_int_eq(http_addr_in_list("2001:db8::1", "0.0.0.0/0"), 0);
	ck_assert_int_eq(http_addr_in_list("::1", "0.0.0.0/0"), 0);
	/* Loopback in one family is not loopback in the other. */
	ck_assert_int_eq(http_addr_in_list("127.0.0.1", "::1"), 0);
	ck_assert_int_eq(http_addr_in_list("::1", "127.0.0.1"), 0);
}
END_TEST

START_TEST(test_addr_mapped)
{
	ck_assert_int_eq(http_addr_in_list("::ffff:10.1.2.3", "10.0.0.0/8"), 1);
	ck_assert_int_eq(http_addr_in_list("::ffff:11.1.2.3", "10.0.0.0/8"), 0);
	ck_assert_int_eq(http_addr_in_list("::ffff:127.0.0.1", "127.0.0.1"), 1);
	ck_assert_int_eq(http_addr_in_list("::FFFF:7f00:1", "127.0.0.1"), 1);
	ck_assert_int_eq(http_addr_in_list("10.1.2.3", "::ffff:10.1.2.3"), 1);
	ck_assert_int_eq(http_addr_in_list("::ffff:8.8.8.8", "::/0"), 1);
	ck_assert_int_eq(http_addr_in_list("::ffff:8.8.8.8", "0.0.0.0/0"), 1);
	/* The deprecated IPv4-compatible form is not IPv4. */
	ck_assert_int_eq(http_addr_in_list("::10.1.2.3", "10.0.0.0/8"), 0);
	/* NAT64 is not IPv4 either. */
	ck_assert_int_eq(http_addr_in_list("64:ff9b::a01:203", "10.0.0.0/8"), 0);
}
END_TEST

/* An entry written in IPv6 notation has an IPv6 prefix length: "::ffff:10.0.0.0/104" is 10/8.
 * netaddr.c adds 96 to the length whenever the entry is IPv4-mapped, so /104 becomes 200 and the
 * entry is dropped (and "::ffff:10.0.0.0/8" is read as 10/8 instead of ::/8). Fails closed. */
START_TEST(test_addr_mapped_ipv6_prefix)
{
	ck_assert_int_eq(http_addr_in_list("10.1.2.3", "::ffff:10.0.0.0/104"), 1);
	ck_assert_int_eq(http_addr_in_list("::ffff:10.1.2.3", "::ffff:10.0.0.0/104"), 1);
	ck_assert_int_eq(http_addr_in_list("8.8.8.8", "::ffff:0:0/96"), 1);
	ck_assert_int_eq(http_addr_in_list("11.1.2.3", "::ffff:10.0.0.0/104"), 0);
}
END_TEST

START_TEST(test_addr_lists_and_garbage)
{
	const char *list = "127.0.0.1, 10.0.0.0/8\t::1,,  192.168.0.0/16 ,";
	ck_assert_int_eq(http_addr_in_list("127.0.0.1", list), 1);
	ck_assert_int_eq(http_addr_in_list("10.2.3.4", list), 1);
	ck_assert_int_eq(http_addr_in_list("::1", list), 1);
	ck_assert_int_eq(http_addr_in_list("192.168.44.1", list), 1);
	ck_assert_int_eq(http_addr_in_list("172.16.0.1", list), 0);

	/* Garbage entries are skipped without poisoning the rest of the list. */
	const char *dirty = "bogus, 300.1.1.1, 10.0.0.0/33, 10.0.0.0/-1, 10.0.0.0/, 1.2.3.4/8/8,"
	                    " /8, 2001:db8::/129, 10.0.0.0/abc, ::1/1x, 192.168.0.0/16";
	ck_assert_int_eq(http_addr_in_list("192.168.3.3", dirty), 1);
	ck_assert_int_eq(http_addr_in_list("10.0.0.1", dirty), 0);
	ck_assert_int_eq(http_addr_in_list("1.2.3.4", dirty), 0);
	ck_assert_int_eq(http_addr_in_list("2001:db8::1", dirty), 0);
	ck_assert_int_eq(http_addr_in_list("::1", dirty), 0);
	ck_assert_int_eq(http_addr_in_list("300.1.1.1", dirty), 0);

	/* A /33 on IPv4 is invalid, not "everything" and not "exact". */
	ck_assert_int_eq(http_addr_in_list("10.0.0.0", "10.0.0.0/33"), 0);
	ck_assert_int_eq(http_addr_in_list("10.0.0.0", "10.0.0.0/999999999999999999999"), 0);

	ck_assert_int_eq(http_addr_in_list("127.0.0.1", ""), 0);
	ck_assert_int_eq(http_addr_in_list("127.0.0.1", " , ,"), 0);
	ck_assert_int_eq(http_addr_in_list("127.0.0.1", NULL), 0);
}
END_TEST

START_TEST(test_addr_invalid_ip)
{
	static const char *bad[] = {
	    "",          "bogus",     "10.0.0.256", "10.0.0",     "10.0.0.1/8", "10.0.0.1 ",
	    " 10.0.0.1", "010.0.0.1", "0x0a.0.0.1", "10.0.0.1.1", "fe80::1%lo", "::ffff:10.0.0.256",
	    "1::2::3",   "[::1]",     "::1/128",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(http_addr_in_list(bad[i], "0.0.0.0/0, ::/0, 10.0.0.0/8") == 0,
		              "matched invalid ip '%s'", bad[i]);
	}
	ck_assert_int_eq(http_addr_in_list(NULL, "0.0.0.0/0"), 0);
}
END_TEST

START_TEST(test_addr_long_list)
{
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 256; i++)
		buf_printf(&b, "%s172.%d.0.0/16", i ? ", " : "", i);
	ck_assert_int_eq(http_addr_in_list("172.200.3.4", b.data), 1);
	ck_assert_int_eq(http_addr_in_list("173.0.0.1", b.data), 0);
	buf_cleanup(&b);
}
END_TEST

/* ---- http_client_choose: the right-most untrusted X-Forwarded-For address ---- */

static void choose_is(const char *peer, const char *xff, const char *trusted, const char *want)
{
	char out[64];
	http_client_choose(peer, xff, trusted, out, sizeof out);
	ck_assert_msg(strcmp(out, want) == 0, "peer %s xff '%s' trusted '%s': got %s, want %s",
	              peer, xff ? xff : "(none)", trusted, out, want);
}

START_TEST(test_choose_untrusted_peer_is_the_client)
{
	choose_is("198.51.100.7", "127.0.0.1", "127.0.0.1", "198.51.100.7");
	choose_is("198.51.100.7", NULL, "198.51.100.7/32", "198.51.100.7");
	choose_is("127.0.0.1", "10.0.0.1", "", "127.0.0.1");
}
END_TEST

START_TEST(test_choose_right_most_untrusted)
{
	choose_is("127.0.0.1", "10.9.9.9", "127.0.0.1", "10.9.9.9");
	/* A client-supplied 127.0.0.1 in front of what nginx appended changes nothing. */
	choose_is("127.0.0.1", "127.0.0.1, 203.0.113.5", "127.0.0.1", "203.0.113.5");
	choose_is("127.0.0.1", "127.0.0.1, 10.9.9.9, 192.0.2.7", "127.0.0.1, 192.0.2.0/24",
	          "10.9.9.9");
	choose_is("::1", "2001:db8::7, fd00::1", "::1, fd00::/8", "2001:db8::7");
	choose_is("127.0.0.1", "1.1.1.1,\t2.2.2.2 ,, ", "127.0.0.1", "2.2.2.2");
}
END_TEST

/* Every X-Forwarded-For line joined: the client's own first line does not decide when the
 * proxy appended a line of its own (the server joins lines with ','). */
START_TEST(test_choose_joined_lines)
{
	choose_is("127.0.0.1", "127.0.0.1,203.0.113.9", "127.0.0.1", "203.0.113.9");
	choose_is("127.0.0.1", "10.0.0.1, 10.0.0.2,192.0.2.1", "127.0.0.1, 192.0.2.1", "10.0.0.2");
}
END_TEST

START_TEST(test_choose_all_trusted_and_garbage)
{
	/* All trusted: the left-most, the farthest hop we know. */
	choose_is("127.0.0.1", "127.0.0.5, 127.0.0.1", "127.0.0.0/8", "127.0.0.5");
	/* Garbage stops the walk: nothing left of it is believed. */
	choose_is("127.0.0.1", "not-an-ip", "127.0.0.1", "127.0.0.1");
	choose_is("127.0.0.1", "10.1.1.1, garbage, 127.0.0.1", "127.0.0.1", "127.0.0.1");
	choose_is("127.0.0.1", "10.1.1.1, [::1]:80, 10.2.2.2", "127.0.0.1", "10.2.2.2");
	choose_is("127.0.0.1", "", "127.0.0.1", "127.0.0.1");
	choose_is("127.0.0.1", " , ,", "127.0.0.1", "127.0.0.1");
}
END_TEST

START_TEST(test_choose_out_is_bounded)
{
	char out[8];
	http_client_choose("127.0.0.1", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", "127.0.0.1", out,
	                   sizeof out);
	ck_assert_str_eq(out, "2001:db");
}
END_TEST

/* ---- http_cookie_parse ---- */

static void cookie_is(const char *header, const char *name, const char *want)
{
	const char *v = NULL;
	size_t n = 0;
	int r = http_cookie_parse(header, name, &v, &n);
	if (!want) {
		ck_assert_msg(r == -1, "'%s' in '%s': found '%.*s'", name, header, (int)n, v);
		return;
	}
	ck_assert_msg(r == 0, "'%s' not found in '%s'", name, header);
	ck_assert_msg(n == strlen(want) && memcmp(v, want, n) == 0, "'%s' in '%s': '%.*s'", name,
	              header, (int)n, v);
}

START_TEST(test_cookie_parse)
{
	cookie_is("cs_admin=abc; cs_orders=1.2|3.4", "cs_orders", "1.2|3.4");
	cookie_is("cs_admin=abc; cs_orders=1.2|3.4", "cs_admin", "abc");
	cookie_is("  a  =  spaced  ;", "a", "spaced");
	cookie_is("x=\"quoted\"; x=second", "x", "quoted");
	cookie_is("ab=1; a=2", "a", "2");
	cookie_is("A=1; a=2", "a", "2");
	cookie_is("a=", "a", "");
	cookie_is("a=\"", "a", "\"");
	cookie_is("b=1;;; ;=;a", "a", NULL);
	cookie_is("", "a", NULL);
	cookie_is("a=1", "", NULL);
	cookie_is(NULL, "a", NULL);
}
END_TEST

/* ---- http_counter: per-address counts for the connection limits ---- */

static void key_of(unsigned i, unsigned char key[16])
{
	char ip[64];
	snprintf(ip, sizeof ip, "2001:db8::%x:%x", i >> 16, i & 0xffff);
	ck_assert_int_eq(http_addr_parse(ip, key), 0);
}

START_TEST(test_counter_limit_and_release)
{
	struct http_counter *c = http_counter_new(16);
	unsigned char a[16], b[16];
	ck_assert_int_eq(http_addr_parse("198.51.100.7", a), 0);
	ck_assert_int_eq(http_addr_parse("::ffff:198.51.100.8", b), 0);
	ck_assert_int_eq(http_counter_add(c, a, 2), 0);
	ck_assert_int_eq(http_counter_add(c, a, 2), 0);
	ck_assert_int_eq(http_counter_add(c, a, 2), -1); /* refused: nothing counted */
	ck_assert_uint_eq(http_counter_get(c, a), 2);
	ck_assert_int_eq(http_counter_add(c, b, 2), 0); /* another address has its own budget */
	http_counter_sub(c, a);
	ck_assert_int_eq(http_counter_add(c, a, 2), 0);
	http_counter_sub(c, a);
	http_counter_sub(c, a);
	http_counter_sub(c, a); /* one too many: stays at zero */
	ck_assert_uint_eq(http_counter_get(c, a), 0);
	ck_assert_uint_eq(http_counter_get(c, b), 1);
	http_counter_free(c);
}
END_TEST

/* Many addresses in a small table collide; removing some must leave every other one findable
 * (backward-shift deletion), and a full table refuses instead of overwriting. */
START_TEST(test_counter_collisions_and_full_table)
{
	struct http_counter *c = http_counter_new(1); /* 256 slots */
	unsigned char k[16];
	for (unsigned i = 0; i < 256; i++) {
		key_of(i, k);
		ck_assert_int_eq(http_counter_add(c, k, 10), 0);
	}
	key_of(999, k);
	ck_assert_int_eq(http_counter_add(c, k, 10), -1);
	for (unsigned i = 0; i < 256; i += 3) {
		key_of(i, k);
		http_counter_sub(c, k);
	}
	for (unsigned i = 0; i < 256; i++) {
		key_of(i, k);
		ck_assert_uint_eq(http_counter_get(c, k), i % 3 == 0 ? 0 : 1);
	}
	for (unsigned i = 0; i < 256; i++) {
		key_of(i, k);
		if (i % 3)
			http_counter_sub(c, k);
		ck_assert_uint_eq(http_counter_get(c, k), 0);
	}
	key_of(999, k);
	ck_assert_int_eq(http_counter_add(c, k, 10), 0);
	http_counter_free(c);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *dec = tcase_create("url_decode");
	tcase_add_test(dec, test_decode_plain_and_escapes);
	tcase_add_test(dec, test_decode_plus);
	tcase_add_test(dec, test_decode_refuses);
	suite_add_tcase(s, dec);

	TCase *kv = tcase_create("kv");
	tcase_add_test(kv, test_kv_basic);
	tcase_add_test(kv, test_kv_empty_pairs);
	tcase_add_test(kv, test_kv_missing_equals_and_empties);
	tcase_add_test(kv, test_kv_repeated_names);
	tcase_add_test(kv, test_kv_encoded_separators);
	tcase_add_test(kv, test_kv_malformed);
	tcase_add_test(kv, test_kv_length_respected);
	tcase_add_test(kv, test_kv_many_pairs);
	tcase_add_test(kv, test_kv_get_empty_list);
	suite_add_tcase(s, kv);

	TCase *addr = tcase_create("addr");
	tcase_add_test(addr, test_addr_ipv4);
	tcase_add_test(addr, test_addr_ipv6);
	tcase_add_test(addr, test_addr_mapped);
	tcase_add_test(addr, test_addr_mapped_ipv6_prefix);
	tcase_add_test(addr, test_addr_lists_and_garbage);
	tcase_add_test(addr, test_addr_invalid_ip);
	tcase_add_test(addr, test_addr_long_list);
	suite_add_tcase(s, addr);

	TCase *client = tcase_create("client_choose");
	tcase_add_test(client, test_choose_untrusted_peer_is_the_client);
	tcase_add_test(client, test_choose_right_most_untrusted);
	tcase_add_test(client, test_choose_joined_lines);
	tcase_add_test(client, test_choose_all_trusted_and_garbage);
	tcase_add_test(client, test_choose_out_is_bounded);
	suite_add_tcase(s, client);

	TCase *counter = tcase_create("counter");
	tcase_add_test(counter, test_counter_limit_and_release);
	tcase_add_test(counter, test_counter_collisions_and_full_table);
	suite_add_tcase(s, counter);

	TCase *cookie = tcase_create("cookie");
	tcase_add_test(cookie, test_cookie_parse);
	suite_add_tcase(s, cookie);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
