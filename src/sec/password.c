/* Password hashing with argon2id in PHC string format. Passwords and hashes are never logged. */
#include "cardshop/sec.h"

#include <argon2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/log.h"
#include "cardshop/util.h"

/* OWASP's argon2id baseline: 19 MiB, two passes, one lane. */
#define PW_T_COST 2
#define PW_M_COST 19456
#define PW_PARALLELISM 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32
/* Each hash holds 19 MiB for its duration: cap how many run at once so a burst of logins
 * cannot push the process into the OOM killer. Callers beyond the cap wait their turn. */
#define PW_MAX_CONCURRENT 8

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_free = PTHREAD_COND_INITIALIZER;
static int slots_used;

static void slot_acquire(void)
{
	pthread_mutex_lock(&slots_lock);
	while (slots_used >= PW_MAX_CONCURRENT)
		pthread_cond_wait(&slots_free, &slots_lock);
	slots_used++;
	pthread_mutex_unlock(&slots_lock);
}

static void slot_release(void)
{
	pthread_mutex_lock(&slots_lock);
	slots_used--;
	pthread_cond_signal(&slots_free);
	pthread_mutex_unlock(&slots_lock);
}

/* Returns a malloc'd PHC string; the caller frees it. Aborts if argon2 fails, which only
 * happens when its memory cannot be allocated (same policy as xmalloc). */
char *sec_password_hash(const char *password)
{
	size_t pwlen = strlen(password);
	if (pwlen > UINT32_MAX) {
		log_error("password too long to hash", NULL);
		abort();
	}
	unsigned char salt[PW_SALT_LEN];
	sec_random(salt, sizeof salt);
	size_t enclen = argon2_encodedlen(PW_T_COST, PW_M_COST, PW_PARALLELISM, PW_SALT_LEN,
	                                  PW_HASH_LEN, Argon2_id);
	char *encoded = xmalloc(enclen);
	slot_acquire();
	int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_PARALLELISM, password, pwlen, salt,
	                               sizeof salt, PW_HASH_LEN, encoded, enclen);
	slot_release();
	if (rc != ARGON2_OK) {
		log_error("argon2id hashing failed",
		          json_pack("{s:s}", "error", argon2_error_message(rc)));
		abort();
	}
	return encoded;
}

/* 1 when password matches hash; 0 for a wrong password or a hash that is not argon2id. */
int sec_password_verify(const char *hash, const char *password)
{
	if (!hash || !password || strncmp(hash, "$argon2id$", 10) != 0)
		return 0;
	size_t pwlen = strlen(password);
	if (pwlen > UINT32_MAX)
		return 0;
	slot_acquire();
	int rc = argon2id_verify(hash, password, pwlen);
	slot_release();
	return rc == ARGON2_OK;
}
