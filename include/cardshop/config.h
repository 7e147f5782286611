/* Configuration: built-in defaults, then the INI file (libinih), then CARDSHOP_* overrides. */
#ifndef CARDSHOP_CONFIG_H
#define CARDSHOP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

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
	char *currency;
	int64_t order_ttl;
	int64_t
	    pending_per_client;  /* unpaid orders one client (IPv4, IPv6 /64) or email may hold */
	int64_t default_max_qty; /* per order, for products whose max_qty is 0 */
	char *alert_email;
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
	/* [backup] */
	char *backup_dir;
	int64_t backup_interval; /* seconds, 0 = off */
	int64_t backup_keep;
	/* not from the file: set by `cardshop demo` */
	int demo;
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

#endif
