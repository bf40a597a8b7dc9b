/* Actor-owned libev io watchers. The trampoline marks the owner as the running actor so that
 * a stop it asks for takes effect when its callback returns. */
#include "runtime/io.h"

#include <assert.h>

#include "runtime/runtime_internal.h"
#include "runtime/worker.h"

static void io_trampoline(struct ev_loop *loop, ev_io *watcher, int revents)
{
	nd_io_t *io = (nd_io_t *)watcher;
	nd_actor_t *a = io->owner;
	nd_worker_t *w = a->home;
	w->io_calls++;
	w->current = a;
	io->cb(a, io, revents & (EV_READ | EV_WRITE));
	w->current = NULL;
	nd_actor_after_callback(a);
}

void nd_io_init(nd_io_t *io, nd_actor_t *owner, int fd, nd_io_cb cb)
{
	ev_io_init(&io->watcher, io_trampoline, fd, 0);
	io->owner = owner;
	io->cb = cb;
	io->events = 0;
}

void nd_io_set(nd_io_t *io, int events)
{
	nd_actor_t *a = io->owner;
	struct ev_loop *loop = a->home->loop;
	assert(nd_worker_current() == a->home);
	events &= EV_READ | EV_WRITE;
	if (events == io->events)
		return;
	if (io->events != 0) {
		ev_io_stop(loop, &io->watcher);
		if (events == 0)
			a->watchers--;
	} else {
		a->watchers++;
	}
	io->events = events;
	if (events != 0) {
		/* modify keeps the fd registration; set would force an epoll_ctl DEL/ADD. */
		ev_io_modify(&io->watcher, events);
		ev_io_start(loop, &io->watcher);
	}
}
