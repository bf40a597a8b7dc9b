/* Accounts: a name and an index. */
#include "actors/account.h"

#include <stdlib.h>
#include <string.h>

nd_account_t *nd_account_create(const char *name)
{
	nd_account_t *a = calloc(1, sizeof(*a));
	if (a == NULL || (a->name = strdup(name)) == NULL)
		abort();
	a->sl = nd_sublist_create();
	return a;
}

void nd_account_destroy(nd_account_t *acc)
{
	if (acc == NULL)
		return;
	nd_sublist_destroy(acc->sl);
	free(acc->name);
	free(acc);
}
