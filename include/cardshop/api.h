/* The HTTP API: one handler per endpoint (parse → call domain → JSON). */
#ifndef CARDSHOP_API_H
#define CARDSHOP_API_H

#include <stddef.h>

#include "cardshop/http.h"

/* Every route of the server, in match order. */
const struct http_route *api_routes(size_t *count);

#endif
