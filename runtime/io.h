/* Socket readiness for actors: a libev io watcher owned by an actor, started and stopped on
 * the actor's home worker only, whose callback runs there as part of the actor's life. The
 * struct is public so that it can be embedded in actor state; its fields are not. */
#ifndef ND_RUNTIME_IO_H
#define ND_RUNTIME_IO_H

#include <ev.h>

#include "runtime/actor.h"

#define ND_IO_READ EV_READ
#define ND_IO_WRITE EV_WRITE

typedef struct nd_io nd_io_t;
typedef void (*nd_io_cb)(nd_actor_t *self, nd_io_t *io, int events);

struct nd_io {
	ev_io watcher;
	nd_actor_t *owner;
	nd_io_cb cb;
	int events; /* currently watched: ND_IO_READ | ND_IO_WRITE, 0 = stopped */
};

/* Prepares io for `fd` owned by `owner`; watches nothing yet. Home worker only. */
void nd_io_init(nd_io_t *io, nd_actor_t *owner, int fd, nd_io_cb cb);

/* Watches `events` (0 stops). Level-triggered: a callback that leaves data unread is called
 * again on the next pass. Home worker only. */
void nd_io_set(nd_io_t *io, int events);

static inline int nd_io_events(const nd_io_t *io)
{
	return io->events;
}

static inline int nd_io_fd(const nd_io_t *io)
{
	return io->watcher.fd;
}

#endif
