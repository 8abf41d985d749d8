// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// libtld for C++20: typed keys, scoped values and map registrations over the
// C ABI of <tld/tld.h>.  Header-only; it exports nothing and adds no symbol
// to the library's ABI.
//
//	TLD_KEY(std::uint32_t, prio_key, "priority");        // before main()
//
//	void handle(request &r)
//	{
//		tld::scoped<std::uint64_t> id(request_id_key, r.id);  // restored on exit
//		if (auto *p = prio_key.get())
//			*p = r.priority;
//	}
//
// Errors at set-up (creating a key, registering a map) throw tld::error, a
// std::system_error carrying the errno and naming the call that failed.  The
// per-thread accessors never throw: they return nullptr or a negative errno
// and leave the reason in errno, like the C functions.
#ifndef TLD_TLD_HPP
#define TLD_TLD_HPP

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "tld.h"

namespace tld {

// The smallest page libtld runs on, minus the block header: no TLD can be
// larger, whatever the run-time page size.
inline constexpr std::size_t max_size = 4096 - 8;

// A failed set-up call: code() is the errno (std::generic_category()), and
// what() names the call and its argument, then the errno's message, e.g.
// `tld_create_key("myapp.prio", 4): File exists`.
class error : public std::system_error {
public:
	error(int err, const char *what) : std::system_error(err, std::generic_category(), what) {}
	error(int err, const std::string &what)
		: std::system_error(err, std::generic_category(), what)
	{
	}
};

namespace priv {
// `fn("name", size)`, the text of a failed call for tld::error.
inline std::string call_text(const char *fn, const char *name, std::size_t size)
{
	std::string s = std::string(fn) + "(";
	s += name ? "\"" + std::string(name) + "\"" : std::string("NULL");
	s += ", " + std::to_string(size) + ")";
	return s;
}

inline std::string call_text(const char *fn, const char *path)
{
	return std::string(fn) + "(" + (path ? "\"" + std::string(path) + "\"" : std::string("NULL")) +
	       ")";
}
} // namespace priv

// The calling thread's registration, as tld_thread_init() makes it: takes
// the thread's block and registers it in every registered map.  0, or a
// negative errno (see tld_thread_init(3)); after a registration error the
// block still works locally.  Never throws.
inline int thread_init() noexcept { return tld_thread_init(); }

// Release the calling thread's block now (tld_free()).  Never throws.
inline void free_thread() noexcept { tld_free(); }

// Set the per-thread reserve for keys created after the first block
// (tld_set_dyn_data_size()): 0 or a negative errno.  Never throws.
inline int set_dyn_data_size(std::size_t size) noexcept { return tld_set_dyn_data_size(size); }

// A typed TLD: every thread has its own T, readable by BPF under the key's name.
template <typename T> class key {
	static_assert(std::is_trivially_copyable_v<T>, "a TLD is raw bytes shared with BPF");
	static_assert(sizeof(T) <= max_size, "a TLD must fit in one page with its header");
	static_assert(alignof(T) <= 8, "TLDs are 8-byte aligned");

public:
	using value_type = T;

	// Create the TLD `name` of sizeof(T) bytes.  Throws tld::error.
	explicit key(const char *name) : raw_(tld_create_key(name, sizeof(T)))
	{
		if (tld_key_is_err(raw_))
			throw error(-raw_.off, priv::call_text("tld_create_key", name, sizeof(T)));
	}

	// Adopt the TLD `name` that other code in the process created; its size
	// must be sizeof(T).  Throws tld::error (ENOENT: not published; EINVAL:
	// another size).
	static key adopt(const char *name)
	{
		tld_key_t k = tld_find_key(name, sizeof(T));
		if (tld_key_is_err(k))
			throw error(-k.off, priv::call_text("tld_find_key", name, sizeof(T)));
		return key(k);
	}

	// Wrap a key from the C API without checking it; get() reports its error.
	static key wrap(tld_key_t k) noexcept { return key(k); }

	// A key that reads the tld_key_t variable `var` (of static storage
	// duration, such as one of TLD_DEFINE_KEY()) at every use, so that it
	// holds what `var` holds: -EAGAIN before the variable's constructor
	// ran.  constexpr, so that a key at namespace scope made this way is
	// initialized when its object is loaded, before any code runs.
	static constexpr key follow(const tld_key_t &var) noexcept { return key(follow_tag{}, &var); }

	// The calling thread's T, or nullptr with errno set.  Never throws.
	T *get() const noexcept { return static_cast<T *>(tld_data(raw())); }

	// Same, and make sure the thread is registered in the map `map_fd`.
	T *get(int map_fd) const noexcept { return static_cast<T *>(tld_get_data(map_fd, raw())); }

	// Store `v` as the calling thread's value: 0, or a negative errno (also
	// left in errno) when get() would return nullptr.  Never throws.
	int set(const T &v) const noexcept
	{
		void *p = tld_data(raw());
		if (!p)
			return -errno;
		std::memmove(p, &v, sizeof(T));
		return 0;
	}

	// False when the key holds an error (see error_code()).
	explicit operator bool() const noexcept { return !tld_key_is_err(raw()); }
	int error_code() const noexcept { return -tld_key_err_or_zero(raw()); }

	// The key as the C API sees it.
	tld_key_t raw() const noexcept { return var_ ? *var_ : raw_; }

private:
	struct follow_tag {};
	explicit key(tld_key_t k) noexcept : raw_(k) {}
	constexpr key(follow_tag, const tld_key_t *var) noexcept : var_(var) {}
	const tld_key_t *var_ = nullptr;	// followed variable, or nullptr
	tld_key_t raw_{-EAGAIN};		// the key when var_ is nullptr
};

// Set the calling thread's T for the life of a scope and restore the value
// it had before, however the scope ends (exceptions included).  Scopes nest.
// The previous value is written back through a new lookup of the key, into
// the calling thread's current block: after a tld_free() inside the scope,
// that is a new block (the lookup takes one), never the freed page, which
// another thread may own by then.  Destroy a scope on the thread that made
// it.  T need not be default-constructible or assignable: values are copied
// as bytes.  Never throws, and leaves errno alone when it ends: when the TLD
// is unavailable (a key that failed, or no memory for the thread's block)
// it does nothing and active() is false.
template <typename T> class scoped {
	static_assert(std::is_trivially_copyable_v<T>, "a TLD is raw bytes shared with BPF");

public:
	scoped(const key<T> &k, const T &value) noexcept : key_(k.raw())
	{
		void *p = tld_data(key_);
		active_ = p != nullptr;
		std::memcpy(saved_, p ? p : static_cast<const void *>(&value), sizeof(T));
		if (p)
			std::memmove(p, &value, sizeof(T));
	}
	~scoped()
	{
		if (!active_)
			return;
		const int saved_errno = errno;
		if (void *p = tld_data(key_))
			std::memcpy(p, saved_, sizeof(T));
		errno = saved_errno;
	}
	scoped(const scoped &) = delete;
	scoped &operator=(const scoped &) = delete;

	bool active() const noexcept { return active_; }
	// The value restored when the scope ends (`value` when not active).
	const T &previous() const noexcept
	{
		return *std::launder(reinterpret_cast<const T *>(saved_));
	}

private:
	tld_key_t key_;
	bool active_;
	alignas(T) unsigned char saved_[sizeof(T)];
};

// A map registration that ends with the object: every thread is added to the
// task storage map now and later.  Registrations are counted: each object is
// one, and the threads are removed from the map when its last registration
// in the process ends.  An object made by open() registers the path, which
// follows the pin when the consumer replaces its map (tld_map_open(3)).
class map {
public:
	// An empty object, registering nothing, until a registration is moved
	// into it.
	map() noexcept = default;

