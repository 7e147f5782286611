/* Bare libmicrohttpd hello-world: the ceiling of our stack for bench/run.sh. Same daemon flags,
 * thread pool and connection limit as src/http/server.c; every GET gets "ok" as text/plain.
 * Usage: hello PORT (listens on 127.0.0.1 only, runs until SIGTERM or SIGINT). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

static char ok_body[] = "ok";
static struct MHD_Response *ok_response;
static struct MHD_Response *not_allowed;
static int request_marker; /* *con_cls after the first call of a request */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)url;
	(void)version;
	(void)upload_data;
	if (!*con_cls) { /* headers only: answering now would make MHD close the connection */
		*con_cls = &request_marker;
		return MHD_YES;
	}
	if (*upload_data_size > 0) { /* not expected on a GET; drained and ignored */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed);
	return MHD_queue_response(conn, MHD_HTTP_OK, ok_response);
}

/* Both responses are built once and shared: the cheapest possible answer. */
static int make_responses(void)
{
	ok_response =
	    MHD_create_response_from_buffer(strlen(ok_body), ok_body, MHD_RESPMEM_PERSISTENT);
	not_allowed = MHD_create_response_from_buffer(0, ok_body, MHD_RESPMEM_PERSISTENT);
	if (!ok_response || !not_allowed)
		return -1;
	if (MHD_add_response_header(ok_response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain") !=
	    MHD_YES)
		return -1;
	return MHD_add_response_header(not_allowed, MHD_HTTP_HEADER_ALLOW, "GET") == MHD_YES ? 0
	                                                                                     : -1;
}

static int parse_port(const char *s, unsigned short *port)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

static struct MHD_Daemon *start(unsigned short port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = (unsigned)(cores > 0 ? cores : 1);
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
	                        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
	                        MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
	                        1024u, MHD_OPTION_END);
}

/* Blocked before the daemon starts, so its threads inherit the mask and main gets the signal. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	unsigned short port = 0;
	if (argc != 2 || parse_port(argv[1], &port) != 0) {
		fprintf(stderr, "usage: hello PORT\n");
		return 2;
	}
	sigset_t set;
	block_signals(&set);
	if (make_responses() != 0) {
		fprintf(stderr, "hello: cannot build responses\n");
		return 1;
	}
	struct MHD_Daemon *d = start(port);
	if (!d) {
		fprintf(stderr, "hello: cannot listen on 127.0.0.1:%u\n", (unsigned)port);
		return 1;
	}
	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);
	MHD_destroy_response(ok_response);
	MHD_destroy_response(not_allowed);
	return 0;
}
