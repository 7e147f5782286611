/* Unit tests of the shared helpers: the growable buffer, the aborting allocators, strict integer
 * parsing and UTF-8 validation, including hostile input (overlongs, surrogates, truncation). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/util.h"

/* Byte strings with an explicit length, so embedded NULs and high bytes are exact. */
#define U8(lit) (lit), (sizeof(lit) - 1)

/* ---- buf ---- */

START_TEST(test_buf_init_empty)
{
	struct buf b;
	buf_init(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	/* An empty buffer still yields a valid C string. */
	const char *s = buf_cstr(&b);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(b.len, 0);
	buf_cleanup(&b);
	ck_assert_ptr_null(b.data);
	/* Cleanup is idempotent. */
	buf_cleanup(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_buf_append_growth)
{
	struct buf b;
	buf_init(&b);
	char expect[5000];
	size_t n = 0;
	/* Odd-sized chunks force many reallocations across the power-of-two boundaries. */
	for (int i = 0; n + 7 < sizeof expect; i++) {
		char chunk[7];
		for (int k = 0; k < 7; k++)
			chunk[k] = (char)('a' + (i + k) % 26);
		buf_append(&b, chunk, sizeof chunk);
		memcpy(expect + n, chunk, sizeof chunk);
		n += sizeof chunk;
		ck_assert_uint_eq(b.len, n);
		ck_assert_uint_ge(b.cap, b.len + 1);
		ck_assert_int_eq(b.data[b.len], '\0');
	}
	ck_assert_mem_eq(b.data, expect, n);
	/* Growth is geometric: capacity never exceeds twice what is needed (beyond the minimum). */
	ck_assert_uint_le(b.cap, 2 * (b.len + 1) > 64 ? 2 * (b.len + 1) : 64);
	buf_cleanup(&b);
}
END_TEST

START_TEST(test_buf_append_binary_and_empty)
{
	struct buf b;
	buf_init(&b);
	buf_append(&b, "", 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	const char bin[] = {'x', '\0', 'y', (char)0xff};
	buf_append(&b, bin, sizeof bin);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_mem_eq(b.data, bin, 4);
	ck_assert_int_eq(b.data[4], '\0');
	buf_puts(&b, "tail");
	ck_assert_uint_eq(b.len, 8);
	ck_assert_mem_eq(b.data + 4, "tail", 5);
	buf_cleanup(&b);
}
END_TEST

START_TEST(test_buf_printf)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%d-%s", 42, "x");
	ck_assert_str_eq(buf_cstr(&b), "42-x");
	buf_printf(&b, "%s", "");
	ck_assert_uint_eq(b.len, 4);
	buf_printf(&b, "|%05.1f|%%|%c", 3.14159, 'z');
	ck_assert_str_eq(buf_cstr(&b), "42-x|003.1|%|z");
	/* One format call far larger than the current capacity. */
	buf_printf(&b, "%*s", 10000, "end");
	ck_assert_uint_eq(b.len, 14 + 10000);
	ck_assert_uint_eq(strlen(b.data), b.len);
	ck_assert_str_eq(b.data + b.len - 3, "end");
	ck_assert_int_eq(b.data[14], ' ');
	buf_cleanup(&b);
}
END_TEST

START_TEST(test_buf_release)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "hello");
	char *s = buf_release(&b);
	ck_assert_str_eq(s, "hello");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	/* The buffer is reusable and independent of the released string. */
	buf_puts(&b, "again");
	ck_assert_str_eq(buf_cstr(&b), "again");
	ck_assert_str_eq(s, "hello");
	free(s);
	buf_cleanup(&b);

	/* Releasing an empty buffer hands over "" rather than NULL. */
	buf_init(&b);
	char *e = buf_release(&b);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e, "");
	free(e);
}
END_TEST

/* ---- allocators ---- */

START_TEST(test_xasprintf)
{
	char *s = xasprintf("%s=%d", "a", 5);
	ck_assert_str_eq(s, "a=5");
	free(s);
	s = xasprintf("%s", "");
	ck_assert_str_eq(s, "");
	free(s);
	s = xasprintf("%lld|%x|%%", (long long)INT64_MIN, 255u);
	ck_assert_str_eq(s, "-9223372036854775808|ff|%");
	free(s);
	s = xasprintf("%0*d", 5000, 7);
	ck_assert_uint_eq(strlen(s), 5000);
	ck_assert_int_eq(s[4999], '7');
	ck_assert_int_eq(s[0], '0');
	free(s);
}
END_TEST