	// Register the map `map_fd`; the object keeps its own duplicate of the
	// descriptor.  Throws tld::error.
	explicit map(int map_fd)
	{
		int err = tld_map_register(map_fd);
		if (err)
			throw error(-err, "tld_map_register(fd " + std::to_string(map_fd) + ")");
		fd_ = fcntl(map_fd, F_DUPFD_CLOEXEC, 3);
		if (fd_ < 0) {
			err = errno;
			tld_map_unregister(map_fd);
			throw error(err, "fcntl(" + std::to_string(map_fd) + ", F_DUPFD_CLOEXEC)");
		}
	}

	// Open and register the map pinned at `path` in bpffs.  Throws tld::error.
	static map open(const char *path)
	{
		std::string p = path ? path : "";
		int fd = tld_map_open(path);
		if (fd < 0)
			throw error(-fd, priv::call_text("tld_map_open", path));
		map m(adopt_fd{}, fd);
		m.path_ = std::move(p);
		return m;
	}

	map(map &&other) noexcept
		: fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_))
	{
		other.path_.clear();
	}
	map &operator=(map &&other) noexcept
	{
		if (this != &other) {
			reset();
			fd_ = std::exchange(other.fd_, -1);
			path_ = std::move(other.path_);
			other.path_.clear();
		}
		return *this;
	}
	map(const map &) = delete;
	map &operator=(const map &) = delete;
	~map() { reset(); }

	// A descriptor of the map, owned by this object (-1 when empty).
	int fd() const noexcept { return fd_; }

	// Whether the object holds a registration: false when default-
	// constructed or moved from.
	bool empty() const noexcept { return fd_ < 0; }
	explicit operator bool() const noexcept { return fd_ >= 0; }

private:
	struct adopt_fd {};
	map(adopt_fd, int fd) noexcept : fd_(fd) {}
	void reset() noexcept
	{
		if (fd_ >= 0) {
			if (path_.empty())
				tld_map_unregister(fd_);
			else
				tld_map_unregister_path(path_.c_str());
			::close(fd_);
			fd_ = -1;
			path_.clear();
		}
	}
	int fd_ = -1;
	std::string path_;	// open(): the registration is the path's
};

} // namespace tld

#if defined(__cpp_constinit)
#define TLD_PRIV_CONSTINIT constinit
#else
#define TLD_PRIV_CONSTINIT
#endif

// Define a typed key at namespace scope, created before main() runs (or when
// the defining library is loaded) by TLD_DEFINE_KEY(), whose rules it
// follows.  `var` is a const tld::key<type> with external linkage and hidden
// visibility, initialized at load time: it holds -EAGAIN until the
// constructor of its TLD_DEFINE_KEY() ran (so an earlier constructor or
// static initializer that uses it gets nullptr and EAGAIN, never another
// TLD), then the key.  Creation failures do not throw: `var` then converts
// to false and var.get() returns nullptr with errno set to the error.
#define TLD_KEY(type, var, name)                                               \
	TLD_DEFINE_KEY(var##_tld_raw_key, name, sizeof(type));                 \
	TLD_KEY_DECLARE(type, var);                                            \
	TLD_PRIV_CONSTINIT const ::tld::key<type> var =                        \
		::tld::key<type>::follow(var##_tld_raw_key)

// Declare a key that TLD_KEY() defines in another file of the same
// executable or shared library, for example in a shared header; the
// equivalent of `extern const ::tld::key<type> var;`.  TLD_KEY() declares
// its variable with it: the hidden visibility goes with the declaration.
#define TLD_KEY_DECLARE(type, var)                                             \
	extern __attribute__((__visibility__("hidden"))) const ::tld::key<type> var

#endif // TLD_TLD_HPP
