/* Shared between the pay/ files. */
#ifndef CARDSHOP_PAY_INTERNAL_H
#define CARDSHOP_PAY_INTERNAL_H

#include "cardshop/pay.h"

extern const struct gateway epay_gateway;
extern const struct gateway sandbox_gateway;
int pay_params_unique(const struct kvlist *params);

#endif
