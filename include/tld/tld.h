/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libtld: task local data shared between threads and BPF programs.
 *
 * A TLD is a named, fixed-size piece of per-thread memory.  User space defines
 * it by name and size, gets a pointer to the calling thread's copy and writes
 * through it with ordinary stores.  BPF programs find the same TLD by name in
 * the thread's task local storage (see <tld/tld.bpf.h>).
 *
 * Conventions for every function below:
 *   - functions returning int return 0 (or a non-negative value where stated)
 *     on success and a negative errno on failure, and also set errno;
 *   - functions returning a pointer return NULL and set errno on failure;
 *   - a tld_key_t holds either a key (off >= 0) or a negative errno;
 *   - no function aborts, throws or prints on bad input;
 *   - every function is thread-safe unless its comment says otherwise.
 *
 * Environment variables read once, when the process first needs them:
 *   TLD_MAP            path of a pinned task storage map to register
 *   TLD_DYN_DATA_SIZE  bytes reserved per thread for keys created late
 */
#ifndef TLD_TLD_H
#define TLD_TLD_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TLD_API __attribute__((visibility("default")))
#else
#define TLD_API
#endif

/* Nothing in this library throws: C++ callers may rely on it. */
#if defined(__cplusplus)
#define TLD_NOEXCEPT noexcept
#else
#define TLD_NOEXCEPT
#endif

/* Longest TLD name, not counting the terminating NUL. */
#define TLD_NAME_MAX 61
/* Most TLDs one process can publish. */
#define TLD_KEYS_MAX 63
/* Most maps that can be registered at once. */
#define TLD_MAPS_MAX 8
/* Default per-thread reserve for keys created after the first thread block. */
#define TLD_DYN_DATA_SIZE_DEFAULT 64

/*
 * A key: the offset of a TLD in every thread's data area, or a negative errno.
 * Copy it freely; it stays valid for the life of the process.
 */
typedef struct {
	int16_t off;
} tld_key_t;

/*
 * tld_create_key() - publish a TLD named @name of @size bytes.
 *
 * Keys created before any thread took its data block are added to every
 * block's size; keys created later must fit in the dynamic reserve (see
 * tld_set_dyn_data_size()).  The TLD starts zero-filled in every thread.
 *
 * Returns the key, or a key holding:
 *   -EINVAL  @name is NULL, empty or longer than TLD_NAME_MAX; @size is 0
 *   -E2BIG   @size can never fit in a thread block, or the key does not fit in
 *            the space left (the dynamic reserve once blocks exist)
 *   -EEXIST  a TLD of that name is already published (see tld_find_key())
 *   -ENOSPC  TLD_KEYS_MAX TLDs are already published
 *   -ENOMEM  the metadata page could not be mapped, or the fork handlers
 *            could not be registered
 *   -EDEADLK the calling thread is inside tld_create_key() already: this call
 *            comes from a signal handler that interrupted it
 *   -EAGAIN  the creation lock could not be taken
 * Thread-safe.  Creators take a lock, a priority-inheritance mutex: a creator
 * waits only for the creations in progress, and lends them its priority.
 * Not async-signal-safe; in a signal handler that interrupted a creation of
 * its own thread it returns -EDEADLK instead of waiting for itself.
 */
TLD_API tld_key_t tld_create_key(const char *name, size_t size) TLD_NOEXCEPT;

/*
 * TLD_DEFINE_KEY() - define a file-scope key, created before main() runs
 * (or when the defining library is loaded).  Use it as a declaration,
 * followed by a semicolon:
 *
 *	TLD_DEFINE_KEY(prio_key, "priority", sizeof(int));
 *
 * Until its constructor runs, the key holds -EAGAIN.  Keys created before any
 * thread took its block are sized into every block; a definition that runs
 * later (a library loaded with dlopen() after threads used TLDs) must fit in
 * the dynamic reserve, or the key holds -E2BIG.
 *
 * When @name is published already with @size bytes (a plugin loaded again
 * after dlclose(), or another object defining the same name and size), the
 * key is that TLD's: objects that define the same name and size share it.
 * Published with another size, the key holds -EEXIST.  The constructor
 * leaves errno as it found it.
 *
 * The variable has hidden visibility: it belongs to the executable or shared
 * object that defines it, so objects that happen to use the same variable
 * name each keep their own key.  Other files of the same object may declare
 * it `extern tld_key_t key;`; other objects use tld_find_key().
 */
#define TLD_DEFINE_KEY(key, name, size)                                        \
	extern __attribute__((__visibility__("hidden"))) tld_key_t key;        \
	__attribute__((__visibility__("hidden"))) tld_key_t key = { -EAGAIN }; \
	__attribute__((constructor(101))) static void tld__ctor_##key(void)    \
	{                                                                      \
		const int tld__errno = errno;                                  \
		const char *tld__name = (name);                                \
		const size_t tld__size = (size);                               \
		tld_key_t tld__k = tld_create_key(tld__name, tld__size);       \
		if (tld__k.off == -EEXIST) {                                   \
			const tld_key_t tld__f =                               \
				tld_find_key(tld__name, tld__size);            \
			if (tld__f.off >= 0)                                   \
				tld__k = tld__f;                               \
		}                                                              \
		key = tld__k;                                                  \
		errno = tld__errno;                                            \
	}                                                                      \
	extern __attribute__((__visibility__("hidden"))) tld_key_t key

