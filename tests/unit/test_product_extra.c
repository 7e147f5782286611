/* Unit tests of what products carry beyond price and stock: image types by their magic bytes,
 * checkout field definitions written in full, and the low-stock list. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <jansson.h>

#include "cardshop/config.h"
#include "cardshop/db.h"
#include "cardshop/sec.h"
#include "cardshop/shop.h"

static const unsigned char secret[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                         12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                         23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static char tmpdir[256];
static char dbpath[300];
static const struct actor tester = {.admin_id = 0, .username = "unit", .ip = "192.0.2.1"};

static void setup_db(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/cardshop-test-extra-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof dbpath, "%s/shop.db", tmpdir);
	sec_init_with(secret);
	char err[256] = "";
	ck_assert_msg(db_init(dbpath, 5000, err, sizeof err) == 0, "db_init: %s", err);
	ck_assert_int_ge(db_migrate(), 1);
}

static void teardown_db(void)
{
	db_shutdown();
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char p[320];
		snprintf(p, sizeof p, "%s%s", dbpath, suffixes[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

START_TEST(test_image_type_is_judged_by_the_bytes)
{
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
	static const char jpeg[] = "\xff\xd8\xff\xe0\0\x10JFIF\0\1";
	static const char webp[] = "RIFF\x24\0\0\0WEBPVP8 ";
	ck_assert_str_eq(media_type_of(png, sizeof png - 1), "image/png");
	ck_assert_str_eq(media_type_of(jpeg, sizeof jpeg - 1), "image/jpeg");
	ck_assert_str_eq(media_type_of(webp, sizeof webp - 1), "image/webp");
	ck_assert_ptr_null(media_type_of("GIF89a\0\0\0\0\0\0\0\0", 14));
	ck_assert_ptr_null(media_type_of("RIFF\x24\0\0\0WAVEfmt ", 16)); /* RIFF, not WebP */
	ck_assert_ptr_null(media_type_of("<svg xmlns='x'>  ", 17));
	ck_assert_ptr_null(media_type_of(png, 8)); /* a bare signature is no image */
	ck_assert_ptr_null(media_type_of(NULL, 0));
}
END_TEST

static int64_t make_product(json_t *in)
{
	struct shop_err err = {0};
	int64_t id = 0;
	int rc = product_create(&tester, "CNY", in, &id, &err);
	json_decref(in);
	ck_assert_msg(rc == 0, "product_create: %s", err.message);
	return id;
}

START_TEST(test_fields_are_stored_in_full)
{
	int64_t id = make_product(json_pack("{ss si s[{ss ss}]}", "name", "Top-up", "price", 100,
	                                    "fields", "name", "uid", "label", "UID"));
	struct shop_err err = {0};
	json_t *p = product_json(id, 0, &err);
	ck_assert_ptr_nonnull(p);
	json_t *want = json_pack("[{ss ss sb si}]", "name", "uid", "label", "UID", "required", 0,
	                         "max_len", 200);
	ck_assert_msg(json_equal(json_object_get(p, "fields"), want), "fields not in full form");
	ck_assert(json_is_false(json_object_get(p, "loop")));
	ck_assert(json_is_null(json_object_get(p, "image_url")));
	json_decref(want);
	json_decref(p);
}
END_TEST

static void add_keys(int64_t pid, const char *text)
{
	struct import_result r;
	struct shop_err err = {0};
	ck_assert_int_eq(cardkey_import(&tester, pid, text, strlen(text), &r, &err), 0);
}

