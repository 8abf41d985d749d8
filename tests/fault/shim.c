// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fault injection for libtld, loaded with LD_PRELOAD.  It interposes
 * syscall() (libbpf's bpf() and libtld's pidfd_open go through it) and
 * mmap() (libtld's page pool and metadata page), and makes chosen calls fail
 * with a chosen errno.
 *
 * Faults, by name:
 *   bpf_update   bpf(BPF_MAP_UPDATE_ELEM)
 *   bpf_delete   bpf(BPF_MAP_DELETE_ELEM)
 *   bpf_obj_get  bpf(BPF_OBJ_GET)
 *   pidfd_open   pidfd_open()
 *   mmap         anonymous mmap() of `len` bytes (0: any length)
 *
 * Set at start from the environment, TLD_FAULT_<NAME>=ERRNO[:LEN] (for
 * example TLD_FAULT_PIDFD_OPEN=EMFILE, TLD_FAULT_MMAP=ENOMEM:262144), and at
 * run time with tld_fault_set(), which tests find with dlsym(): a test turns a
 * fault on around the call it checks and off again before it verifies.
 */
#define _GNU_SOURCE
/* Define mmap and mmap64 as themselves, not one redirected to the other. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

enum { F_BPF_UPDATE, F_BPF_DELETE, F_BPF_OBJ_GET, F_PIDFD_OPEN, F_MMAP, F_COUNT };

static const char *const names[F_COUNT] = {"bpf_update", "bpf_delete", "bpf_obj_get",
					   "pidfd_open", "mmap"};

struct fault {
	atomic_int err;		/* errno to fail with; 0: off */
	atomic_long skip;	/* matching calls to let through first */
	atomic_long left;	/* calls to fail after that; < 0: until turned off */
	atomic_ulong len;	/* mmap: length to fail, 0 any */
	atomic_long hits;	/* calls failed so far */
};

static struct fault faults[F_COUNT];

static int fault_index(const char *what)
{
	for (int i = 0; i < F_COUNT; i++)
		if (what && strcmp(what, names[i]) == 0)
			return i;
	return -1;
}

/* Should this call fail?  Returns the errno, or 0. */
static int take(int i)
{
	struct fault *f = &faults[i];
	int err = atomic_load(&f->err);

	if (!err)
		return 0;
	if (atomic_load(&f->skip) > 0 && atomic_fetch_sub(&f->skip, 1) > 0)
		return 0;
	long left = atomic_load(&f->left);
	if (left == 0)
		return 0;
	if (left > 0 && atomic_fetch_sub(&f->left, 1) <= 0)
		return 0;
	atomic_fetch_add(&f->hits, 1);
	return err;
}

/*
 * tld_fault_set() - fail the next calls of fault @what with @err (0 turns it
 * off), after letting @skip of them through; fail @count calls (< 0: until
 * turned off).  @len is the mmap length to fail (0: any).  Returns 0, or -1
 * for an unknown name.
 */
EXPORT int tld_fault_set(const char *what, int err, long skip, long count, unsigned long len)
{
	int i = fault_index(what);

	if (i < 0)
		return -1;
	atomic_store(&faults[i].err, 0);
	atomic_store(&faults[i].skip, skip);
	atomic_store(&faults[i].left, count);
	atomic_store(&faults[i].len, len);
	atomic_store(&faults[i].err, err);
	return 0;
}

/* tld_fault_hits() - calls that fault @what failed so far, or -1. */
EXPORT long tld_fault_hits(const char *what)
{
	int i = fault_index(what);

	return i < 0 ? -1 : atomic_load(&faults[i].hits);
}

static int errno_of(const char *s)
{
	static const struct {
		const char *name;
		int value;
	} known[] = {{"EPERM", EPERM},   {"ENOMEM", ENOMEM}, {"E2BIG", E2BIG},
		     {"EBUSY", EBUSY},   {"ENOSYS", ENOSYS}, {"EMFILE", EMFILE},
		     {"ENFILE", ENFILE}, {"EACCES", EACCES}, {"EINVAL", EINVAL},
		     {"EAGAIN", EAGAIN}, {"ESRCH", ESRCH}};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strncmp(s, known[i].name, strlen(known[i].name)) == 0)
			return known[i].value;
	return atoi(s);
}

__attribute__((constructor)) static void from_env(void)
{
	for (int i = 0; i < F_COUNT; i++) {
		char var[64] = "TLD_FAULT_";
		size_t n = strlen(var);

		for (const char *p = names[i]; *p && n < sizeof(var) - 1; p++)
			var[n++] = (*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p;
		var[n] = '\0';
		const char *v = getenv(var);
		if (!v || !*v)
			continue;
		const char *colon = strchr(v, ':');
		tld_fault_set(names[i], errno_of(v), 0, -1, colon ? strtoul(colon + 1, NULL, 0) : 0);
	}
}

typedef long (*syscall_fn)(long, ...);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

EXPORT long syscall(long nr, ...)
{
	static _Atomic(syscall_fn) real;
	syscall_fn fn = atomic_load(&real);
	long a[6];
	va_list ap;
	int err = 0;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	if (nr == SYS_bpf) {
		switch ((int)a[0]) {
		case BPF_MAP_UPDATE_ELEM: err = take(F_BPF_UPDATE); break;
		case BPF_MAP_DELETE_ELEM: err = take(F_BPF_DELETE); break;
		case BPF_OBJ_GET: err = take(F_BPF_OBJ_GET); break;
		}
	} else if (nr == SYS_pidfd_open) {
		err = take(F_PIDFD_OPEN);
	}
	if (err) {
		errno = err;
		return -1;
	}
	if (!fn) {
		fn = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
		atomic_store(&real, fn);
	}
	return fn(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static void *do_mmap(const char *sym, void *addr, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	if ((flags & MAP_ANONYMOUS) && atomic_load(&faults[F_MMAP].err)) {
		unsigned long want = atomic_load(&faults[F_MMAP].len);
		if (!want || want == len) {
			int err = take(F_MMAP);
			if (err) {
				errno = err;
				return MAP_FAILED;
			}
		}
	}
	static _Atomic(mmap_fn) real[2];
	int which = sym[4] != '\0';
	mmap_fn fn = atomic_load(&real[which]);
	if (!fn) {
		fn = (mmap_fn)dlsym(RTLD_NEXT, sym);
		atomic_store(&real[which], fn);
	}
	return fn(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap("mmap", addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap("mmap64", addr, len, prot, flags, fd, off);
}
