/* The one string table of each status and kind the database stores, so a name is spelled in
 * exactly one place and a stored value the code does not know is an error, not a guess. */
#include <string.h>

#include "cardshop/shop.h"

static const char *const order_names[] = {
    [ORDER_PENDING] = "pending",
    [ORDER_PAID] = "paid",
    [ORDER_DELIVERED] = "delivered",
    [ORDER_EXPIRED] = "expired",
    [ORDER_PAID_UNDELIVERED] = "paid_undelivered",
    [ORDER_REFUNDED] = "refunded",
    [ORDER_CANCELLED] = "cancelled",
};
static const char *const key_names[] = {
    [KEY_AVAILABLE] = "available",
    [KEY_RESERVED] = "reserved",
    [KEY_SOLD] = "sold",
};
static const char *const job_status_names[] = {
    [JOB_QUEUED] = "queued",
    [JOB_RUNNING] = "running",
    [JOB_DONE] = "done",
    [JOB_FAILED] = "failed",
};
/* The retry budget belongs to the kind: a mail is worth a day of retries, a sandbox notify
 * a few seconds'. Stored on the row when the job is put. */
static const struct {
	const char *name;
	int max_attempts;
} job_kinds[] = {
    [JOB_NOOP] = {"noop", 1},
    [JOB_ORDER_MAIL] = {"order_mail", 12},
    [JOB_ALERT_MAIL] = {"alert_mail", 12},
    [JOB_SANDBOX_NOTIFY] = {"sandbox_notify", 5},
    /* Backoff doubles from 2 s to 1 h: 30 tries span about 20 hours of a receiver down. */
    [JOB_WEBHOOK] = {"webhook", 30},
    [JOB_TELEGRAM] = {"telegram", 12},
    [JOB_LOOKUP_MAIL] = {"lookup_mail", 12},
};
static const char *const event_names[] = {
    [EVENT_ORDER_PAID] = "order.paid",
    [EVENT_ORDER_DELIVERED] = "order.delivered",
    [EVENT_ORDER_PAID_UNDELIVERED] = "order.paid_undelivered",
    [EVENT_ORDER_REFUNDED] = "order.refunded",
    [EVENT_PRODUCT_LOW_STOCK] = "product.low_stock",
};
static const char *const role_names[] = {
    [ADMIN_OWNER] = "owner",
    [ADMIN_STAFF] = "staff",
};
static const char *const outcome_names[] = {
    [NOTIFY_DELIVERED] = "delivered",
    [NOTIFY_PAID] = "paid",
    [NOTIFY_PAID_UNDELIVERED] = "paid_undelivered",
    [NOTIFY_REPEAT] = "repeat",
    [NOTIFY_DUPLICATE_PAYMENT] = "duplicate_payment",
    [NOTIFY_REJECTED] = "rejected",
    [NOTIFY_ERROR] = "error",
};

#define COUNT(a) (int)(sizeof(a) / sizeof(a)[0])

static int lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; s && i < n; i++) {
		if (strcmp(names[i], s) == 0)
			return i;
	}
	return -1;
}

const char *order_status_name(enum order_status s)
{
	return (int)s >= 0 && (int)s < COUNT(order_names) ? order_names[s] : "unknown";
}

int order_status_parse(const char *s, enum order_status *out)
{
	int i = lookup(order_names, COUNT(order_names), s);
	if (i < 0)
		return -1;
	*out = (enum order_status)i;
	return 0;
}

const char *key_status_name(enum key_status s)
{
	return (int)s >= 0 && (int)s < COUNT(key_names) ? key_names[s] : "unknown";
}

int key_status_parse(const char *s, enum key_status *out)
{
	int i = lookup(key_names, COUNT(key_names), s);
	if (i < 0)
		return -1;
	*out = (enum key_status)i;
	return 0;
}

const char *job_status_name(enum job_status s)
{
	return (int)s >= 0 && (int)s < COUNT(job_status_names) ? job_status_names[s] : "unknown";
}

int job_status_parse(const char *s, enum job_status *out)
{
	int i = lookup(job_status_names, COUNT(job_status_names), s);
	if (i < 0)
		return -1;
	*out = (enum job_status)i;
	return 0;
}

const char *shop_event_name(enum shop_event e)
{
	return (int)e >= 0 && (int)e < COUNT(event_names) ? event_names[e] : "unknown";
}

const char *job_kind_name(enum job_kind k)
{
	return (int)k >= 0 && (int)k < COUNT(job_kinds) ? job_kinds[k].name : "unknown";
}

int job_kind_max_attempts(enum job_kind k)
{
	return (int)k >= 0 && (int)k < COUNT(job_kinds) ? job_kinds[k].max_attempts : 1;
}

int job_kind_parse(const char *s, enum job_kind *out)
{
	for (int i = 0; s && i < COUNT(job_kinds); i++) {
		if (strcmp(job_kinds[i].name, s) == 0) {
			*out = (enum job_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *notify_outcome_name(enum notify_outcome o)
{
	return (int)o >= 0 && (int)o < COUNT(outcome_names) ? outcome_names[o] : "unknown";
}

const char *admin_role_name(enum admin_role r)
{
	return (int)r >= 0 && (int)r < COUNT(role_names) ? role_names[r] : "unknown";
}

int admin_role_parse(const char *s, enum admin_role *out)
{
	int i = lookup(role_names, COUNT(role_names), s);
	if (i < 0)
		return -1;
	*out = (enum admin_role)i;
	return 0;
}
