// Registered maps.
//
// A map is registered once per process (identified by its kernel map id),
// through a duplicate of the caller's fd that the library owns.  Nothing is
// written to a map before detect.cpp has read its layout from its BTF.
#include "maps.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "blocks.hpp"
#include "detect.hpp"
#include "fds.hpp"
#include "keys.hpp"

namespace tld::maps {

std::atomic<int> g_last_fd{-1};

namespace {

struct map_slot {
	int fd = -1;		// our own duplicate; -1 = free slot
	__u32 id = 0;
	variant kind = variant::v1;
};
map_slot g_maps[TLD_MAPS_MAX];
bool g_env_done = false;
int g_env_err = 0;
char g_env_path[PATH_MAX];	// TLD_MAP as read at first use; empty if unset

using fds::close_fd;
using fds::thread_pidfd;

int update(const map_slot &m, int pidfd, const thread_rec *t) noexcept
{
	const auto data = reinterpret_cast<__u64>(t->page);
	const auto meta = reinterpret_cast<__u64>(keys::meta_page());
	int err;
	if (m.kind == variant::b) {
		map_value_b v{data, meta, TLD_LAYOUT_DATA_START, {}};
		err = bpf_map_update_elem(m.fd, &pidfd, &v, BPF_ANY);
	} else {
		map_value_v1 v{data, meta};
		err = bpf_map_update_elem(m.fd, &pidfd, &v, BPF_ANY);
	}
	return err < 0 ? -errno : 0;
}

// Add `t` to the maps in `which` (bit mask of slots); 0 or first -errno.
int add_to(thread_rec *t, std::uint32_t which) noexcept
{
	// Only slots that hold a map: `which` may have bits past the table.
	std::uint32_t live = 0;
	for (unsigned i = 0; i < TLD_MAPS_MAX; ++i)
		if (g_maps[i].fd >= 0)
			live |= 1u << i;
	which &= live & ~t->in_maps;
	if (!which)
		return 0;
	int pidfd = thread_pidfd(t->tid);
	if (pidfd < 0)
		return pidfd;
	int first = 0;
	for (unsigned i = 0; i < TLD_MAPS_MAX; ++i) {
		if (!(which & (1u << i)))
			continue;
		int err = update(g_maps[i], pidfd, t);
		if (err && !first)
			first = err;
		if (!err)
			t->in_maps |= 1u << i;
	}
	close_fd(pidfd);
	return first;
}

void remove_from(thread_rec *t, std::uint32_t which) noexcept
{
	which &= t->in_maps;
	if (!which)
		return;
	int pidfd = thread_pidfd(t->tid);
	// A thread that is already gone has no element left to delete; any
	// other failure may leave one behind (blocks.cpp then keeps the page).
	if (pidfd < 0 && pidfd != -ESRCH)
		t->stale = true;
	for (unsigned i = 0; i < TLD_MAPS_MAX; ++i) {
		if (!(which & (1u << i)))
			continue;
		if (pidfd >= 0 && bpf_map_delete_elem(g_maps[i].fd, &pidfd) && errno != ENOENT)
			t->stale = true;
		t->in_maps &= ~(1u << i);
	}
	if (pidfd >= 0)
		close_fd(pidfd);
}

int find_slot(__u32 id) noexcept
{
	for (unsigned i = 0; i < TLD_MAPS_MAX; ++i)
		if (g_maps[i].fd >= 0 && g_maps[i].id == id)
			return static_cast<int>(i);
	return -1;
}

// Register with g_lock held.  Returns the slot index or -errno.
int register_locked(int fd, const bpf_map_info &info, variant kind) noexcept
{
	int slot = find_slot(info.id);
	if (slot >= 0)
		return slot;
	for (unsigned i = 0; i < TLD_MAPS_MAX; ++i)
		if (g_maps[i].fd < 0) {
			slot = static_cast<int>(i);
			break;
		}
	if (slot < 0)
		return -ENOSPC;
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return -errno;
	g_maps[slot] = {dup, info.id, kind};
	const std::uint32_t bit = 1u << slot;
	for (thread_rec *t = threads::head(); t; t = t->next) {
		int err = add_to(t, bit);
		if (err) {
			// All or nothing: take back what was added.
			threads::for_each([bit](thread_rec *u) { remove_from(u, bit); });
			close_fd(dup);
			g_maps[slot] = {};
			return err;
		}
	}
	return slot;
}

} // namespace

int register_map(int fd) noexcept
{
	bpf_map_info info;
	variant kind;
	if (int err = detect::inspect(fd, info, kind))
		return err;
	if (!keys::meta_page())
		return -ENOMEM;
	locked g(g_lock);
	int slot = register_locked(fd, info, kind);
	return slot < 0 ? slot : 0;
}

int unregister_map(int fd) noexcept
{
	bpf_map_info info;
	if (int err = detect::map_info(fd, info))
		return err;
	locked g(g_lock);
	int slot = find_slot(info.id);
	if (slot < 0)
		return -ENOENT;
	const std::uint32_t bit = 1u << slot;
	threads::for_each([bit](thread_rec *t) { remove_from(t, bit); });
	close_fd(g_maps[slot].fd);
	g_maps[slot] = {};
	g_last_fd.store(-1, std::memory_order_relaxed);
	return 0;
}

int open_pinned(const char *path) noexcept
{
	if (!path || !*path)
		return -EINVAL;
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	int err = register_map(fd);
	if (err) {
		close_fd(fd);
		return err;
	}
	return fd;
}

int ensure(int fd) noexcept
{
	bpf_map_info info;
	variant kind;
	if (int err = detect::inspect(fd, info, kind))
		return err;
	locked g(g_lock);
	int slot = register_locked(fd, info, kind);
	if (slot < 0)
		return slot;
	thread_rec *t = threads::self();
	if (t->page && !(t->in_maps & (1u << slot))) {
		int err = add_to(t, 1u << slot);
		t->err = err;
		if (err)
			return err;
	}
	// Under the lock, so that an unregistration cannot slip in between.
	g_last_fd.store(fd, std::memory_order_relaxed);
	return 0;
}

int add_thread(thread_rec *t) noexcept
{
	int err = add_to(t, ~0u);
	t->err = err;
	return err;
}

void remove_thread(thread_rec *t) noexcept { remove_from(t, ~0u); }

void forget_all_threads() noexcept
{
	threads::for_each([](thread_rec *t) { t->in_maps = 0; });
}

int load_env(bool retry) noexcept
{
	if (g_env_done && !(retry && g_env_err && g_env_path[0]))
		return g_env_err;
	if (!g_env_done) {
		g_env_done = true;
		const char *path = std::getenv("TLD_MAP");
		if (!path || !*path)
			return 0;
		if (std::strlen(path) >= sizeof(g_env_path))
			return g_env_err = -ENAMETOOLONG;
		std::strcpy(g_env_path, path);
	}
	int fd = bpf_obj_get(g_env_path);
	if (fd < 0)
		return g_env_err = -errno;
	bpf_map_info info;
	variant kind;
	int err = detect::inspect(fd, info, kind);
	if (!err) {
		int slot = register_locked(fd, info, kind);
		err = slot < 0 ? slot : 0;
	}
	close_fd(fd);
	return g_env_err = err;
}

} // namespace tld::maps
