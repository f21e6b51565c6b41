/* SPDX-License-Identifier: GPL-2.0 */
/* Between the C files of the shim; the Rust side never sees these. */
#ifndef RDSRS_INTERNAL_H
#define RDSRS_INTERNAL_H

#include "shim.h"

/* The registered callbacks; *@ctx gets their context. */
const struct rdsrs_ops *rdsrs_ops_get(void **ctx);
/* The Rust state of @net (what ->net_init stored). */
void *rdsrs_net_priv(struct net *net);

/* The rds_tcp generic netlink family (sys/genl.c). */
int rdsrs_genl_init(void);
void rdsrs_genl_exit(void);

#endif
