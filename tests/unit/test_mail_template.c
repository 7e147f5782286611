/* Unit tests of the buyer's mail templates: the built-in texts validate, and a merchant's text
 * is refused for an unknown placeholder, keys in a subject, a missing link or missing keys. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/shop.h"

START_TEST(test_every_default_validates)
{
	const char *langs[] = {"en", "zh-CN"};
	char err[200];
	size_t n = 0;
	for (const char *name; (name = mail_template_name(n)); n++) {
		for (int l = 0; l < 2; l++) {
			const char *text = mail_template_default(name, langs[l]);
			ck_assert_ptr_nonnull(text);
			ck_assert_msg(mail_template_validate(name, text, err, sizeof err) == 0,
			              "%s.%s: %s", name, langs[l], err);
		}
	}
	ck_assert_uint_eq(n, 4);
	ck_assert_ptr_null(mail_template_default("delivery_body", "fr"));
	ck_assert_ptr_null(mail_template_default("nope", "en"));
}
END_TEST

START_TEST(test_bad_templates_are_refused)
{
	char err[200];
	ck_assert_int_eq(
	    mail_template_validate("delivery_body", "{keys} {order_url} {nope}", err, sizeof err),
	    -1);
	ck_assert_str_eq(err, "unknown placeholder {nope}");
	/* keys in a subject would be logged */
	ck_assert_int_eq(mail_template_validate("delivery_subject", "{keys}", err, sizeof err), -1);
	ck_assert_int_eq(mail_template_validate("paid_body", "{keys} {order_url}", err, sizeof err),
	                 -1);
	ck_assert_int_eq(mail_template_validate("delivery_body", "{order_url}", err, sizeof err),
	                 -1);
	ck_assert_int_eq(mail_template_validate("delivery_body", "{keys}", err, sizeof err), -1);
	ck_assert_int_eq(mail_template_validate("paid_subject", "a\nb", err, sizeof err), -1);
	ck_assert_int_eq(mail_template_validate("nope", "x", err, sizeof err), -1);
	ck_assert_int_eq(mail_template_validate("paid_subject", "\xff", err, sizeof err), -1);
	/* braces that are no placeholder are text */
	ck_assert_int_eq(
	    mail_template_validate("paid_subject", "{ {} {A} {order_no}", err, sizeof err), 0);
}
END_TEST

START_TEST(test_setting_keys)
{
	struct shop_err e = {0};
	ck_assert_int_eq(mail_template_setting_check("mail.template.paid_subject.zh-CN",
	                                             "[{shop_name}] {order_no}", &e),
	                 0);
	ck_assert_int_eq(mail_template_setting_check("mail.template.paid_subject.fr", "x", &e), -1);
	ck_assert_int_eq(e.status, SHOP_INVALID);
	ck_assert_int_eq(mail_template_setting_check("mail.template.paid_subject", "x", &e), -1);
	ck_assert_int_eq(mail_template_setting_check("shop.name", "x", &e), -1);
	ck_assert_int_eq(
	    mail_template_setting_check("mail.template.delivery_body.en", "{order_url}", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "mail.template.delivery_body.en"));
	ck_assert_ptr_nonnull(strstr(e.message, "{keys}"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mail_template");
	TCase *tc = tcase_create("validate");
	tcase_add_test(tc, test_every_default_validates);
	tcase_add_test(tc, test_bad_templates_are_refused);
	tcase_add_test(tc, test_setting_keys);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
