/* Validation of JSON inputs against a field table: unknown fields, types and ranges, with a
 * message that names the field. */
#include <string.h>

#include "internal.h"

static const struct field *field_find(const struct field *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	}
	return NULL;
}

static int check_string(const struct field *f, json_t *v, struct shop_err *err)
{
	if (!json_is_string(v))
		return shop_fail(err, SHOP_INVALID, "%s: must be a string", f->name);
	const char *s = json_string_value(v);
	size_t bytes = json_string_length(v);
	if (strlen(s) != bytes || !util_utf8_valid(s, bytes))
		return shop_fail(err, SHOP_INVALID, "%s: contains invalid characters", f->name);
	if (f->kind == F_NAME && (strchr(s, '\n') || strchr(s, '\r') || strchr(s, '\t')))
		return shop_fail(err, SHOP_INVALID, "%s: must be a single line", f->name);
	size_t chars = util_utf8_len(s, bytes);
	if ((int64_t)chars < f->min || (int64_t)chars > f->max)
		return shop_fail(err, SHOP_INVALID, "%s: must be %lld to %lld characters", f->name,
		                 (long long)f->min, (long long)f->max);
	return 0;
}

static int check_one(const struct field *f, json_t *v, struct shop_err *err)
{
	switch (f->kind) {
	case F_STR:
	case F_NAME:
		return check_string(f, v, err);
	case F_INT_NULL:
		if (json_is_null(v))
			return 0;
		/* fall through */
	case F_INT:
		if (!json_is_integer(v) || json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max)
			return shop_fail(err, SHOP_INVALID,
			                 "%s: must be an integer from %lld to %lld", f->name,
			                 (long long)f->min, (long long)f->max);
		return 0;
	case F_BOOL:
		if (!json_is_boolean(v))
			return shop_fail(err, SHOP_INVALID, "%s: must be true or false", f->name);
		return 0;
	case F_ANY:
		return 0;
	case F_ENUM:
		if (json_is_string(v)) {
			for (const char *const *c = f->choices; *c; c++) {
				if (strcmp(*c, json_string_value(v)) == 0)
					return 0;
			}
		}
		return shop_fail(err, SHOP_INVALID, "%s: not an allowed value", f->name);
	case F_ARRAY:
		if (!json_is_array(v) || (int64_t)json_array_size(v) > f->max)
			return shop_fail(err, SHOP_INVALID, "%s: an array of at most %lld items",
			                 f->name, (long long)f->max);
		return 0;
	}
	return shop_fail(err, SHOP_ERROR, "internal error");
}

int shop_validate(json_t *in, const struct field *fields, size_t n, int creating,
                  struct shop_err *err)
{
	if (!json_is_object(in))
		return shop_fail(err, SHOP_INVALID, "body: must be a JSON object");
	for (void *it = json_object_iter(in); it; it = json_object_iter_next(in, it)) {
		const char *key = json_object_iter_key(it);
		json_t *v = json_object_iter_value(it);
		const struct field *f = field_find(fields, n, key);
		/* The message names the field: one that cannot be named in it whole (empty, or
		 * long enough to be cut, maybe inside a character) is named as the body. */
		if (!f && (!key[0] || strlen(key) > 64))
			return shop_fail(err, SHOP_INVALID,
			                 "body: a field name is empty or too long");
		if (!f)
			return shop_fail(err, SHOP_INVALID, "%s: unknown field", key);
		if (check_one(f, v, err) != 0)
			return -1;
	}
	for (size_t i = 0; creating && i < n; i++) {
		if (fields[i].required && !json_object_get(in, fields[i].name))
			return shop_fail(err, SHOP_INVALID, "%s: required", fields[i].name);
	}
	return 0;
}

const char *shop_json_str(json_t *in, const char *name, const char *def)
{
	json_t *v = json_object_get(in, name);
	return json_is_string(v) ? json_string_value(v) : def;
}

int64_t shop_json_int(json_t *in, const char *name, int64_t def)
{
	json_t *v = json_object_get(in, name);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

int shop_json_bool(json_t *in, const char *name, int def)
{
	json_t *v = json_object_get(in, name);
	return json_is_boolean(v) ? json_is_true(v) : def;
}
