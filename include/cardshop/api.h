/* The HTTP API: one handler per endpoint (parse → call domain → JSON). */
#ifndef CARDSHOP_API_H
#define CARDSHOP_API_H

#include <stddef.h>

#include "cardshop/http.h"

/* Every route of the server, in match order. */
const struct http_route *api_routes(size_t *count);
/* The guard of HTTP_GUARDED routes: a signed-in admin and, on unsafe methods, the CSRF token;
 * replies 401/403 otherwise. Run from the head, so no body is read for a stranger. */
void api_admin_guard(struct http_req *req);

#endif
