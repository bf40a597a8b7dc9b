/* The subscription index of one account: a trie of subject tokens ('*' and '>' children per
 * level) whose levels are open-addressing hash tables. Any number of readers match without
 * locks or atomic read-modify-writes while one writer at a time (a mutex taken only by SUB and
 * UNSUB) inserts and removes; replaced memory is retired through QSBR (runtime/qsbr.h). Every
 * change bumps a generation that match caches compare against. */
#ifndef ND_ACTORS_SUBLIST_H
#define ND_ACTORS_SUBLIST_H

#include <stddef.h>
#include <stdint.h>

#include "actors/sub.h"
#include "runtime/qsbr.h"

typedef struct nd_sublist nd_sublist_t;

/* One queue group in a match result: members that share the queue name. */
typedef struct nd_qgroup {
	const char *name;
	uint32_t name_len;
	uint32_t n;
	nd_sub_t **members;
} nd_qgroup_t;

/* A match result. Owned by the caller; reusable with nd_match_reset. */
typedef struct nd_match {
	nd_sub_t **psubs;
	size_t np, capp;
	nd_qgroup_t *groups;
	size_t ng, capg;
	nd_sub_t **qsubs; /* storage for the groups' members */
	size_t nq, capq;
} nd_match_t;

void nd_match_init(nd_match_t *m);
void nd_match_reset(nd_match_t *m);
void nd_match_deinit(nd_match_t *m);

nd_sublist_t *nd_sublist_create(void);

/* Frees the index. Nobody may use it any more; subscriptions still inside are not freed. */
void nd_sublist_destroy(nd_sublist_t *sl);

/* Inserts sub under its subject (sub->subject must be valid for SUB). Replaced memory is
 * retired to (q, slot): the caller's participant. Any thread, serialised internally.
 * Returns 0 or -EINVAL for an invalid subject. */
int nd_sublist_insert(nd_sublist_t *sl, nd_sub_t *sub, nd_qsbr_t *q, unsigned slot);

/* Removes sub. Returns 0, or -ENOENT if it was not there. Any thread, serialised internally. */
int nd_sublist_remove(nd_sublist_t *sl, nd_sub_t *sub, nd_qsbr_t *q, unsigned slot);

/* Collects every subscription matching the literal subject into m (reset first). A subject with
 * an empty token matches nothing. The caller must be online in the QSBR domain the writers
 * retire to, and may use the subscriptions until its next quiescent point. */
void nd_sublist_match(nd_sublist_t *sl, const char *subject, size_t len, nd_match_t *m);

/* Changes so far; compare before trusting a cached match. acquire: a reader that sees a value
 * also sees the index as it was when that value was set. */
uint64_t nd_sublist_generation(nd_sublist_t *sl);

typedef struct nd_sublist_stats {
	uint64_t count, inserts, removes, matches;
} nd_sublist_stats_t;

void nd_sublist_stats(nd_sublist_t *sl, nd_sublist_stats_t *out);

#endif
