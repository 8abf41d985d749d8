// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tld-consumer: loads the BPF program of consumer.bpf.c, attaches it, and
 * when it stops (after --seconds, or at SIGINT or SIGTERM) prints how many
 * reads found each TLD and, per thread, the last values it read.
 *
 *	tld-consumer [--pin-root DIR] [--seconds N]
 *
 * The program's task storage map is pinned as DIR/tld_data_map (DIR
 * defaults to /sys/fs/bpf/tld-consumer and is created if its parent
 * exists): writers register that path (TLD_MAP=DIR/tld_data_map in their
 * environment, or tld_map_open()).  A loader started again with the same
 * DIR reuses the map, and with it every writer's element, so writers need
 * do nothing when the loader restarts.  rm -r DIR drops the map.
 *
 * --seconds 0 (the default) reads until a signal stops it.  Needs root
 * (CAP_BPF and CAP_PERFMON).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <linux/types.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consumer.h"
#include "consumer.skel.h"

static const char *const tld_names[CONSUMER_TLDS] = {
	[CONSUMER_TLD_PRIORITY] = CONSUMER_PRIORITY,
	[CONSUMER_TLD_REQUEST_ID] = CONSUMER_REQUEST_ID,
	[CONSUMER_TLD_LABEL] = CONSUMER_LABEL,
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(FILE *f)
{
	fprintf(f, "usage: tld-consumer [--pin-root DIR] [--seconds N]\n");
	return f == stdout ? 0 : 2;
}

/* One line per thread the program read a TLD from. */
static int print_threads(const struct consumer *skel)
{
	int fd = bpf_map__fd(skel->maps.seen);
	__u32 key, next, *prev = NULL;
	struct consumer_seen s;
	int err;

	while ((err = bpf_map_get_next_key(fd, prev, &next)) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &s) || !s.found)
			continue;	/* gone since, or nothing found */
		printf("tid %u pid %u", key, s.tgid);
		if (s.found & (1u << CONSUMER_TLD_PRIORITY))
			printf(" priority %d", s.priority);
		else
			printf(" priority -");
		if (s.found & (1u << CONSUMER_TLD_REQUEST_ID))
			printf(" request_id %llu", (unsigned long long)s.request_id);
		else
			printf(" request_id -");
		if (s.found & (1u << CONSUMER_TLD_LABEL))
			printf(" label %.*s", CONSUMER_LABEL_LEN, s.label);
		else
			printf(" label -");
		printf(" switches %llu\n", (unsigned long long)s.switches);
	}
	return err == -ENOENT ? 0 : err;	/* -ENOENT: the last key */
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"pin-root", required_argument, NULL, 'p'},
		{"seconds", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pin_root = "/sys/fs/bpf/tld-consumer";
	unsigned long seconds = 0, tenths;
	struct consumer *skel;
	char *end;
	int c, err, i;

	while ((c = getopt_long(argc, argv, "p:s:h", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin_root = optarg;
			break;
		case 's':
			errno = 0;
			seconds = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || seconds > 86400) {
				fprintf(stderr, "tld-consumer: --seconds wants a number from 0 to 86400, not '%s'\n",
					optarg);
				return usage(stderr);
			}
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tld-consumer: unexpected argument '%s'\n", argv[optind]);
		return usage(stderr);
	}

	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
	skel = consumer__open_opts(&opts);
	if (!skel) {
		fprintf(stderr, "tld-consumer: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	err = consumer__load(skel);
	if (err) {
		fprintf(stderr, "tld-consumer: loading the BPF program: %s\n", strerror(-err));
		if (err == -EINVAL)
			fprintf(stderr, "tld-consumer: if %s/tld_data_map belongs to another program, "
				"use another --pin-root or remove it\n", pin_root);
		goto out;
	}
	err = consumer__attach(skel);	/* on_switch, and tld_exec of the header */
	if (err) {
		fprintf(stderr, "tld-consumer: attaching the BPF programs: %s\n", strerror(-err));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "tld-consumer: reading; writers register %s/tld_data_map\n", pin_root);

	tenths = seconds * 10;
	for (unsigned long t = 0; !stop && (seconds == 0 || t < tenths); t++) {
		struct timespec tenth = {.tv_sec = 0, .tv_nsec = 100000000};

		nanosleep(&tenth, NULL);
	}

	printf("%-24s %s\n", "TLD", "reads that found it");
	for (i = 0; i < CONSUMER_TLDS; i++)
		printf("%-24s %llu\n", tld_names[i], (unsigned long long)skel->bss->found_reads[i]);
	err = print_threads(skel);
	if (err)
		fprintf(stderr, "tld-consumer: reading the map seen: %s\n", strerror(-err));
out:
	consumer__destroy(skel);	/* the pinned tld_data_map stays */
	return err ? 1 : 0;
}
