/* Handlers that wait (for a durable commit, a gateway, argon2) run on a pool of blocking
 * threads while libmicrohttpd suspends their connection, so its own workers (one per core)
 * keep serving everything else: the catalog and pages never queue behind a commit. */
#include <pthread.h>
#include <stdlib.h>

#include "cardshop/log.h"
#include "internal.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static struct http_req *head, *tail;
static pthread_t *threads;
static unsigned nthreads;
static int stopping;
static void (*run_fn)(struct http_req *req);

static struct http_req *take(void)
{
	pthread_mutex_lock(&lock);
	while (!head && !stopping)
		pthread_cond_wait(&ready, &lock);
	struct http_req *req = head;
	if (req) {
		head = req->offload_next;
		if (!head)
			tail = NULL;
	}
	pthread_mutex_unlock(&lock);
	return req;
}

static void *worker(void *arg)
{
	(void)arg;
	for (struct http_req *req; (req = take());) {
		log_set_req_id(req->req_id);
		run_fn(req);
		log_set_req_id(NULL);
		/* The reply is ready in req; the next callback for the connection sends it. */
		__atomic_store_n(&req->offload_done, 1, __ATOMIC_RELEASE);
		MHD_resume_connection(req->conn);
	}
	return NULL;
}

int http_offload_start(unsigned n, void (*run)(struct http_req *req))
{
	run_fn = run;
	stopping = 0;
	threads = xcalloc(n, sizeof *threads);
	for (nthreads = 0; nthreads < n; nthreads++) {
		if (pthread_create(&threads[nthreads], NULL, worker, NULL) != 0) {
			log_error("cannot start the blocking pool", NULL);
			http_offload_stop();
			return -1;
		}
	}
	return 0;
}

void http_offload_submit(struct http_req *req)
{
	req->offload_next = NULL;
	pthread_mutex_lock(&lock);
	if (tail)
		tail->offload_next = req;
	else
		head = req;
	tail = req;
	pthread_cond_signal(&ready);
	pthread_mutex_unlock(&lock);
}

void http_offload_stop(void)
{
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&ready);
	pthread_mutex_unlock(&lock);
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	nthreads = 0;
}
