// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tld-writer: threads that publish the TLDs that consumer.bpf.c reads.
 *
 *	tld-writer MAP [THREADS]
 *
 * Registers MAP (the loader's pinned map, DIR/tld_data_map) with
 * tld_map_open(), starts THREADS threads (default 3, at most 64), each of
 * which publishes its own priority, request id and label and prints them
 * on one line, in the format of the loader's per-thread lines.  The threads
 * then sleep and wake every few milliseconds, so that they go on and off the
 * CPU, until SIGINT or SIGTERM.  Needs write access to MAP, not root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/types.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tld/tld.h>

#include "consumer.h"

#define MAX_THREADS 64

/* Defined before main() runs, so every thread's block has room for them. */
TLD_DEFINE_KEY(priority_key, CONSUMER_PRIORITY, sizeof(__s32));
TLD_DEFINE_KEY(request_id_key, CONSUMER_REQUEST_ID, sizeof(__u64));
TLD_DEFINE_KEY(label_key, CONSUMER_LABEL, CONSUMER_LABEL_LEN);

static atomic_int stop;
static atomic_int failed;
static pthread_barrier_t published;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	/* The calling thread's copies: the first call registers the thread in
	 * every registered map. */
	__s32 *priority = tld_data(priority_key);
	__u64 *request_id = tld_data(request_id_key);
	char *label = tld_data(label_key);
	const struct timespec nap = {.tv_sec = 0, .tv_nsec = 5000000};

	if (!priority || !request_id || !label) {
		fprintf(stderr, "tld-writer: thread %u: tld_data: %s\n", i, strerror(errno));
		atomic_store(&failed, 1);
		pthread_barrier_wait(&published);
		return NULL;
	}
	/* Plain stores: BPF reads them from the thread's page. */
	*priority = (__s32)(10 + i);
	*request_id = (1ull << 32) + 1000ull * i;	/* wider than 32 bits */
	snprintf(label, CONSUMER_LABEL_LEN, "worker-%u", i);

	pthread_mutex_lock(&print_lock);
	printf("tid %d pid %d priority %d request_id %llu label %s\n", gettid(), getpid(), *priority,
	       (unsigned long long)*request_id, label);
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
	pthread_barrier_wait(&published);

	while (!atomic_load(&stop))
		nanosleep(&nap, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS];
	unsigned long n = 3;
	unsigned i, started = 0;
	sigset_t stop_signals;
	char *end;
	int err, sig;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: tld-writer MAP [THREADS]\n");
		return 2;
	}
	if (argc == 3) {
		errno = 0;
		n = strtoul(argv[2], &end, 10);
		if (errno || end == argv[2] || *end || n < 1 || n > MAX_THREADS) {
			fprintf(stderr, "tld-writer: THREADS must be from 1 to %d, not '%s'\n", MAX_THREADS,
				argv[2]);
			return 2;
		}
	}
	err = tld_key_err_or_zero(priority_key);
	if (!err)
		err = tld_key_err_or_zero(request_id_key);
	if (!err)
		err = tld_key_err_or_zero(label_key);
	if (err) {
		fprintf(stderr, "tld-writer: creating the keys: %s\n", strerror(-err));
		return 1;
	}
	err = tld_map_open(argv[1]);
	if (err < 0) {
		fprintf(stderr, "tld-writer: tld_map_open(%s): %s\n", argv[1], strerror(-err));
		return 1;
	}

	/* SIGINT and SIGTERM wait for sigwait() below, in every thread. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	pthread_barrier_init(&published, NULL, (unsigned)n + 1);
	for (i = 0; i < n; i++) {
		err = pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)i);
		if (err) {
			fprintf(stderr, "tld-writer: pthread_create: %s\n", strerror(err));
			return 1;	/* the barrier would never open */
		}
		started++;
	}
	pthread_barrier_wait(&published);
	if (!atomic_load(&failed)) {
		fprintf(stderr, "tld-writer: %u threads publishing in %s; SIGINT or SIGTERM stops\n",
			started, argv[1]);
		sigwait(&stop_signals, &sig);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	return atomic_load(&failed) ? 1 : 0;
}
