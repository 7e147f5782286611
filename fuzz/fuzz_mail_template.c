/* Fuzz target: a merchant's mail template (mail_template_validate, mail_template_render). The
 * input is "template \0 hostile value"; a template that validates is rendered twice, with the
 * value in every placeholder and key, and with a plain "x": the HTML part must hold exactly
 * as many markup characters either way (every value escaped), and the text part the value. */
#include <string.h>

#include "../src/shop/internal.h"
#include "fuzz.h"

static size_t count_markup(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '<' || *s == '>' || *s == '"' || *s == '\'';
	return n;
}

static char *render(const char *tpl, const char *value, int html)
{
	json_t *keys = json_pack("[ss]", value, "K-2");
	struct mail_values v = {.shop_name = value,
	                        .order_no = value,
	                        .product = value,
	                        .quantity = value,
	                        .amount = value,
	                        .order_url = value,
	                        .status = value,
	                        .lang = "zh-CN",
	                        .keys = keys};
	char *out = mail_template_render(tpl, &v, html);
	json_decref(keys);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	char *tpl = fuzz_cstr(data, nul ? (size_t)(nul - data) : size);
	/* never empty: an empty value leaves an empty paragraph, which the renderer drops */
	char *tail = nul ? fuzz_cstr(nul + 1, size - (size_t)(nul + 1 - data)) : strdup("<b>&\"'");
	size_t tail_len = strlen(tail);
	char *value = malloc(tail_len + 2);
	FUZZ_CHECK(value != NULL);
	value[0] = 'v';
	memcpy(value + 1, tail, tail_len + 1);
	free(tail);
	char err[200];
	static const char *const names[] = {"delivery_body", "paid_body", "delivery_subject"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (mail_template_validate(names[i], tpl, err, sizeof err) != 0) {
			FUZZ_CHECK(err[0] != '\0');
			continue;
		}
		char *hostile = render(tpl, value, 1), *plain = render(tpl, "x", 1);
		FUZZ_CHECK(count_markup(hostile) == count_markup(plain));
		char *text = render(tpl, value, 0);
		if (strstr(tpl, "{order_no}") && !strpbrk(value, "\r\n"))
			FUZZ_CHECK(strstr(text, value) != NULL);
		free(hostile);
		free(plain);
		free(text);
	}
	free(tpl);
	free(value);
	return 0;
}
