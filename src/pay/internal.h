/* Shared between the pay/ files. */
#ifndef CARDSHOP_PAY_INTERNAL_H
#define CARDSHOP_PAY_INTERNAL_H

#include "cardshop/pay.h"

extern const struct gateway epay_gateway;
extern const struct gateway sandbox_gateway;
extern const struct gateway stripe_gateway;
extern const struct gateway epusdt_gateway;
/* The breakers' table size; gateway.c checks its table fits. */
#define PAY_MAX_GATEWAYS 16
size_t pay_gateway_index(const struct gateway *gw);
int pay_params_unique(const struct kvlist *params);

#endif