START_TEST(test_xstrndup_and_friends)
{
	char *s = xstrndup("abcdef", 3);
	ck_assert_str_eq(s, "abc");
	free(s);
	s = xstrndup("ab", 0);
	ck_assert_str_eq(s, "");
	free(s);
	s = xstrdup("");
	ck_assert_str_eq(s, "");
	free(s);
	/* Zero-sized requests still return usable, freeable memory. */
	void *p = xmalloc(0);
	ck_assert_ptr_nonnull(p);
	p = xrealloc(p, 0);
	ck_assert_ptr_nonnull(p);
	free(p);
	unsigned char *z = xcalloc(100, 3);
	for (size_t i = 0; i < 300; i++)
		ck_assert_uint_eq(z[i], 0);
	free(z);
}
END_TEST

/* ---- util_parse_i64 ---- */

static int parse_full(const char *s, int64_t *out)
{
	return util_parse_i64(s, INT64_MIN, INT64_MAX, out);
}

START_TEST(test_parse_i64_valid)
{
	int64_t v = 0;
	ck_assert_int_eq(util_parse_i64("0", 0, 10, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(util_parse_i64("123", 0, 1000, &v), 0);
	ck_assert_int_eq(v, 123);
	ck_assert_int_eq(util_parse_i64("-5", -10, 10, &v), 0);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(util_parse_i64("+7", 0, 10, &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(util_parse_i64("-0", 0, 0, &v), 0);
	ck_assert_int_eq(v, 0);
	/* Leading zeros are still decimal, never octal. */
	ck_assert_int_eq(util_parse_i64("010", 0, 100, &v), 0);
	ck_assert_int_eq(v, 10);
	ck_assert_int_eq(parse_full("9223372036854775807", &v), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(parse_full("-9223372036854775808", &v), 0);
	ck_assert(v == INT64_MIN);
}
END_TEST

START_TEST(test_parse_i64_bounds)
{
	int64_t v = 0;
	ck_assert_int_eq(util_parse_i64("1", 1, 65535, &v), 0);
	ck_assert_int_eq(util_parse_i64("65535", 1, 65535, &v), 0);
	ck_assert_int_eq(v, 65535);
	v = 42;
	ck_assert_int_eq(util_parse_i64("0", 1, 65535, &v), -1);
	ck_assert_int_eq(util_parse_i64("65536", 1, 65535, &v), -1);
	ck_assert_int_eq(util_parse_i64("-1", 0, 10, &v), -1);
	/* Failure leaves the output alone. */
	ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_parse_i64_garbage)
{
	static const char *bad[] = {
	    "",    "+",    "-",        " 1",  "1 ",    "\t1", "1\n", "1a",
	    "a1",  "0x10", "1e3",      "1.0", "1,000", "--1", "+-1", "-+1",
	    "++1", " ",    "\xd9\xa1", "１",  "12 34", "0b1", "inf", "nan",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t v = 42;
		ck_assert_msg(parse_full(bad[i], &v) == -1, "accepted '%s'", bad[i]);
		ck_assert_int_eq(v, 42);
	}
	int64_t v = 42;
	ck_assert_int_eq(util_parse_i64(NULL, 0, 10, &v), -1);
	ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_parse_i64_overflow)
{
	int64_t v = 42;
	ck_assert_int_eq(parse_full("9223372036854775808", &v), -1);
	ck_assert_int_eq(parse_full("-9223372036854775809", &v), -1);
	ck_assert_int_eq(parse_full("99999999999999999999999999", &v), -1);
	ck_assert_int_eq(parse_full("18446744073709551616", &v), -1);
	ck_assert_int_eq(v, 42);
	/* A value that overflowed must not come back clamped and "in range" for a wide max. */
	ck_assert_int_eq(util_parse_i64("9223372036854775808", 0, INT64_MAX, &v), -1);
	ck_assert_int_eq(v, 42);
}
END_TEST

/* ---- UTF-8 ---- */

START_TEST(test_utf8_ascii_and_controls)
{
	ck_assert_int_eq(util_utf8_valid(U8("hello, world")), 1);
	ck_assert_int_eq(util_utf8_valid("", 0), 1);
	ck_assert_int_eq(util_utf8_valid(U8("a\tb\r\nc")), 1);
	ck_assert_int_eq(util_utf8_valid(U8("\x01")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("a\x1b[31m")), 0); /* terminal escape */
	ck_assert_int_eq(util_utf8_valid(U8("\x7f")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\x0b")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\x1f")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("ab\0cd")), 0); /* embedded NUL */
	ck_assert_int_eq(util_utf8_valid(U8(" ~")), 1);
}
END_TEST

START_TEST(test_utf8_valid_multibyte)
{
	ck_assert_int_eq(util_utf8_valid(U8("\xc3\xa9")), 1);                 /* é */
	ck_assert_int_eq(util_utf8_valid(U8("\xe4\xb8\xad\xe6\x96\x87")), 1); /* 中文 */
	ck_assert_int_eq(util_utf8_valid(U8("\xf0\x9f\x98\x80")), 1);         /* 😀 */
	ck_assert_int_eq(util_utf8_valid(U8("\xc2\x80")), 1);                 /* U+0080 */
	ck_assert_int_eq(util_utf8_valid(U8("\xdf\xbf")), 1);                 /* U+07FF */
	ck_assert_int_eq(util_utf8_valid(U8("\xe0\xa0\x80")), 1);             /* U+0800 */
	ck_assert_int_eq(util_utf8_valid(U8("\xed\x9f\xbf")), 1);             /* U+D7FF */
	ck_assert_int_eq(util_utf8_valid(U8("\xee\x80\x80")), 1);             /* U+E000 */
	ck_assert_int_eq(util_utf8_valid(U8("\xef\xbf\xbd")), 1);             /* U+FFFD */
	ck_assert_int_eq(util_utf8_valid(U8("\xf0\x90\x80\x80")), 1);         /* U+10000 */
	ck_assert_int_eq(util_utf8_valid(U8("\xf4\x8f\xbf\xbf")), 1);         /* U+10FFFF */
	ck_assert_int_eq(util_utf8_valid(U8("key-\xe5\x8d\xa1\xe5\xaf\x86-\xf0\x9f\x8e\x81")), 1);
}
END_TEST

START_TEST(test_utf8_overlong)
{
	ck_assert_int_eq(util_utf8_valid(U8("\xc0\x80")), 0); /* NUL, 2 bytes */
	ck_assert_int_eq(util_utf8_valid(U8("\xc0\xaf")), 0); /* '/', 2 bytes */
	ck_assert_int_eq(util_utf8_valid(U8("\xc1\xbf")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xe0\x80\x80")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xe0\x80\xaf")), 0); /* '/', 3 bytes */
	ck_assert_int_eq(util_utf8_valid(U8("\xe0\x9f\xbf")), 0); /* U+07FF, 3 bytes */
	ck_assert_int_eq(util_utf8_valid(U8("\xf0\x80\x80\x80")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xf0\x8f\xbf\xbf")), 0); /* U+FFFF, 4 bytes */
}
END_TEST

START_TEST(test_utf8_surrogates_and_range)
{
	ck_assert_int_eq(util_utf8_valid(U8("\xed\xa0\x80")), 0);             /* U+D800 */
	ck_assert_int_eq(util_utf8_valid(U8("\xed\xbf\xbf")), 0);             /* U+DFFF */
	ck_assert_int_eq(util_utf8_valid(U8("\xed\xa0\xbd\xed\xb8\x80")), 0); /* CESU pair */
	ck_assert_int_eq(util_utf8_valid(U8("\xf4\x90\x80\x80")), 0);         /* U+110000 */
	ck_assert_int_eq(util_utf8_valid(U8("\xf5\x80\x80\x80")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xf7\xbf\xbf\xbf")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xf8\x88\x80\x80\x80")), 0); /* 5-byte form */
	ck_assert_int_eq(util_utf8_valid(U8("\xfc\x84\x80\x80\x80\x80")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xfe")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xff")), 0);
}
END_TEST

START_TEST(test_utf8_truncated_and_stray)
{
	ck_assert_int_eq(util_utf8_valid(U8("\xc3")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xe4\xb8")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xf0\x9f\x98")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("abc\xe4")), 0);
	/* ASCII 'A' where a tail belongs. */
	ck_assert_int_eq(util_utf8_valid(U8("\xe4\xb8\x41")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xc3\xc3\xa9")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\x80")), 0); /* lone continuation */
	ck_assert_int_eq(util_utf8_valid(U8("a\xbf\x62")), 0);
	ck_assert_int_eq(util_utf8_valid(U8("\xe4\xb8\xad\x80")), 0); /* one tail too many */
	/* n is the whole input: a valid prefix of a longer invalid string is valid... */
	ck_assert_int_eq(util_utf8_valid("abc\xff", 3), 1);
	/* ...and a sequence cut by n is not, even when the bytes after n would complete it. */
	ck_assert_int_eq(util_utf8_valid("\xe4\xb8\xad", 2), 0);
}
END_TEST

START_TEST(test_utf8_len)
{
	ck_assert_uint_eq(util_utf8_len("", 0), 0);
	ck_assert_uint_eq(util_utf8_len(U8("abc")), 3);
	ck_assert_uint_eq(util_utf8_len(U8("\xe4\xb8\xad\xe6\x96\x87")), 2);
	ck_assert_uint_eq(util_utf8_len(U8("\xf0\x9f\x98\x80")), 1);
	ck_assert_uint_eq(util_utf8_len(U8("a\xe4\xb8\xad\xf0\x9f\x98\x80\xc3\xa9")), 4);
	ck_assert_uint_eq(util_utf8_len(U8("\xf4\x8f\xbf\xbf\n")), 2);
	/* Only n bytes are counted. */
	ck_assert_uint_eq(util_utf8_len("abcdef", 2), 2);
	/* Agrees with the validator on a long mixed string. */
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "x\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
	ck_assert_int_eq(util_utf8_valid(b.data, b.len), 1);
	ck_assert_uint_eq(util_utf8_len(b.data, b.len), 4000);
	buf_cleanup(&b);
}
END_TEST

/* ---- time ---- */

START_TEST(test_time)
{
	ck_assert_int_gt(util_now(), 1600000000); /* after 2020 */
	int64_t a = util_now_usec();
	int64_t b = util_now_usec();
	ck_assert_int_ge(b, a);
	ck_assert_int_gt(a, 0);
}
END_TEST

START_TEST(test_utf8_prefix_and_scrub)
{
	/* 中 is 3 bytes: a 4-byte cap keeps one character, never a part of the second. */
	ck_assert_uint_eq(util_utf8_prefix("\xe4\xb8\xad\xe4\xb8\xad", 4), 3);
	ck_assert_uint_eq(util_utf8_prefix("\xe4\xb8\xad\xe4\xb8\xad", 6), 6);
	ck_assert_uint_eq(util_utf8_prefix("abc", 2), 2);
	ck_assert_uint_eq(util_utf8_prefix("abc", 10), 3);
	ck_assert_uint_eq(util_utf8_prefix("\xe4\xb8\xad", 2), 0);
	char *s = util_utf8_scrub("a\xff\xe4\xb8\xad"
	                          "b\xc3(");
	ck_assert_str_eq(s, "a\xef\xbf\xbd\xe4\xb8\xad"
	                    "b\xef\xbf\xbd(");
	free(s);
	s = util_utf8_scrub("\xed\xa0\x80"); /* a surrogate: three stray bytes */
	ck_assert_str_eq(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}
END_TEST

static void expect_from(const char *from, const char *name, const char *addr)
{
	char *n = NULL, *a = NULL;
	ck_assert_msg(util_mail_from_parse(from, &n, &a) == 0, "refused '%s'", from);
	ck_assert_str_eq(n, name);
	ck_assert_str_eq(a, addr);
	free(n);
	free(a);
}

START_TEST(test_mail_from_parse)
{
	expect_from("shop@example.com", "", "shop@example.com");
	expect_from("  shop@example.com ", "", "shop@example.com");
	expect_from("\xe5\x8d\xa1\xe5\xaf\x86 <shop@example.com>", "\xe5\x8d\xa1\xe5\xaf\x86",
	            "shop@example.com");
	expect_from("\"Card Shop\" <shop@example.com>", "Card Shop", "shop@example.com");
	expect_from("<shop@example.com>", "", "shop@example.com");
	const char *bad[] = {"",
	                     "shop",
	                     "Shop shop@example.com",
	                     "Shop <shop@example.com",
	                     "Shop <a@b@example.com>",
	                     "Shop <sh op@example.com>",
	                     "Sh\"op <shop@example.com>",
	                     "Shop\r\nBcc: x@y.z <shop@example.com>",
	                     "Shop <shop@example.com>\r\nBcc: x@y.z"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *n = (char *)1, *a = (char *)1;
		ck_assert_msg(util_mail_from_parse(bad[i], &n, &a) == -1, "accepted '%s'", bad[i]);
		ck_assert_ptr_null(n);
		ck_assert_ptr_null(a);
	}
}
END_TEST

START_TEST(test_url_host_is_loopback)
{
	ck_assert_int_eq(util_url_host_is_loopback("smtp://127.0.0.1:25"), 1);
	ck_assert_int_eq(util_url_host_is_loopback("http://127.8.9.10/api/"), 1);
	ck_assert_int_eq(util_url_host_is_loopback("smtp://localhost"), 1);
	ck_assert_int_eq(util_url_host_is_loopback("http://[::1]:8080/"), 1);
	ck_assert_int_eq(util_url_host_is_loopback("smtp://user:pw@127.0.0.1:25"), 1);
	ck_assert_int_eq(util_url_host_is_loopback("smtp://mail.example.com:587"), 0);
	ck_assert_int_eq(util_url_host_is_loopback("https://127.0.0.1.evil.example/"), 0);
	ck_assert_int_eq(util_url_host_is_loopback("http://127.0.0.1@evil.example/"), 0);
	/* The authority ends at / ? #: what follows is not the host, whatever @ it holds. */
	ck_assert_int_eq(util_url_host_is_loopback("http://evil#@127.0.0.1/"), 0);
	ck_assert_int_eq(util_url_host_is_loopback("http://evil?@127.0.0.1/"), 0);
	ck_assert_int_eq(util_url_host_is_loopback("http://evil/@127.0.0.1/"), 0);
	ck_assert_int_eq(util_url_host_is_loopback("smtp://u:p@x@127.0.0.1:25"), 1);
	ck_assert_int_eq(util_url_host_is_loopback("http://localhost.example/"), 0);
	ck_assert_int_eq(util_url_host_is_loopback("127.0.0.1"), 0);
	ck_assert_int_eq(util_url_host_is_loopback(""), 0);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *buf = tcase_create("buf");
	tcase_add_test(buf, test_buf_init_empty);
	tcase_add_test(buf, test_buf_append_growth);
	tcase_add_test(buf, test_buf_append_binary_and_empty);
	tcase_add_test(buf, test_buf_printf);
	tcase_add_test(buf, test_buf_release);
	tcase_add_test(buf, test_xasprintf);
	tcase_add_test(buf, test_xstrndup_and_friends);
	suite_add_tcase(s, buf);

	TCase *num = tcase_create("parse_i64");
	tcase_add_test(num, test_parse_i64_valid);
	tcase_add_test(num, test_parse_i64_bounds);
	tcase_add_test(num, test_parse_i64_garbage);
	tcase_add_test(num, test_parse_i64_overflow);
	suite_add_tcase(s, num);

	TCase *utf8 = tcase_create("utf8");
	tcase_add_test(utf8, test_utf8_ascii_and_controls);
	tcase_add_test(utf8, test_utf8_valid_multibyte);
	tcase_add_test(utf8, test_utf8_overlong);
	tcase_add_test(utf8, test_utf8_surrogates_and_range);
	tcase_add_test(utf8, test_utf8_truncated_and_stray);
	tcase_add_test(utf8, test_utf8_len);
	suite_add_tcase(s, utf8);

	TCase *t = tcase_create("time");
	tcase_add_test(t, test_time);
	tcase_add_test(t, test_url_host_is_loopback);
	tcase_add_test(t, test_utf8_prefix_and_scrub);
	tcase_add_test(t, test_mail_from_parse);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(util_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
