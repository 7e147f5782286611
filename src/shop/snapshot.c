/* The public catalog from memory: categories, products and each product's page data, built
 * from the database after every committed catalog change and swapped in whole, so browsing
 * never touches SQLite. Stock is the one value that moves with every order: each product's
 * JSON is kept as the bytes before and after its "stock" number, and the number itself is a
 * counter refreshed from product_stock right after each commit that moves keys. A sale of
 * 5,000 orders a second then costs 5,000 small counter reads, not 5,000 rebuilds, and a buyer
 * who just ordered sees the stock that includes his order. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/log.h"
#include "internal.h"

/* JSON text of one product around its stock: pre + <stock> + post, or only pre when the
 * stock is not shown (manual delivery: null). */
struct frag {
	char *pre, *post;
	size_t prelen, postlen;
	int has_stock;
};

struct entry {
	int64_t id, category_id; /* 0: no category */
	struct frag item;        /* in the list */
	struct frag detail;      /* GET /api/products/{id}: with the description */
	_Atomic int64_t stock;
};

struct snap {
	int refs; /* under snap_lock */
	struct entry *e;
	size_t n;
	char *categories; /* {"categories": [...]} */
	size_t catlen;
};

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t stock_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snap *current;
static atomic_int dirty;

#define STOCK_MARK 987654321987654321LL /* stands for the stock while the JSON is dumped */

static const char *sql_stock_all = "SELECT product_id, available FROM product_stock";
static const char *sql_stock_one =
    "SELECT product_id, available FROM product_stock WHERE product_id = :pid";

static void frag_free(struct frag *f)
{
	free(f->pre);
	free(f->post);
}

static void snap_free(struct snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		frag_free(&s->e[i].item);
		frag_free(&s->e[i].detail);
	}
	free(s->e);
	free(s->categories);
	free(s);
}

static void snap_unref(struct snap *s)
{
	pthread_mutex_lock(&snap_lock);
	int last = s && --s->refs == 0;
	pthread_mutex_unlock(&snap_lock);
	if (last)
		snap_free(s);
}

static struct snap *snap_get(void)
{
	pthread_mutex_lock(&snap_lock);
	struct snap *s = current;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&snap_lock);
	return s;
}

/* Dumps a product object with the stock marker and splits it around the marker. */
static int frag_make(json_t *p, struct frag *f)
{
	json_t *stock = json_object_get(p, "stock");
	f->has_stock = json_is_integer(stock);
	if (f->has_stock)
		json_object_set_new(p, "stock", json_integer(STOCK_MARK));
	char *text = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		return -1;
	char mark[32];
	snprintf(mark, sizeof mark, "%lld", STOCK_MARK);
	char *at = f->has_stock ? strstr(text, mark) : NULL;
	if (f->has_stock && !at) {
		free(text);
		return -1;
	}
	if (!at) {
		f->pre = text;
		f->prelen = strlen(text);
		return 0;
	}
	f->prelen = (size_t)(at - text);
	f->pre = xstrndup(text, f->prelen);
	f->post = xstrdup(at + strlen(mark));
	f->postlen = strlen(f->post);
	free(text);
	return 0;
}

static int entry_make(json_t *item, struct entry *e)
{
	struct shop_err err = {0};
	e->id = json_integer_value(json_object_get(item, "id"));
	e->category_id = json_integer_value(json_object_get(item, "category_id"));
	atomic_store(&e->stock, json_integer_value(json_object_get(item, "stock")));
	json_t *detail = product_json(e->id, 0, &err);
	if (!detail)
		return -1;
	int rc = frag_make(item, &e->item) == 0 && frag_make(detail, &e->detail) == 0 ? 0 : -1;
	json_decref(detail);
	return rc;
}

static struct snap *snap_build(void)
{
	struct shop_err err = {0};
	json_t *cats = categories_json(0, &err);
	json_t *prods = cats ? products_json(0, 0, &err) : NULL;
	struct snap *s = xcalloc(1, sizeof *s);
	s->refs = 1;
	int ok = prods != NULL;
	if (ok) {
		s->categories = json_dumps(json_pack("{sO}", "categories", cats), JSON_COMPACT);
		ok = s->categories != NULL;
		s->catlen = ok ? strlen(s->categories) : 0;
	}
	size_t n = json_array_size(prods);
	s->e = xcalloc(n ? n : 1, sizeof *s->e);
	for (size_t i = 0; ok && i < n; i++, s->n++)
		ok = entry_make(json_array_get(prods, i), &s->e[i]) == 0;
	json_decref(cats);
	json_decref(prods);
	if (!ok) {
		snap_free(s);
		return NULL;
	}
	return s;
}

