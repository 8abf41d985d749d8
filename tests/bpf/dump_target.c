// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process for tldctl dump to look at: registers the map named by TLD_MAP
 * (libtld reads it at first use), starts THREADS threads that each publish
 * their thread id and a pattern, prints "ready" and the thread ids, and
 * waits until its standard input closes.
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

static pthread_barrier_t ready, done;
static uint32_t tids[THREADS];

static void *worker(void *arg)
{
	long t = (long)arg;
	uint32_t *tid = tld_data(tid_key);
	uint16_t *small = tld_data(small_key);
	unsigned char *blob = tld_data(blob_key);

	if (tid && small && blob && tld_thread_init() == 0) {
		*tid = (uint32_t)syscall(SYS_gettid);
		*small = (uint16_t)(1000 + t);
		memset(blob, 0xa0 + (int)t, 12);
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
