/* Helpers for Criterion tests: ND_TEST (a Test that fails when the body leaked memory), and
 * bounded waits so that no test can hang. */
#ifndef ND_TESTS_SUPPORT_ND_TEST_H
#define ND_TESTS_SUPPORT_ND_TEST_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

/* Runs LeakSanitizer's recoverable check (sanitizer builds) and fails the current test if
 * anything allocated is unreachable. No-op in builds without LeakSanitizer. Criterion does
 * not fail a test whose fini crashes, so the check runs inside the test body (ND_TEST). */
void nd_test_check_leaks(void);

/* Defines a Criterion test whose body is followed by nd_test_check_leaks(). */
#define ND_TEST(suite, name, ...)                                                                  \
	static void nd_test_body_##suite##_##name(void);                                           \
	Test(suite, name, ##__VA_ARGS__)                                                           \
	{                                                                                          \
		nd_test_body_##suite##_##name();                                                   \
		nd_test_check_leaks();                                                             \
	}                                                                                          \
	static void nd_test_body_##suite##_##name(void)

/* Polls cond(arg) every millisecond for up to timeout_ms. Returns its last value. */
bool nd_test_wait_until(bool (*cond)(void *arg), void *arg, unsigned timeout_ms);

/* Monotonic time in nanoseconds. */
uint64_t nd_test_now_ns(void);

#endif