/* Stores the committed stock of one product (pid) or of all (pid 0) in the current snapshot.
 * Serialised, so an older read never overwrites a newer one. */
static int stock_refresh(int64_t pid)
{
	pthread_mutex_lock(&stock_lock);
	struct snap *s = snap_get();
	sqlite3_stmt *st = s ? db_stmt(pid ? sql_stock_one : sql_stock_all) : NULL;
	int rc = s ? -1 : 0;
	if (st) {
		if (pid)
			db_bind_int(st, ":pid", pid);
		while ((rc = db_step(st)) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(st, 0);
			for (size_t i = 0; i < s->n; i++) {
				if (s->e[i].id == id)
					atomic_store(&s->e[i].stock, sqlite3_column_int64(st, 1));
			}
		}
		sqlite3_reset(st);
		rc = rc == SQLITE_DONE ? 0 : db_log_error("stock refresh failed");
	}
	pthread_mutex_unlock(&stock_lock);
	snap_unref(s);
	return rc;
}

static int build_and_swap(void)
{
	struct snap *s = snap_build();
	if (!s) {
		log_error("catalog snapshot build failed: serving the previous one", NULL);
		return -1;
	}
	pthread_mutex_lock(&snap_lock);
	struct snap *old = current;
	current = s;
	pthread_mutex_unlock(&snap_lock);
	snap_unref(old);
	/* Orders committed while it was built moved stock the build may not have seen. */
	return stock_refresh(0);
}

int catalog_snapshot_rebuild(void)
{
	atomic_store(&dirty, 1);
	int rc = 0;
	/* One builder at a time; a change committed meanwhile makes it build once more, so the
	 * last build always starts after the last change. */
	while (atomic_load(&dirty)) {
		if (pthread_mutex_trylock(&build_lock) != 0)
			return 0; /* the running builder will see dirty */
		while (atomic_exchange(&dirty, 0))
			rc = build_and_swap();
		pthread_mutex_unlock(&build_lock);
		if (rc != 0) {
			atomic_store(&dirty, 1); /* retried by catalog_snapshot_refresh */
			break;
		}
	}
	return rc;
}

int catalog_stock_changed(int64_t product_id)
{
	if (atomic_load(&dirty))
		return catalog_snapshot_rebuild();
	return stock_refresh(product_id);
}

void catalog_snapshot_refresh(void)
{
	/* Another process (cardshop keys import, a restore) may have changed the database: the
	 * counters are re-read every tick, a failed build is retried. */
	struct snap *s = snap_get();
	if (atomic_load(&dirty) || !s)
		catalog_snapshot_rebuild();
	else
		stock_refresh(0);
	snap_unref(s);
}

void catalog_snapshot_free(void)
{
	pthread_mutex_lock(&snap_lock);
	struct snap *old = current;
	current = NULL;
	pthread_mutex_unlock(&snap_lock);
	snap_unref(old);
}

/* ---- views ---- */

static void frag_put(struct buf *b, const struct entry *e, const struct frag *f)
{
	buf_append(b, f->pre, f->prelen);
	if (!f->has_stock)
		return;
	int64_t stock = atomic_load(&e->stock);
	buf_printf(b, "%lld", (long long)(stock > 0 ? stock : 0));
	buf_append(b, f->post, f->postlen);
}

int catalog_view_products(int64_t category_id, struct buf *out)
{
	struct snap *s = snap_get();
	if (!s)
		return -1;
	buf_puts(out, "{\"products\":[");
	int first = 1;
	for (size_t i = 0; i < s->n; i++) {
		if (category_id && s->e[i].category_id != category_id)
			continue;
		if (!first)
			buf_puts(out, ",");
		first = 0;
		frag_put(out, &s->e[i], &s->e[i].item);
	}
	buf_puts(out, "]}");
	snap_unref(s);
	return 0;
}

int catalog_view_product(int64_t id, struct buf *out)
{
	struct snap *s = snap_get();
	if (!s)
		return -1;
	int found = 0;
	for (size_t i = 0; i < s->n && !found; i++) {
		if (s->e[i].id == id) {
			frag_put(out, &s->e[i], &s->e[i].detail);
			found = 1;
		}
	}
	snap_unref(s);
	return found ? 0 : 1;
}

int catalog_view_categories(struct buf *out)
{
	struct snap *s = snap_get();
	if (!s)
		return -1;
	buf_append(out, s->categories, s->catlen);
	snap_unref(s);
	return 0;
}
