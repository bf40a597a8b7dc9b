/* Hierarchical timing wheel. Level l holds entries whose expiry is 64^l .. 64^(l+1)-1 ms
 * away at insertion, in slot (expires >> 6l) & 63; that slot is cascaded to lower levels when
 * the clock reaches the start of its 64^l-ms span. Level 0 slots are single milliseconds. */
#include "runtime/timer_wheel.h"

#include <string.h>

#define BITS 6
#define MASK ((uint64_t)ND_WHEEL_SLOTS - 1)
#define MAX_DELTA (((uint64_t)1 << (BITS * ND_WHEEL_LEVELS)) - 1)
#define DUE_LEVEL ND_WHEEL_LEVELS

void nd_wheel_init(nd_wheel_t *wheel, uint64_t now_ms)
{
	memset(wheel, 0, sizeof(*wheel));
	wheel->now = now_ms;
}

void nd_wheel_entry_init(nd_wheel_entry_t *e)
{
	e->next = e->prev = NULL;
	e->level = -1;
	e->slot = 0;
	e->expires = 0;
}

static void list_append(nd_wheel_list_t *l, nd_wheel_entry_t *e)
{
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
}

static void list_unlink(nd_wheel_list_t *l, nd_wheel_entry_t *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->next = e->prev = NULL;
}

static void place(nd_wheel_t *wheel, nd_wheel_entry_t *e)
{
	if (e->expires <= wheel->now) {
		e->level = DUE_LEVEL;
		list_append(&wheel->due, e);
		return;
	}
	uint64_t delta = e->expires - wheel->now;
	int level = 0;
	if (delta >= ND_WHEEL_SLOTS)
		level = (63 - __builtin_clzll(delta)) / BITS;
	unsigned slot = (unsigned)((e->expires >> (BITS * level)) & MASK);
	e->level = (int16_t)level;
	e->slot = (uint8_t)slot;
	list_append(&wheel->slots[level][slot], e);
	wheel->occupied[level] |= (uint64_t)1 << slot;
}

void nd_wheel_insert(nd_wheel_t *wheel, nd_wheel_entry_t *e, uint64_t expires_ms)
{
	if (expires_ms > wheel->now && expires_ms - wheel->now > MAX_DELTA)
		expires_ms = wheel->now + MAX_DELTA;
	e->expires = expires_ms;
	place(wheel, e);
	wheel->count++;
}

void nd_wheel_remove(nd_wheel_t *wheel, nd_wheel_entry_t *e)
{
	if (e->level < 0)
		return;
	if (e->level == DUE_LEVEL) {
		list_unlink(&wheel->due, e);
	} else {
		nd_wheel_list_t *l = &wheel->slots[e->level][e->slot];
		list_unlink(l, e);
		if (l->head == NULL)
			wheel->occupied[e->level] &= ~((uint64_t)1 << e->slot);
	}
	e->level = -1;
	wheel->count--;
}

static inline uint64_t rotr64(uint64_t v, unsigned r)
{
	r &= 63;
	return r == 0 ? v : (v >> r) | (v << (64 - r));
}

/* The next time > now at which level `level` has work: a level-0 expiry or the start of an
 * occupied upper slot's span. UINT64_MAX if the level is empty. */
static uint64_t level_next(const nd_wheel_t *wheel, int level)
{
	uint64_t occ = wheel->occupied[level];
	if (occ == 0)
		return UINT64_MAX;
	unsigned shift = (unsigned)(BITS * level);
	uint64_t first = (wheel->now >> shift) + 1; /* first span start after now */
	unsigned offset = (unsigned)__builtin_ctzll(rotr64(occ, (unsigned)(first & MASK)));
	return (first + offset) << shift;
}

/* Earliest time > now at which any level has work, ignoring the due list. */
static uint64_t pending_next(const nd_wheel_t *wheel)
{
	uint64_t best = UINT64_MAX;
	for (int l = 0; l < ND_WHEEL_LEVELS; l++) {
		uint64_t t = level_next(wheel, l);
		if (t < best)
			best = t;
	}
	return best;
}

uint64_t nd_wheel_next(const nd_wheel_t *wheel)
{
	if (wheel->due.head != NULL)
		return wheel->now;
	return pending_next(wheel);
}

static void take_slot(nd_wheel_t *wheel, int level, unsigned slot, nd_wheel_list_t *out)
{
	*out = wheel->slots[level][slot];
	wheel->slots[level][slot].head = wheel->slots[level][slot].tail = NULL;
	wheel->occupied[level] &= ~((uint64_t)1 << slot);
}

void nd_wheel_advance(nd_wheel_t *wheel, uint64_t now_ms)
{
	while (wheel->now < now_ms) {
		uint64_t t = pending_next(wheel);
		if (t > now_ms) {
			wheel->now = now_ms;
			break;
		}
		wheel->now = t;
		/* Cascade from the top so that a span re-filed into a lower level is itself
		 * cascaded at this instant if it starts now. */
		for (int l = ND_WHEEL_LEVELS - 1; l >= 1; l--) {
			unsigned shift = (unsigned)(BITS * l);
			if ((t & (((uint64_t)1 << shift) - 1)) != 0)
				continue;
			nd_wheel_list_t moving;
			take_slot(wheel, l, (unsigned)((t >> shift) & MASK), &moving);
			for (nd_wheel_entry_t *e = moving.head, *next; e != NULL; e = next) {
				next = e->next;
				place(wheel, e);
			}
		}
		nd_wheel_list_t expired;
		take_slot(wheel, 0, (unsigned)(t & MASK), &expired);
		for (nd_wheel_entry_t *e = expired.head, *next; e != NULL; e = next) {
			next = e->next;
			e->level = DUE_LEVEL;
			list_append(&wheel->due, e);
		}
	}
}

nd_wheel_entry_t *nd_wheel_pop_due(nd_wheel_t *wheel)
{
	nd_wheel_entry_t *e = wheel->due.head;
	if (e == NULL)
		return NULL;
	list_unlink(&wheel->due, e);
	e->level = -1;
	wheel->count--;
	return e;
}
