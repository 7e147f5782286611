/* Configuration: built-in defaults, then the INI file (libinih), then CARDSHOP_* overrides. */
#ifndef CARDSHOP_CONFIG_H
#define CARDSHOP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Room for the keys of the table in config.c (a static assertion there keeps it true). */
#define CONFIG_MAX_KEYS 192

/* Where a key's value came from. A key set in the file or the environment is fixed: the
 * admin's settings show it read-only. */
enum config_origin { CONFIG_DEFAULT, CONFIG_STORED, CONFIG_FILE, CONFIG_ENV };

struct config {
	/* [server] */
	char *listen;
	int64_t port;
	int64_t threads;       /* 0 = number of cores */
	char *trusted_proxies; /* comma-separated IPs or CIDRs */
	char *base_url;
	char *static_dir;
	char *log_level;
	int64_t max_body;     /* bytes, for ordinary requests */
	int64_t max_upload;   /* bytes, for routes that take files (key uploads) */
	int64_t max_buffered; /* bytes of request bodies held at once, all requests together */
	int64_t max_connections;
	int64_t per_ip_connections;
	int64_t connection_timeout; /* seconds */
	int64_t rate_limit;         /* requests per minute per IP on rate-limited endpoints */
	char *metrics_allow;        /* comma-separated IPs/CIDRs allowed to read /metrics */
	int64_t max_inflight;       /* past it, sheddable routes answer 503 */
	/* [database] */
	char *db_path;
	int64_t busy_timeout_ms;
	/* [security] */
	char *secret_file;
	int64_t session_idle_ttl;
	int64_t session_max_ttl;
	int64_t login_max_failures; /* per IP and per user within login_window */
	int64_t login_window;
	char *challenge;                     /* "auto" or "off" */
	int64_t challenge_difficulty;        /* bits asked at the threshold */
	int64_t challenge_orders_per_minute; /* order creations/min before challenges */
	int64_t challenge_lookups_per_minute;
	/* [shop] */
	char *shop_name;
	char *shop_notice;      /* shown on the shop's pages */
	char *shop_contact_url; /* the shop's contact link (http(s), mailto, tg), or "" */
	char *currency;
	int64_t order_ttl;
	int64_t
	    pending_per_client;  /* unpaid orders one client (IPv4, IPv6 /64) or email may hold */
	int64_t default_max_qty; /* per order, for products whose max_qty is 0 */
	char *alert_email;
	char *merchant_lang; /* "en" or "zh-CN": the merchant's mails and messages */
	char *timezone;      /* IANA name the dashboard's days are counted in */
	/* [smtp] */
	char *smtp_url;
	char *smtp_from;
	char *smtp_username;
	char *smtp_password;
	int64_t smtp_timeout;
	char *smtp_tls;      /* "starttls" (required off this machine), "tls" (implicit), "none" */
	int smtp_tls_verify; /* check the server's certificate (against ca_file when set) */
	char *smtp_ca_file;
	/* [payment.epay] */
	int epay_enabled;
	char *epay_api_url;
	char *epay_pid;
	char *epay_key;
	char *epay_types; /* wallets offered in EPay ("alipay,wxpay"), sent as `type`; "": none */
	/* [payment.alipay] */
	int alipay_enabled;
	char *alipay_gateway_url;
	char *alipay_app_id;
	char *alipay_private_key_file;
	char *alipay_public_key_file;
	/* [payment.wechat] (WeChat Pay API v3, Native) */
	int wechat_enabled;
	char *wechat_api_url;
	char *wechat_mchid;
	char *wechat_appid;
	char *wechat_serial_no; /* our merchant certificate's serial */
	char *wechat_private_key_file;
	char *wechat_apiv3_key; /* 32 bytes: the AEAD_AES_256_GCM key of notify resources */
	char *wechat_platform_public_key_file;
	char *wechat_platform_serial; /* Wechatpay-Serial must name it */
	/* [payment.stripe] */
	int stripe_enabled;
	char *stripe_api_url;
	char *stripe_secret_key;
	char *stripe_webhook_secret;
	/* [payment.epusdt] (USDT through epusdt / BEpusdt) */
	int epusdt_enabled;
	char *epusdt_api_url;
	char *epusdt_token;
	/* [payment] the gateways' breakers */
	int64_t breaker_failures; /* consecutive failed calls within breaker_window that... */
	int64_t breaker_window;   /* (seconds) */
	int64_t breaker_cooldown; /* ...take the gateway down for this long (seconds) */
	/* [payment.sandbox] */
	int sandbox_enabled;
	/* [notify] outgoing notifications of order and stock events */
	char *webhook_url;    /* POSTed signed events; "" = off */
	char *webhook_secret; /* HMAC-SHA256 key of X-Cardshop-Signature; required with the URL */
	char *telegram_bot_token;
	char *telegram_chat_id;
	char *telegram_api_url;
	int notify_mail_on_sale;  /* a mail to [shop] alert_email for every paid order */
	int64_t notify_low_stock; /* default low-stock threshold of a product, 0 = off */
	/* [backup] */
	char *backup_dir;
	int64_t backup_interval; /* seconds, 0 = off */
	int64_t backup_keep;
	/* not from the file: set by `cardshop demo` */
	int demo;
	unsigned char origin[CONFIG_MAX_KEYS]; /* enum config_origin, by key index */
};

