/* Test helpers shared by the Criterion suites. */
#include "tests/support/nd_test.h"

#include <time.h>

/* Weak: present only when the binary is built with LeakSanitizer (asan preset). */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

void nd_test_check_leaks(void)
{
	if (__lsan_do_recoverable_leak_check == NULL)
		return;
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
		     "memory leaked: see the LeakSanitizer report above");
}

uint64_t nd_test_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool nd_test_wait_until(bool (*cond)(void *arg), void *arg, unsigned timeout_ms)
{
	uint64_t deadline = nd_test_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		if (cond(arg))
			return true;
		if (nd_test_now_ns() >= deadline)
			return cond(arg);
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}
