/* Hierarchical timing wheel (6 levels of 64 slots, 1 ms resolution): O(1) insert and remove,
 * amortised O(1) expiry. A pure data structure with no clock and no threads: the worker feeds
 * it the loop time and arms one ev_timer for nd_wheel_next(). Entries due at the same
 * millisecond expire in insertion order. */
#ifndef ND_RUNTIME_TIMER_WHEEL_H
#define ND_RUNTIME_TIMER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ND_WHEEL_LEVELS 6
#define ND_WHEEL_SLOTS 64

typedef struct nd_wheel_entry {
	struct nd_wheel_entry *next, *prev;
	uint64_t expires; /* absolute ms */
	int16_t level;    /* -1: not in the wheel; ND_WHEEL_LEVELS: in the due list */
	uint8_t slot;
} nd_wheel_entry_t;

typedef struct nd_wheel_list {
	nd_wheel_entry_t *head, *tail;
} nd_wheel_list_t;

typedef struct nd_wheel {
	uint64_t now; /* time processed up to, ms */
	size_t count;
	uint64_t occupied[ND_WHEEL_LEVELS]; /* bit i: slot i is non-empty */
	nd_wheel_list_t slots[ND_WHEEL_LEVELS][ND_WHEEL_SLOTS];
	nd_wheel_list_t due; /* expired, waiting for nd_wheel_pop_due */
} nd_wheel_t;

/* Initialises an empty wheel whose clock starts at now_ms. */
void nd_wheel_init(nd_wheel_t *wheel, uint64_t now_ms);

/* Marks an entry as not in any wheel (so remove and is_linked work before first insert). */
void nd_wheel_entry_init(nd_wheel_entry_t *e);

/* Inserts e to expire at expires_ms (absolute). An entry already due goes straight to the due
 * list. e must not be linked. */
void nd_wheel_insert(nd_wheel_t *wheel, nd_wheel_entry_t *e, uint64_t expires_ms);

/* Unlinks e from the wheel or its due list. No-op if not linked. */
void nd_wheel_remove(nd_wheel_t *wheel, nd_wheel_entry_t *e);

static inline bool nd_wheel_entry_linked(const nd_wheel_entry_t *e)
{
	return e->level >= 0;
}

/* Moves the clock to now_ms and every entry expiring at or before it to the due list, in
 * expiry order. */
void nd_wheel_advance(nd_wheel_t *wheel, uint64_t now_ms);

/* Unlinks and returns the first due entry, or NULL. */
nd_wheel_entry_t *nd_wheel_pop_due(nd_wheel_t *wheel);

/* The earliest time at which advance may move something to the due list (never later than
 * the earliest expiry, possibly earlier: a cascade point). UINT64_MAX if empty; <= now if
 * the due list is not empty. */
uint64_t nd_wheel_next(const nd_wheel_t *wheel);

#endif
