// The extern "C" boundary: argument checks, errno, nothing thrown, and no
// cancellation inside the library.
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "blocks.hpp"
#include "diag.hpp"
#include "keys.hpp"
#include "maps.hpp"
#include "tld/tld.h"

namespace {

// Every slow path runs with cancellation disabled: the kernel calls it makes
// (and libbpf's, such as close() while reading BTF) include cancellation
// points, and a thread cancelled there would unwind through noexcept frames
// and terminate the process, or leave the library's lock and state behind.
// A cancellation pending when the call starts acts at the caller's next
// cancellation point instead.
class no_cancel {
public:
	no_cancel() noexcept { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_); }
	~no_cancel() { pthread_setcancelstate(old_, nullptr); }
	no_cancel(const no_cancel &) = delete;
	no_cancel &operator=(const no_cancel &) = delete;

private:
	int old_;
};

tld_key_t key_of(int v) noexcept
{
	if (v < 0)
		errno = -v;
	return tld_key_t{static_cast<std::int16_t>(v)};
}

int status(int v) noexcept
{
	if (v < 0)
		errno = -v;
	return v;
}

void *fail(int err) noexcept
{
	errno = err;
	return nullptr;
}

// The rest of data_of(): the thread has no block yet, or the key is not a key.
void *data_slow(tld_key_t key) noexcept
{
	if (key.off < 0)
		return fail(-key.off);
	if (!tld::keys::is_key(key.off))
		return fail(EINVAL);
	no_cancel nc;
	if (int err = tld::blocks::take())
		return fail(-err);
	return tld::blocks::t_thread.data + key.off;
}

// What tld_data() returns: the inline path of <tld/tld.h>, then the rest.
inline void *data_of(tld_key_t key) noexcept
{
	char *data = tld::blocks::t_thread.data;
	if (__builtin_expect(data && tld::keys::is_key(key.off), 1))
		return data + key.off;
	return data_slow(key);
}

// What tld_get_data() returns.
void *get_data_of(int map_fd, tld_key_t key) noexcept
{
	char *data = tld::blocks::t_thread.data;
	if (__builtin_expect(data && tld::threads::knows(tld::threads::self(), map_fd) &&
				     tld::keys::is_key(key.off),
			     1))
		return data + key.off;
	void *p = data_of(key);
	if (!p)
		return nullptr;
	if (map_fd < 0)
		return fail(EBADF);
	no_cancel nc;
	if (int err = tld::maps::ensure(map_fd))
		return fail(-err);
	return p;
}

// The layout of struct tld_priv_cache of libtld 0.2's <tld/tld.h>, whose
// inline tld_data() calls tld_priv_data() with it.
struct tld_priv_cache {
	char *data;
	const std::uint64_t *tagp;
	std::uint64_t tag;
};

} // namespace

extern "C" {

TLD_API tld_key_t tld_create_key(const char *name, size_t size) TLD_NOEXCEPT
{
	no_cancel nc;
	return key_of(tld::keys::create(name, size));
}

TLD_API tld_key_t tld_find_key(const char *name, size_t size) TLD_NOEXCEPT
{
	return key_of(tld::keys::find(name, size));
}

TLD_API void *tld_data(tld_key_t key) TLD_NOEXCEPT
{
	return data_of(key);
}

TLD_API void *tld_priv_lookup(tld_key_t key, std::ptrdiff_t *off) TLD_NOEXCEPT
{
	if (off)
		__atomic_store_n(off, tld::blocks::thread_offset(), __ATOMIC_RELAXED);
	return data_of(key);
}

// The slow path of libtld 0.2's inline tld_data(): objects built with it
// keep a cache checked against the page's owner tag.
TLD_API void *tld_priv_data(tld_key_t key, tld_priv_cache *cache,
			    std::uint64_t *key_bits) TLD_NOEXCEPT
{
	void *p = data_of(key);
	if (!p || !cache || !key_bits)
		return p;
	const unsigned off = static_cast<std::uint16_t>(key.off);
	if (off < 4096)
		__atomic_fetch_or(&key_bits[off >> 9], std::uint64_t{1} << (off >> 3 & 63),
				  __ATOMIC_RELAXED);
	if (std::uint64_t *tagp = tld::blocks::t_tagp) {
		// A signal handler of this thread may run the inline path at any
		// point: it sees an empty cache or a complete one.
		cache->tagp = nullptr;
		std::atomic_signal_fence(std::memory_order_seq_cst);
		cache->data = tld::blocks::t_thread.data;
		cache->tag = tld::blocks::t_tag;
		std::atomic_signal_fence(std::memory_order_seq_cst);
		cache->tagp = tagp;
	}
	return p;
}

TLD_API void *tld_get_data(int map_fd, tld_key_t key) TLD_NOEXCEPT
{
	return get_data_of(map_fd, key);
}

TLD_API void *tld_priv_get_data(int map_fd, tld_key_t key, std::ptrdiff_t *off) TLD_NOEXCEPT
{
	if (off)
		__atomic_store_n(off, tld::blocks::thread_offset(), __ATOMIC_RELAXED);
	return get_data_of(map_fd, key);
}

TLD_API void tld_free(void) TLD_NOEXCEPT
{
	no_cancel nc;
	tld::blocks::release();
}

TLD_API int tld_thread_init(void) TLD_NOEXCEPT
{
	no_cancel nc;
	return status(tld::blocks::init_thread());
}

TLD_API int tld_map_register(int map_fd) TLD_NOEXCEPT
{
	no_cancel nc;
	return status(tld::maps::register_map(map_fd));
}

TLD_API int tld_map_unregister(int map_fd) TLD_NOEXCEPT
{
	no_cancel nc;
	return status(tld::maps::unregister_map(map_fd));
}

TLD_API int tld_map_open(const char *pin_path) TLD_NOEXCEPT
{
	no_cancel nc;
	return status(tld::maps::open_pinned(pin_path));
}

TLD_API int tld_map_unregister_path(const char *pin_path) TLD_NOEXCEPT
{
	no_cancel nc;
	return status(tld::maps::unregister_path(pin_path));
}

TLD_API tld_print_fn tld_set_print(tld_print_fn fn) TLD_NOEXCEPT
{
	return tld::diag::set_print(fn);
}

TLD_API int tld_set_dyn_data_size(size_t size) TLD_NOEXCEPT
{
	no_cancel nc;
	return status(tld::keys::set_reserve(size));
}

} // extern "C"
