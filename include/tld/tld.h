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
 *   - every function is thread-safe unless its comment says otherwise;
 *   - no function is a cancellation point: a call made while a
 *     pthread_cancel() is pending completes, and the cancellation acts at
 *     the caller's next cancellation point.
 *
 * Environment variables read once, when the process first needs them, and
 * not at all in a setuid or setgid program (secure_getenv()):
 *   TLD_MAP            path of a pinned task storage map to register
 *   TLD_DYN_DATA_SIZE  bytes reserved per thread for keys created late
 *   TLD_LOG            when set (and not "0"), say on standard error why a
 *                      registration failed, once per reason (see
 *                      tld_set_print())
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
 *   EAGAIN               the process is out of pthread keys (the next
 *                        lookup tries again)
 * Async-signal-safe once the calling thread called tld_thread_init().
 *
 * With GCC or Clang on x86-64 and arm64, the header inlines the common case
 * (the thread holds its block): a few loads and compares in the caller, no
 * call into the library.  The inline code reads the library's own state of
 * the calling thread through the thread pointer; an object that includes
 * this header adds no thread-local storage of its own.  Define TLD_NO_INLINE
 * before including <tld/tld.h> to call the library every time instead.
 */
TLD_API void *tld_data(tld_key_t key) TLD_NOEXCEPT;

/*
 * The inline fast paths of tld_data() and tld_get_data().  Nothing below is
 * API: the names may change in any release, but what a compiled caller
 * relies on stays:
 *   - the library keeps a struct tld_priv_thread for every thread in its
 *     initial-exec TLS, at one offset from the thread pointer for all
 *     threads; tld_priv_lookup() and tld_priv_get_data() return what
 *     tld_data() and tld_get_data() return, and store that offset in *@off;
 *   - @data is the thread's data area while the thread holds its block and
 *     NULL otherwise; @key_marks[k] is 1 where k, a key's 16 bits taken as
 *     unsigned, is the offset of a key of this process, and 0 elsewhere
 *     (65536 bytes); bit n % 64 of @fds[n / 64] is set
 *     while the library knows the thread to be in the map of descriptor n
 *     (n below TLD_PRIV_FD_BITS), and the library clears it before that
 *     stops being true.
 * tld_priv_data() is the slow path of the inline tld_data() of libtld 0.2;
 * objects built with that release call it.
 */
#define TLD_PRIV_FD_BITS 256
struct tld_priv_thread {
	char *data;
	const unsigned char *key_marks;
	uint64_t fds[TLD_PRIV_FD_BITS / 64];
};

TLD_API void *tld_priv_lookup(tld_key_t key, ptrdiff_t *off) TLD_NOEXCEPT;
TLD_API void *tld_priv_get_data(int map_fd, tld_key_t key, ptrdiff_t *off) TLD_NOEXCEPT;

/* Where the thread pointer is the base of initial-exec TLS and a 64-bit
 * atomic load is a plain load. */
#if defined(__GNUC__) && !defined(TLD_NO_INLINE) && \
	(defined(__x86_64__) || defined(__aarch64__)) && \
	defined(__GCC_ATOMIC_LLONG_LOCK_FREE) && __GCC_ATOMIC_LLONG_LOCK_FREE == 2
#define TLD_PRIV_INLINE 1
#ifdef __cplusplus
#define TLD_PRIV_U16(x) static_cast<uint16_t>(x)
#define TLD_PRIV_UINT(x) static_cast<unsigned>(x)
#define TLD_PRIV_THREAD(off)                                                   \
	reinterpret_cast<const struct tld_priv_thread *>(                     \
		static_cast<char *>(__builtin_thread_pointer()) + (off))
#else
#define TLD_PRIV_U16(x) ((uint16_t)(x))
#define TLD_PRIV_UINT(x) ((unsigned)(x))
#define TLD_PRIV_THREAD(off)                                                   \
	((const struct tld_priv_thread *)((char *)__builtin_thread_pointer() + (off)))
