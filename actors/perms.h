/* Publish and subscribe permissions of a user, as the reference server applies them
 * (server/client.go: setPermissions, pubAllowed, canSubscribe, checkDenySub): allow and deny
 * lists of subjects with wildcards, queue-qualified subscribe entries ("subject queue") and
 * response permissions. A permission set is immutable once built and shared by every
 * connection of its users (reference-counted); the per-connection state (the reply subjects
 * it may answer, the delivery deny filter) lives with the connection. */
#ifndef ND_ACTORS_PERMS_H
#define ND_ACTORS_PERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One side (publish or subscribe) as configured. `allow == NULL` means no allow list (all
 * allowed unless denied); an allow list of length 0 allows nothing. */
typedef struct nd_subject_perm {
	char **allow;
	size_t nallow;
	bool has_allow;
	char **deny;
	size_t ndeny;
} nd_subject_perm_t;

/* allow_responses: after receiving a request, the user may publish up to max_msgs replies to
 * its reply subject within expires_ns (negative: unlimited). */
typedef struct nd_resp_perm {
	int64_t max_msgs;
	int64_t expires_ns;
} nd_resp_perm_t;

typedef struct nd_perms nd_perms_t;

/* Builds a permission set; NULL sides mean "not configured". With a response permission and
 * no publish allow list, publishing is allowed only to reply subjects (the reference's
 * validateResponsePermissions). The caller keeps its arguments; the result has one reference. */
nd_perms_t *nd_perms_create(const nd_subject_perm_t *pub, const nd_subject_perm_t *sub,
			    const nd_resp_perm_t *resp);
nd_perms_t *nd_perms_ref(nd_perms_t *p);
void nd_perms_unref(nd_perms_t *p);

/* True if both sets say the same (reload compares users by value). */
bool nd_perms_equal(const nd_perms_t *a, const nd_perms_t *b);

/* May a client with these permissions publish to subject? (Before reply tracking: see
 * nd_perms_has_resp.) Any thread. */
bool nd_perms_pub_allowed(const nd_perms_t *p, const char *subject, size_t n);

/* Does the set restrict publishing at all? (Skips the check on the hot path.) */
bool nd_perms_restricts_pub(const nd_perms_t *p);

/* May it subscribe to subject, optionally in queue group `queue` (NULL/0: plain)? Subscribe
 * subjects are matched token by token as literals, as the reference does, so "foo.*" is allowed
 * by "foo.*" or "foo.>" but not by "foo.bar". */
bool nd_perms_sub_allowed(const nd_perms_t *p, const char *subject, size_t n, const char *queue,
			  size_t qn);

/* True if a wildcard subscription to subject overlaps a subscribe deny entry, so that messages
 * delivered to it must be filtered with nd_perms_delivery_denied. */
bool nd_perms_needs_delivery_filter(const nd_perms_t *p, const char *subject, size_t n);

/* Is delivering a message published on subject denied by the subscribe deny list? */
bool nd_perms_delivery_denied(const nd_perms_t *p, const char *subject, size_t n);

/* The response permission, or NULL. */
const nd_resp_perm_t *nd_perms_resp(const nd_perms_t *p);

/* The configured sides (for reload comparisons, monitoring and tests). */
const nd_subject_perm_t *nd_perms_pub(const nd_perms_t *p);
const nd_subject_perm_t *nd_perms_sub(const nd_perms_t *p);

/* The reply subjects a connection with a response permission may publish to: each request
 * delivered to it opens one, for max_msgs replies within expires_ns. At most 4096 are tracked
 * (stale ones are pruned first), as in the reference. Owned by one connection; not shared. */
typedef struct nd_replies {
	struct nd_reply_slot *slots;
	uint32_t cap, count, tombs;
} nd_replies_t;

void nd_replies_init(nd_replies_t *r);
void nd_replies_deinit(nd_replies_t *r);

/* A request with this reply subject was delivered at now_ns. */
void nd_replies_record(nd_replies_t *r, const nd_resp_perm_t *rp, const char *reply, size_t n,
		       int64_t now_ns);

/* Publishing to subject: allowed as a reply? Counts the reply when it is. */
bool nd_replies_take(nd_replies_t *r, const nd_resp_perm_t *rp, const char *subject, size_t n,
		     int64_t now_ns);

/* The reference's check of a permission subject: a valid subject (no empty token, '>' last, no
 * whitespace) or, for subscribe entries, "subject queue". Returns NULL if fine, or the part to
 * name in "subject %q is not a valid subject". */
const char *nd_perms_check_subject(const char *s, size_t *bad_len);

#endif
