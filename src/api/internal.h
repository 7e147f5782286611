/* Shared between the api/ files: each file exports its route table here. */
#ifndef CARDSHOP_API_INTERNAL_H
#define CARDSHOP_API_INTERNAL_H

#include "cardshop/api.h"

extern const struct http_route system_api_routes[];
extern const size_t system_api_nroutes;

#endif