/* Fills cfg with the built-in defaults. */
void config_defaults(struct config *cfg);
/* Applies the INI file at path (must exist) then the environment. On error returns -1 and writes
 * a one-line message naming the file, line and key into err. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/* Applies CARDSHOP_<SECTION>_<KEY> variables; -1 with a message on a bad value. */
int config_apply_env(struct config *cfg, char *err, size_t errlen);
/* Sets one key as if read from a file; used by the loader, env overrides and the demo. */
int config_set(struct config *cfg, const char *section, const char *key, const char *value,
               char *err, size_t errlen);
void config_cleanup(struct config *cfg);
/* Runs the checks across keys (as after loading); -1 with a message. */
int config_check(struct config *cfg, char *err, size_t errlen);
/* A deep copy of src into dst (config_cleanup it). */
void config_copy(struct config *dst, const struct config *src);

/* ---- the keys, for the admin's settings ---- */
enum config_kind { CONFIG_STR, CONFIG_INT, CONFIG_BOOL };
enum config_flag {
	CONFIG_LIVE = 1,     /* the merchant may change it in the settings; applied at once */
	CONFIG_SECRET = 2,   /* never shown */
	CONFIG_MULTILINE = 4 /* a text: line breaks allowed (only through the settings) */
};
struct config_key_info {
	const char *section, *name;
	enum config_kind kind;
	unsigned flags;
};
size_t config_key_count(void);
/* The i-th key (i < config_key_count()); borrowed strings. */
struct config_key_info config_key_at(size_t i);
/* The index of "section.key" (the section may hold dots: the key is after the last), or -1. */
int config_key_find(const char *dotted);
/* The i-th key's value in cfg: its string (borrowed), or its number (booleans 0/1). */
const char *config_str_at(const struct config *cfg, size_t i);
int64_t config_int_at(const struct config *cfg, size_t i);
/* Sets the i-th key from text as config_set does. */
int config_set_at(struct config *cfg, size_t i, const char *value, char *err, size_t errlen);

/* ---- the configuration threads read ----
 * Each published configuration is immutable and is never freed before exit, so a thread may
 * keep using the pointer it got however long it runs, with no lock and no reference count;
 * a change publishes a whole new copy (a few KiB per change of the settings). */
/* The configuration now; NULL until one is published. */
const struct config *config_current(void);
/* Makes cfg (malloc'd, taken over) the current configuration. */
void config_publish(struct config *cfg);
/* At exit, after every thread that read one stopped: frees every published configuration. */
void config_published_free(void);

#endif