#endif
/* The offset of the library's struct from the thread pointer, 0 until the
 * first call into the library: one per executable or shared object (weak,
 * so that every translation unit may define it; hidden, so that objects do
 * not share it), never thread-local.  Threads may store it concurrently
 * (the same value): read and written as a relaxed atomic, a plain load. */
extern ptrdiff_t tld_priv_off;
__attribute__((__weak__, __visibility__("hidden"))) ptrdiff_t tld_priv_off;

/* A key of this process (@off is its 16 bits, unsigned). */
#define TLD_PRIV_IS_KEY(t, off) (__atomic_load_n(&(t)->key_marks[off], __ATOMIC_RELAXED) != 0)

extern __inline__ __attribute__((__gnu_inline__, __always_inline__))
void *tld_data(tld_key_t key) TLD_NOEXCEPT
{
	const ptrdiff_t toff = __atomic_load_n(&tld_priv_off, __ATOMIC_RELAXED);
	const unsigned off = TLD_PRIV_U16(key.off);

	if (__builtin_expect(toff != 0, 1)) {
		const struct tld_priv_thread *t = TLD_PRIV_THREAD(toff);
		char *data = t->data;

		if (__builtin_expect(data && TLD_PRIV_IS_KEY(t, off), 1))
			return data + off;
	}
	return tld_priv_lookup(key, &tld_priv_off);
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
 * Inlined by the header like tld_data() for numbers below 256 (a larger
 * number calls the library); either way, once the thread is in the map, a
 * call makes no system call and takes no lock.
 *
 * Returns NULL and sets errno to what tld_data() or tld_map_register() would
 * return, or to the error the kernel gave for this thread's map update.
 * Thread-safe.
 */
TLD_API void *tld_get_data(int map_fd, tld_key_t key) TLD_NOEXCEPT;

#ifdef TLD_PRIV_INLINE
extern __inline__ __attribute__((__gnu_inline__, __always_inline__))
void *tld_get_data(int map_fd, tld_key_t key) TLD_NOEXCEPT
{
	const ptrdiff_t toff = __atomic_load_n(&tld_priv_off, __ATOMIC_RELAXED);
	const unsigned off = TLD_PRIV_U16(key.off);

	if (__builtin_expect(toff != 0, 1)) {
		const struct tld_priv_thread *t = TLD_PRIV_THREAD(toff);
		char *data = t->data;
		const unsigned fd = TLD_PRIV_UINT(map_fd);

		if (__builtin_expect(data && fd < TLD_PRIV_FD_BITS &&
				     (__atomic_load_n(&t->fds[fd / 64], __ATOMIC_RELAXED) >> fd % 64 & 1) &&
				     TLD_PRIV_IS_KEY(t, off), 1))
			return data + off;
	}
	return tld_priv_get_data(map_fd, key, &tld_priv_off);
}
#endif

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
 * Calling it again retries registrations that failed, and looks at every
 * pinned path registered (tld_map_open(), TLD_MAP) again at once, following
 * a consumer that replaced the map pinned there.
 *
 * Returns 0, or:
 *   -ENOMEM  no page could be mapped for the block
 *   -EAGAIN  the process is out of pthread keys (tried again next time)
 *   another negative errno: the first error from registering this thread in
 *            a map (pidfd_open() or the map update); or the error of a
 *            registered pinned path that is not bound to a map (no map
 *            pinned there, or one that is refused), TLD_MAP's included;
 *            the block is usable either way
 * Thread-safe.
 */
TLD_API int tld_thread_init(void) TLD_NOEXCEPT;

/*
 * tld_map_register() - register the task storage map @map_fd: every thread
 * that holds a block is added to it now, and every later thread on its first
 * lookup.  The library keeps its own duplicate of @map_fd.
 *
 * Registrations are counted per map (the same map through any fd): the map
 * stays registered until every registration of it is undone, so that
 * several owners (libraries, tld::map objects, the program) can each
 * register and unregister one map.  See tld_map_unregister().
 *
 * The map must be a BPF_MAP_TYPE_TASK_STORAGE map whose value is the task
 * local data layout of version 1 (two UPTRs, 16 bytes) or its variant with
 * the data offset in the value (24 bytes), with both page types of that
 * layout in full; see libtld(7).  Nothing is written to a map that is
 * refused.  The layout is read from the map's BTF once, when the map is
 * first registered; the kernel shows BTF only to CAP_SYS_ADMIN, and
 * without it the value size decides (16 bytes: version 1, 24 bytes:
 * variant B), so a caller that was only given access to a pinned map can
 * still register it.
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
 * tld_map_unregister() - undo one registration of the map @map_fd (the same
 * map through any fd): one tld_map_register(); if none is left, the
 * registration tld_get_data() made for the process; if none, one
 * tld_map_open() of a path whose map this is.  When no registration of the
 * map is left, every thread's element is deleted from it and later threads
 * are not added.  A registration made through TLD_MAP is undone only by
 * tld_map_unregister_path().
 *
 * Returns 0, or:
 *   -EBADF   @map_fd is not an open file descriptor
 *   -EINVAL  @map_fd is not a BPF map
 *   -ENOENT  the map is not registered (or only through TLD_MAP)
 *   another negative errno: an element could not be deleted (the map then
 *            stays registered, with the registration this call undid, so
 *            that a retry can finish)
 * Thread-safe.
 */
TLD_API int tld_map_unregister(int map_fd) TLD_NOEXCEPT;

/*
 * tld_map_open() - open the map pinned at @pin_path in bpffs and register it.
 *
 * The registration is of the path: it follows the pin.  When the consumer
 * replaces the map pinned there (it restarted with a new map), the library
 * moves every thread to the new map and lets the old one go; when the pin
 * disappears, the old map is let go and the path waits for a map to be
 * pinned there again.  It looks at the pin when tld_map_open() is called
 * with the same path again, at every tld_thread_init(), and when a thread
 * takes its block, at most once a second.  (A consumer that keeps its map
 * pinned by name across its restarts, TLD_PIN_DATA_MAP of <tld/tld.bpf.h>,
 * needs none of this.)  Each call is a registration of its own, undone by
 * tld_map_unregister_path() (or by tld_map_unregister() of the map the path
 * is bound to).
 *
 * Returns a new file descriptor of the map (the caller owns it and may close
 * it at once: the registration holds its own reference), or:
 *   -EINVAL  @pin_path is NULL or empty; or the map is refused as by
 *            tld_map_register()
 *   -ENAMETOOLONG  @pin_path is longer than PATH_MAX
 *   -ENOSPC  TLD_MAPS_MAX paths (or maps) are registered already
 *   -ENOENT, -EACCES, -EPERM, ...  from opening the pin
 *   anything tld_map_register() returns
 * Thread-safe.
 */
TLD_API int tld_map_open(const char *pin_path) TLD_NOEXCEPT;

/*
 * tld_map_unregister_path() - undo one tld_map_open(@pin_path), or, when
 * @pin_path is the value of TLD_MAP and no tld_map_open() of it is left,
 * the registration of TLD_MAP.  When no registration of the path is left,
 * the map it is bound to is let go as tld_map_unregister() does.  Works
 * whatever the pin holds now, after the consumer replaced its map too.
 *
 * Returns 0, or:
 *   -EINVAL  @pin_path is NULL or empty
 *   -ENOENT  @pin_path is not registered
 *   another negative errno: as tld_map_unregister()
 * Thread-safe.
 */
TLD_API int tld_map_unregister_path(const char *pin_path) TLD_NOEXCEPT;

/*
 * tld_print_fn - a function that receives libtld's diagnostics: one line
 * ending with a newline, such as "libtld: /sys/fs/bpf/app/tld: a program,
 * not a map".  It is called with the library's lock held: it must not call
 * libtld.
 */
typedef void (*tld_print_fn)(const char *message);

/*
 * tld_set_print() - have @fn receive why registrations fail (a map refused
 * and why, a pin missing, a thread that could not be added), each reason
 * once.  NULL: say nothing, unless TLD_LOG is set in the environment, in
 * which case the lines go to standard error.  By default nothing is said.
 *
 * Returns the previous function.  Thread-safe.
 */
TLD_API tld_print_fn tld_set_print(tld_print_fn fn) TLD_NOEXCEPT;

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