/* tld_key_is_err() - true if @key holds an error instead of a key. */
static inline bool tld_key_is_err(tld_key_t key)
{
	return key.off < 0;
}

/* tld_key_err_or_zero() - the negative errno held by @key, or 0. */
static inline int tld_key_err_or_zero(tld_key_t key)
{
	return key.off < 0 ? key.off : 0;
}

/*
 * tld_find_key() - look up a TLD that some other code in this process
 * published, so that two libraries can share it without sharing a variable.
 *
 * Returns the key, or a key holding:
 *   -EINVAL  @name is NULL, empty or too long; @size is 0; or the TLD exists
 *            with a size other than @size
 *   -ENOENT  no TLD of that name is published (a TLD that another thread is
 *            creating is found once its tld_create_key() published it)
 * Thread-safe and async-signal-safe; never waits for anyone.
 */
TLD_API tld_key_t tld_find_key(const char *name, size_t size) TLD_NOEXCEPT;

/*
 * tld_data() - the calling thread's copy of the TLD of @key.
 *
 * The first call in a thread takes the thread's block (one page) and
 * registers it in every registered map; later calls only compute an address.
 * The pointer is 8-byte aligned, stays valid until the thread exits or calls
 * tld_free(), and works whether or not any map is registered.
 *
 * Returns NULL and sets errno to:
 *   the key's own error  @key holds an error
 *   EINVAL               @key was never returned by this process
 *   ENOMEM               no page could be mapped for the thread's block
 *   EAGAIN               the process is out of pthread keys
 * Async-signal-safe once the calling thread called tld_thread_init().
 *
 * With GCC or Clang, the header inlines the common case (the thread holds
 * its block, the key was seen before): a few loads and compares in the
 * caller, no call into the library.  It keeps a small cache per thread in
 * every executable or shared object that includes this header (initial-exec
 * TLS).  Define TLD_NO_INLINE before including <tld/tld.h> to call the
 * library every time instead.
 */
TLD_API void *tld_data(tld_key_t key) TLD_NOEXCEPT;

/*
 * The inline fast path of tld_data().  Nothing below is API: the names may
 * change in any release, but what a compiled caller relies on stays:
 *   - tld_priv_data() returns what tld_data() returns; on success it may set
 *     the bit of the key's offset in @key_bits (offsets below 4096) and fill
 *     @cache for the calling thread, storing @cache->tagp last;
 *   - the library writes a tag unique in the process at *tagp when a thread
 *     takes its block, and zeroes it before the page changes hands, so a
 *     cache whose tag no longer matches is never used.
 */
struct tld_priv_cache {
	char *data;			/* the thread's data area */
	const uint64_t *tagp;		/* its page's owner tag; NULL: empty */
	uint64_t tag;			/* the tag's value when filled */
};

TLD_API void *tld_priv_data(tld_key_t key, struct tld_priv_cache *cache,
			    uint64_t *key_bits) TLD_NOEXCEPT;

/* Only where a 64-bit atomic load is a plain load (no libatomic call). */
#if defined(__GNUC__) && !defined(TLD_NO_INLINE) && \
	defined(__GCC_ATOMIC_LLONG_LOCK_FREE) && __GCC_ATOMIC_LLONG_LOCK_FREE == 2
#define TLD_PRIV_INLINE 1
#ifdef __cplusplus
#define TLD_PRIV_U16(x) static_cast<uint16_t>(x)
#else
#define TLD_PRIV_U16(x) ((uint16_t)(x))
#endif
/* One per executable or shared object: weak, so that every translation unit
 * may define it; hidden, so that every object has its own. */
extern __thread struct tld_priv_cache tld_priv_tls;
extern uint64_t tld_priv_key_bits[8];
__attribute__((__weak__, __visibility__("hidden"), __tls_model__("initial-exec")))
__thread struct tld_priv_cache tld_priv_tls;
__attribute__((__weak__, __visibility__("hidden")))
uint64_t tld_priv_key_bits[8];

/* The cache is read by name, never through a pointer: the address of a weak
 * variable may be null to a compiler, and null-pointer checks that
 * sanitizers add around a thread-local address do not survive the linker's
 * relaxation of its TLS access. */
extern __inline__ __attribute__((__gnu_inline__, __always_inline__))
void *tld_data(tld_key_t key) TLD_NOEXCEPT
{
	const uint64_t *tagp = tld_priv_tls.tagp;
	unsigned off = TLD_PRIV_U16(key.off);

	/* off < 4096, a multiple of 8 (negative keys fail here) */
	if (__builtin_expect(!(off & ~0xff8u) && tagp &&
			     __atomic_load_n(tagp, __ATOMIC_RELAXED) == tld_priv_tls.tag &&
			     (__atomic_load_n(&tld_priv_key_bits[off >> 9], __ATOMIC_RELAXED) >>
			      (off >> 3 & 63) & 1), 1))
		return tld_priv_tls.data + off;
	return tld_priv_data(key, &tld_priv_tls, tld_priv_key_bits);
}
#endif