START_TEST(test_low_stock_lists_products_at_or_below_their_threshold)
{
	int64_t at =
	    make_product(json_pack("{ss si si}", "name", "At", "price", 1, "low_stock", 2));
	int64_t above =
	    make_product(json_pack("{ss si si}", "name", "Above", "price", 1, "low_stock", 1));
	int64_t off = make_product(json_pack("{ss si}", "name", "Off", "price", 1));
	int64_t loop = make_product(
	    json_pack("{ss si si sb}", "name", "Loop", "price", 1, "low_stock", 5, "loop", 1));
	add_keys(at, "A1\nA2\n");
	add_keys(above, "B1\nB2\n");
	(void)off;
	add_keys(loop, "L1\n");
	struct shop_err err = {0};
	json_t *list = products_low_stock_json(&err);
	ck_assert_ptr_nonnull(list);
	json_t *want = json_pack("[{sI ss si si}]", "id", (json_int_t)at, "name", "At", "stock", 2,
	                         "threshold", 2);
	char *got = json_dumps(list, JSON_SORT_KEYS);
	ck_assert_msg(json_equal(list, want), "low stock: %s", got);
	free(got);
	json_decref(want);
	json_decref(list);
}
END_TEST

/* ---- the uploads sweep ---- */

static void put_file(const char *name, int64_t age)
{
	char p[400];
	snprintf(p, sizeof p, "%s/uploads/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("x", f);
	fclose(f);
	struct timeval tv[2] = {{.tv_sec = time(NULL) - age}, {.tv_sec = time(NULL) - age}};
	ck_assert_int_eq(utimes(p, tv), 0);
}

static int has_file(const char *name)
{
	char p[400];
	snprintf(p, sizeof p, "%s/uploads/%s", tmpdir, name);
	return access(p, F_OK) == 0;
}

#define NAMED "0123456789abcdef0123456789abcdef.png"
#define ORPHAN "fedcba9876543210fedcba9876543210.jpg"
#define YOUNG "00000000000000000000000000000000.webp"

START_TEST(test_sweep_removes_old_unnamed_files_and_nothing_when_the_names_cannot_be_read)
{
	struct config cfg;
	config_defaults(&cfg);
	free(cfg.db_path);
	cfg.db_path = strdup(dbpath);
	char dir[300];
	snprintf(dir, sizeof dir, "%s/uploads", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	int64_t pid = make_product(json_pack("{ss si}", "name", "Pictured", "price", 1));
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE products SET image = '%s' WHERE id = %lld", NAMED,
	         (long long)pid);
	ck_assert_int_eq(sqlite3_exec(db_conn(), sql, NULL, NULL, NULL), SQLITE_OK);
	put_file(NAMED, 3600);
	put_file(ORPHAN, 3600);
	put_file(YOUNG, 60);
	int64_t now = time(NULL);
	/* A failed read of the names is never "nobody names it". */
	db_fault_inject("UNION SELECT value FROM settings");
	ck_assert_int_eq(media_sweep(&cfg, now), -1);
	db_fault_inject(NULL);
	ck_assert(has_file(NAMED) && has_file(ORPHAN) && has_file(YOUNG));
	ck_assert_int_eq(media_sweep(&cfg, now), 1);
	ck_assert(has_file(NAMED) && !has_file(ORPHAN) && has_file(YOUNG));
	ck_assert_int_eq(media_sweep(&cfg, now), 0);
	char p[400];
	snprintf(p, sizeof p, "%s/%s", dir, NAMED);
	unlink(p);
	snprintf(p, sizeof p, "%s/%s", dir, YOUNG);
	unlink(p);
	rmdir(dir);
	config_cleanup(&cfg);
}
END_TEST

static Suite *extra_suite(void)
{
	Suite *s = suite_create("product_extra");
	TCase *pure = tcase_create("media");
	tcase_add_test(pure, test_image_type_is_judged_by_the_bytes);
	suite_add_tcase(s, pure);
	TCase *db = tcase_create("catalog");
	tcase_add_checked_fixture(db, setup_db, teardown_db);
	tcase_add_test(db, test_fields_are_stored_in_full);
	tcase_add_test(db, test_low_stock_lists_products_at_or_below_their_threshold);
	tcase_add_test(
	    db, test_sweep_removes_old_unnamed_files_and_nothing_when_the_names_cannot_be_read);
	suite_add_tcase(s, db);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(extra_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
