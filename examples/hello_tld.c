// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hello_tld: threads publish task local data, and a BPF program reads it.
 *
 * Each thread writes its own values into three TLDs with plain stores.  Then
 * each thread runs the verification BPF program, which finds the same TLDs
 * by name in the thread's task local storage.  The table shows what user
 * space wrote beside what BPF read.  Needs root (or CAP_BPF + CAP_PERFMON).
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/types.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <tld/tld.h>

#include "tld_verify.h"
#include "tld_verify.skel.h"

/* Defined before main() runs: sized into every thread's block. */
TLD_DEFINE_KEY(prio_key, "hello.priority", sizeof(int));
TLD_DEFINE_KEY(req_key, "hello.request_id", sizeof(unsigned long long));
TLD_DEFINE_KEY(cs_key, "hello.in_critical_section", sizeof(char));

#define THREADS 4

static struct tld_verify *skel;
static tld_key_t phase_key;	/* created at run time, after threads exist */
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t phase_ready;
static int mismatches;

struct tld_row {
	const char *name;
	size_t size;
	unsigned long long wrote;
};

/* Ask BPF for this thread's TLDs; fill `got` and return 0 when it ran. */
static int bpf_read(struct tld_row *rows, int n, unsigned long long *got, int *found)
{
	struct tld_verify_req *req = calloc(1, sizeof(*req));
	__u32 tid = (__u32)syscall(SYS_gettid);
	int map = bpf_map__fd(skel->maps.verify_reqs);
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err, i;

	if (!req)
		return -ENOMEM;
	req->count = (__u32)n;
	req->flags = TLD_VERIFY_RESET_CACHE;
	for (i = 0; i < n; i++) {
		snprintf(req->item[i].name, sizeof(req->item[i].name), "%s", rows[i].name);
		req->item[i].size = (__u32)rows[i].size;
	}
	err = bpf_map_update_elem(map, &tid, req, BPF_ANY);
	if (!err)
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.tld_verify_read), &opts);
	if (!err)
		err = bpf_map_lookup_elem(map, &tid, req);
	bpf_map_delete_elem(map, &tid);
	for (i = 0; !err && i < n; i++) {
		found[i] = req->item[i].found == 1;
		got[i] = 0;
		memcpy(&got[i], req->item[i].value, rows[i].size);
	}
	free(req);
	return err;
}

static void *worker(void *arg)
{
	long t = (long)arg;
	int fd = bpf_map__fd(skel->maps.tld_data_map);
	int *prio = tld_get_data(fd, prio_key);
	unsigned long long *req = tld_get_data(fd, req_key);
	char *cs = tld_get_data(fd, cs_key);
	unsigned long long *phase;
	struct tld_row rows[4];
	unsigned long long got[4];
	int found[4], i;

	if (!prio || !req || !cs) {
		fprintf(stderr, "thread %ld: tld_get_data: %s\n", t, strerror(errno));
		pthread_barrier_wait(&phase_ready);
		pthread_barrier_wait(&phase_ready);
		return (void *)1;
	}
	/* Writing a TLD is a plain store: no system call. */
	*prio = (int)(10 + t);
	*req = 0x1000000ull * (unsigned long long)(t + 1) + 42;
	*cs = (char)(t % 2);

	pthread_barrier_wait(&phase_ready);	/* every thread holds its block */
	pthread_barrier_wait(&phase_ready);	/* main created hello.phase */
	phase = tld_data(phase_key);
	if (!phase)
		return (void *)1;
	*phase = 100 + (unsigned long long)t;

	rows[0] = (struct tld_row){"hello.priority", sizeof(int), (unsigned long long)*prio};
	rows[1] = (struct tld_row){"hello.request_id", sizeof(*req), *req};
	rows[2] = (struct tld_row){"hello.in_critical_section", 1, (unsigned long long)*cs};
	rows[3] = (struct tld_row){"hello.phase", sizeof(*phase), *phase};
	if (bpf_read(rows, 4, got, found)) {
		fprintf(stderr, "thread %ld: running the BPF reader: %s\n", t, strerror(errno));
		return (void *)1;
	}
	pthread_mutex_lock(&print_lock);
	for (i = 0; i < 4; i++) {
		int ok = found[i] && got[i] == rows[i].wrote;

		printf("%-6ld %-26s %20llu %20llu  %s\n", t, rows[i].name, rows[i].wrote,
		       found[i] ? got[i] : 0ull, ok ? "ok" : (found[i] ? "DIFFERENT" : "NOT FOUND"));
		mismatches += !ok;
	}
	pthread_mutex_unlock(&print_lock);
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS];
	long t;
	int failed = 0;

	if (tld_key_is_err(prio_key) || tld_key_is_err(req_key) || tld_key_is_err(cs_key)) {
		fprintf(stderr, "defining keys failed\n");
		return 1;
	}
	skel = tld_verify__open_and_load();
	if (!skel) {
		fprintf(stderr, "loading the BPF program failed: %s (run as root; see tldctl probe)\n",
			strerror(errno));
		return 1;
	}
	pthread_barrier_init(&phase_ready, NULL, THREADS + 1);
	printf("%-6s %-26s %20s %20s\n", "thread", "TLD", "user space wrote", "BPF read");
	for (t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	pthread_barrier_wait(&phase_ready);
	/* A key created while threads already hold blocks: it uses the reserve. */
	phase_key = tld_create_key("hello.phase", sizeof(unsigned long long));
	if (tld_key_is_err(phase_key))
		fprintf(stderr, "tld_create_key: %s\n", strerror(-tld_key_err_or_zero(phase_key)));
	pthread_barrier_wait(&phase_ready);
	for (t = 0; t < THREADS; t++) {
		void *rc;

		pthread_join(th[t], &rc);
		failed |= rc != NULL;
	}
	tld_verify__destroy(skel);
	printf("%s\n", mismatches || failed ? "MISMATCH" : "every value matched");
	return mismatches || failed ? 1 : 0;
}
