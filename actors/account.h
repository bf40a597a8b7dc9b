/* An account: an isolated subject namespace with its own subscription index. The default
 * account is "$G"; nothing else is hard-wired to it. */
#ifndef ND_ACTORS_ACCOUNT_H
#define ND_ACTORS_ACCOUNT_H

#include "actors/sublist.h"

typedef struct nd_account {
	char *name;
	nd_sublist_t *sl;
} nd_account_t;

/* A new empty account; caller owns it. */
nd_account_t *nd_account_create(const char *name);

/* Frees the account and its index (no subscription may remain in use). */
void nd_account_destroy(nd_account_t *acc);

#endif
