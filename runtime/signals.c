/* sigtimedwait on a blocked set: the synchronous way to take signals in a threaded process. */
#include "runtime/signals.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static void fill(sigset_t *set, const int *signals)
{
	sigemptyset(set);
	for (const int *s = signals; *s != 0; s++)
		sigaddset(set, *s);
}

int nd_signals_block(const int *signals)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGPIPE, &ign, NULL) != 0)
		return -errno;
	sigset_t set;
	fill(&set, signals);
	int err = pthread_sigmask(SIG_BLOCK, &set, NULL);
	return -err;
}

int nd_signals_wait(const int *signals, int timeout_ms)
{
	sigset_t set;
	fill(&set, signals);
	for (;;) {
		int sig;
		if (timeout_ms < 0) {
			sig = sigwaitinfo(&set, NULL);
		} else {
			struct timespec ts = {.tv_sec = timeout_ms / 1000,
					      .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
			sig = sigtimedwait(&set, NULL, &ts);
		}
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}
