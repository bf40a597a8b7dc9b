/* Race test for the logger: 4 producers log while the main thread keeps switching outputs
 * (two files, logtime and debug toggled, a size limit that rotates), renames the file away
 * and reopens it, flushes, and once shuts the logger down and starts it again (the producers
 * log until the main thread has done its rounds), with a small queue limit so that lines are
 * dropped. Afterwards every line of every file (backups and the synchronous stderr included)
 * must be intact, each producer's lines must be there once each, in order within each file,
 * the lines that are missing must be those counted as dropped, every drop must be reported by
 * a WRN line, and every reopen notice must be there (they are never dropped). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/log.h"
#include "tests/stress/stress.h"

enum { PRODUCERS = 4, PER_PRODUCER = 200000, ROUNDS = 60 };

#define PAYLOAD "the quick brown fox jumps over the lazy dog"

static atomic_bool stop;
static int produced[PRODUCERS];
static long debug_tries[PRODUCERS]; /* debug lines that passed the level check */
static char dir[64];

static void *produce(void *arg)
{
	int id = (int)(intptr_t)arg;
	int i = 0;
	long tries = 0;
	/* relaxed: a stop request; the join publishes produced[]. */
	for (; i < PER_PRODUCER && !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
		nd_log_info("p%d s%d %s", id, i, PAYLOAD);
		if (nd_log_enabled(ND_LOG_DEBUG)) { /* only while debug is on */
			tries++;
			nd_log(ND_LOG_DEBUG, "debug noise from p%d", id);
		}
	}
	produced[id] = i;
	debug_tries[id] = tries;
	return NULL;
}

static void configure(const char *name, bool logtime, bool debug, int64_t limit)
{
	char path[256], err[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int rc = nd_log_configure(&(nd_log_opts_t){.file = path,
						   .logtime = logtime,
						   .debug = debug,
						   .size_limit = limit,
						   .queue_limit = 256 * 1024},
				  err, sizeof(err));
	CHECK(rc == 0, "configure: %s", err);
}

static unsigned char seen[PRODUCERS][PER_PRODUCER];
static unsigned long long reported_drops, debug_seen, reopened_seen;

static void check_file(const char *path, regex_t *any, regex_t *ours)
{
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "open %s", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int last[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++)
		last[i] = -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		CHECK(line[n - 1] == '\n', "%s: unterminated line '%s'", path, line);
		line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r') /* the reference's "Rotated log" line */
			line[--n] = '\0';
		CHECK(regexec(any, line, 0, NULL, 0) == 0, "%s: mangled line '%s'", path, line);
		const char *w = strstr(line, "[WRN] ");
		unsigned long long d;
		if (w != NULL && sscanf(w, "[WRN] %llu log lines dropped", &d) == 1)
			reported_drops += d;
		if (strstr(line, "[DBG] debug noise from p") != NULL)
			debug_seen++;
		if (strstr(line, "[INF] File log re-opened") != NULL)
			reopened_seen++;
		if (regexec(ours, line, 0, NULL, 0) != 0)
			continue;
		int id, seq;
		CHECK(sscanf(strstr(line, "] p"), "] p%d s%d", &id, &seq) == 2, "parse '%s'", line);
		CHECK(id >= 0 && id < PRODUCERS && seq >= 0 && seq < PER_PRODUCER, "'%s'", line);
		CHECK(seq > last[id], "%s: p%d s%d after s%d", path, id, seq, last[id]);
		CHECK(!seen[id][seq], "p%d s%d twice", id, seq);
		seen[id][seq] = 1;
		last[id] = seq;
	}
	free(line);
	fclose(f);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nd_stress_log.XXXXXX");
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char path[512];
	snprintf(path, sizeof(path), "%s/stderr.txt", dir);
	int efd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int saved = dup(STDERR_FILENO);
	dup2(efd, STDERR_FILENO);

	configure("a.log", true, false, 0);
	pthread_t t[PRODUCERS];
	for (intptr_t i = 0; i < PRODUCERS; i++)
		pthread_create(&t[i], NULL, produce, (void *)i);
	int round = 0, reopens = 0;
	while (round < ROUNDS) {
		switch (round++ % 6) {
		case 0:
			configure("b.log", round % 4 == 1, true, 0);
			break;
		case 1: {
			char from[256], to[256];
			snprintf(from, sizeof(from), "%s/b.log", dir);
			snprintf(to, sizeof(to), "%s/b.log.%d", dir, round);
			rename(from, to); /* logrotate, then SIGUSR1 */
			nd_log_reopen();
			reopens++;
			break;
		}
		case 2:
			configure("a.log", true, false, 64 * 1024); /* rotates as it goes */
			break;
		case 3:
			nd_log_flush();
			break;
		case 4:
			if (round == 5) { /* once: lines go to stderr for a while */
				nd_log_shutdown();
				usleep(2000);
			}
			configure("a.log", false, false, 0);
			break;
		default:
			nd_log_reopen();
			reopens++;
			break;
		}
		usleep(500);
	}
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	nd_log_shutdown();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(efd);

	regex_t any, ours;
	CHECK(regcomp(
		  &any,
		  "^\\[[0-9]+\\] ([0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} "
		  ")?\\[(INF|DBG|WRN|ERR)\\] [^\\[]*$",
		  REG_EXTENDED | REG_NOSUB) == 0,
	      "regex");
	CHECK(regcomp(&ours, "\\[INF\\] p[0-9] s[0-9]+ " PAYLOAD "$", REG_EXTENDED | REG_NOSUB) ==
		  0,
	      "regex");
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		check_file(path, &any, &ours);
		unlink(path);
		files++;
	}
	closedir(d);
	rmdir(dir);
	regfree(&any);
	regfree(&ours);
	/* Producers outrun one logger thread: lines over the queue limit are dropped, and
	 * every one of them must be accounted for, both by the counter and by WRN lines. */
	unsigned long long total = 0, missing = 0, tries = 0;
	for (int i = 0; i < PRODUCERS; i++) {
		for (int s = 0; s < PER_PRODUCER; s++) {
			CHECK(s < produced[i] || !seen[i][s], "p%d s%d never logged", i, s);
			missing += s < produced[i] && !seen[i][s];
		}
		total += (unsigned long long)produced[i];
		tries += (unsigned long long)debug_tries[i];
	}
	unsigned long long dropped = (unsigned long long)nd_log_dropped();
	/* The drop counter counts debug lines too; of those the producers know only how many
	 * passed their level check (nd_logv checks again and may skip one on a toggle). */
	CHECK(missing <= dropped && dropped - missing <= tries - debug_seen,
	      "%llu info lines missing, %llu dropped, %llu of %llu debug lines missing", missing,
	      dropped, tries - debug_seen, tries);
	CHECK(reopened_seen == (unsigned long long)reopens, "%llu of %d reopen notices",
	      reopened_seen, reopens);
	CHECK(reported_drops == dropped, "WRN lines report %llu of %llu dropped", reported_drops,
	      dropped);
	printf("stress_log: ok (%d rounds, %d files, %llu lines, %llu dropped)\n", round, files,
	       total, dropped);
	return 0;
}
