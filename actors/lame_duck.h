/* Lame duck mode as the reference runs it (server.go, lameDuckMode): once the listener is
 * closed, every client gets an INFO with "ldm":true; after lame_duck_grace_period the clients
 * are closed one by one, spread over the rest of lame_duck_duration (at most a second apart);
 * then the server is done. An actor, so that the waiting never blocks a worker. */
#ifndef ND_ACTORS_LAME_DUCK_H
#define ND_ACTORS_LAME_DUCK_H

#include "actors/server.h"

/* Creates and starts the lame duck actor (it waits for the listener). Returns a reference. */
nd_actor_t *nd_lame_duck_create(nd_server_t *s);

/* Message: the listener's socket is closed; no new client can arrive. Any thread. */
void nd_lame_duck_listener_closed(nd_actor_t *ldm);

#endif
