// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process for tldctl dump and ps to look at: registers the map named by
 * TLD_MAP (libtld reads it at first use), starts THREADS threads that each
 * publish their thread id, a pattern and the values below, prints "ready"
 * and the thread ids, and waits until its standard input closes.  The main
 * thread publishes nothing; worker t is named dump-worker-t.
 *
 * Besides the per-thread values, every thread publishes integers at the edge
 * of what JSON readers hold exactly and names that are UTF-8, not UTF-8,
 * and control characters (tests/bpf/test_tldctl.cpp knows them).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <tld/tld.h>

#define THREADS 3

TLD_DEFINE_KEY(tid_key, "dump.tid", sizeof(uint32_t));
TLD_DEFINE_KEY(small_key, "dump.small", sizeof(uint16_t));
TLD_DEFINE_KEY(blob_key, "dump.blob", 12);
TLD_DEFINE_KEY(big_key, "dump.big", sizeof(uint64_t));
TLD_DEFINE_KEY(safe_key, "dump.safe", sizeof(uint64_t));
TLD_DEFINE_KEY(utf8_key, "dump.\xc3\xbcnicode.\xe2\x86\x92", sizeof(uint8_t));
TLD_DEFINE_KEY(bad_key, "dump.\xff\xfe.bad", sizeof(uint8_t));
TLD_DEFINE_KEY(ctl_key, "dump.\x01tab\t.\\\"", sizeof(uint8_t));

static pthread_barrier_t ready, done;
static uint32_t tids[THREADS];

static void *worker(void *arg)
{
	long t = (long)arg;
	uint32_t *tid = tld_data(tid_key);
	uint16_t *small = tld_data(small_key);
	unsigned char *blob = tld_data(blob_key);
	uint64_t *big = tld_data(big_key);
	uint64_t *safe = tld_data(safe_key);
	uint8_t *utf8 = tld_data(utf8_key), *bad = tld_data(bad_key), *ctl = tld_data(ctl_key);

	char name[16];

	snprintf(name, sizeof(name), "dump-worker-%ld", t);
	pthread_setname_np(pthread_self(), name);
	if (tid && small && blob && big && safe && utf8 && bad && ctl && tld_thread_init() == 0) {
		*tid = (uint32_t)syscall(SYS_gettid);
		*small = (uint16_t)(1000 + t);
		memset(blob, 0xa0 + (int)t, 12);
		*big = 0xfedcba9876543210ull;		/* above 2^53 */
		*safe = (1ull << 53) - 1;		/* the largest exact integer */
		*utf8 = 1;
		*bad = 2;
		*ctl = 3;
		tids[t] = *tid;
	}
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&done);
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS];
	char buf[64];
	long t;

	pthread_barrier_init(&ready, NULL, THREADS + 1);
	pthread_barrier_init(&done, NULL, THREADS + 1);
	for (t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	pthread_barrier_wait(&ready);
	printf("ready");
	for (t = 0; t < THREADS; t++)
		printf(" %u", tids[t]);
	printf("\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	pthread_barrier_wait(&done);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	return 0;
}