/*
 * tld_get_data() - like tld_data(), and make sure that the calling thread is
 * registered in the map @map_fd (a BPF task storage map of the task local
 * data layout).  The first call with a new fd registers the map for the whole
 * process, as tld_map_register() does; the library keeps its own reference to
 * the map, so @map_fd may be closed later.  The fast path recognizes the
 * map by its fd number: once @map_fd is closed, do not pass that number
 * again for another map without calling tld_map_register() on it first.
 *
 * Returns NULL and sets errno to what tld_data() or tld_map_register() would
 * return, or to the error the kernel gave for this thread's map update.
 * Thread-safe.
 */
TLD_API void *tld_get_data(int map_fd, tld_key_t key) TLD_NOEXCEPT;

/*
 * tld_free() - release the calling thread's block now, instead of at thread
 * exit: its element is deleted from every registered map, then the page goes
 * back to the pool.  Every pointer this thread got before is invalid; a later
 * lookup takes a fresh, zero-filled block.  Does nothing if the thread has no
 * block.  Thread-safe.
 */
TLD_API void tld_free(void) TLD_NOEXCEPT;

/*
 * tld_thread_init() - take the calling thread's block and register it in
 * every registered map now.  Afterwards tld_data() with a valid key does not
 * allocate, lock or call the kernel, so it may be used from signal handlers.
 * Calling it again retries registrations that failed.
 *
 * Returns 0, or:
 *   -ENOMEM  no page could be mapped for the block
 *   -EAGAIN  the process is out of pthread keys
 *   another negative errno: the first error from registering this thread in
 *            a map (pidfd_open() or the map update); or, when TLD_MAP is set,
 *            the error met opening or registering that map (the variable is
 *            read once; each call retries a registration that failed, until
 *            one succeeds); the block is usable either way
 * Thread-safe.
 */
TLD_API int tld_thread_init(void) TLD_NOEXCEPT;

/*
 * tld_map_register() - register the task storage map @map_fd: every thread
 * that holds a block is added to it now, and every later thread on its first
 * lookup.  The library keeps its own duplicate of @map_fd.  Registering a map
 * that is already registered (the same map, through any fd) returns 0.
 *
 * The map must be a BPF_MAP_TYPE_TASK_STORAGE map whose value is the task
 * local data layout of version 1 (two UPTRs, 16 bytes) or its variant with
 * the data offset in the value (24 bytes); see libtld(7).  Nothing is written
 * to a map that is refused.  The layout is read from the map's BTF, which the
 * kernel shows only to CAP_SYS_ADMIN; without it, the value size decides
 * (16 bytes: version 1, 24 bytes: variant B), so a caller that was only given
 * access to a pinned map can still register it.
 *
 * Returns 0, or:
 *   -EBADF   @map_fd is not an open file descriptor
 *   -EINVAL  @map_fd is not a BPF map, or not a task storage map of a layout
 *            this library writes
 *   -ENOSPC  TLD_MAPS_MAX maps are registered already
 *   -ENOMEM, -EPERM, ...  the kernel's answer to reading the map's
 *            information or to adding an existing thread (pidfd_open() or
 *            the map update); on failure to add a thread, the map is left
 *            unregistered and the elements added so far are removed
 * Thread-safe.
 */
TLD_API int tld_map_register(int map_fd) TLD_NOEXCEPT;

/*
 * tld_map_unregister() - forget the map @map_fd (the same map through any
 * fd): every thread's element is deleted from it and later threads are not
 * added.
 *
 * Returns 0, or:
 *   -EBADF   @map_fd is not an open file descriptor
 *   -EINVAL  @map_fd is not a BPF map
 *   -ENOENT  the map is not registered
 * Thread-safe.
 */
TLD_API int tld_map_unregister(int map_fd) TLD_NOEXCEPT;

/*
 * tld_map_open() - open the map pinned at @pin_path in bpffs and register it.
 *
 * Returns a new file descriptor of the map (the caller owns it and may close
 * it at once: the registration holds its own reference), or:
 *   -EINVAL  @pin_path is NULL or empty; or the map is refused as by
 *            tld_map_register()
 *   -ENOENT, -EACCES, -EPERM, ...  from opening the pin
 *   anything tld_map_register() returns
 * Thread-safe.
 */
TLD_API int tld_map_open(const char *pin_path) TLD_NOEXCEPT;

/*
 * tld_set_dyn_data_size() - set the per-thread reserve for keys created after
 * the first block (default TLD_DYN_DATA_SIZE_DEFAULT, or the environment
 * variable TLD_DYN_DATA_SIZE).  @size is rounded up to a multiple of 8.
 *
 * Returns 0, or:
 *   -EBUSY   a thread already took its block: the layout is fixed
 *   -E2BIG   the reserve together with the keys already created would not
 *            fit a page
 *   -ENOMEM  the metadata page could not be mapped
 * Thread-safe.
 */
TLD_API int tld_set_dyn_data_size(size_t size) TLD_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TLD_TLD_H */
