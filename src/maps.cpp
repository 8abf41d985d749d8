// Registered maps.
//
// A map is registered once per process (identified by its kernel map id),
// through a duplicate of the caller's fd that the library owns, and stays
// registered while any owner holds it: tld_map_register() calls not undone
// by tld_map_unregister(), the process itself when tld_get_data() found it
// unregistered, and pinned paths (tld_map_open(), TLD_MAP) bound to it.
// A pinned path is followed: when the consumer replaces the map pinned
// there, the path moves to the new map with every thread, and the old map
// is let go.  Nothing is written to a map before detect.cpp has read its
// layout, and a registered map's layout is not read again.
#include "maps.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "detect.hpp"
#include "diag.hpp"
#include "fds.hpp"
#include "keys.hpp"

namespace tld::maps {

namespace {

struct map_slot {
	int fd = -1;		// our own duplicate; -1 = free slot
	__u32 id = 0;
	variant kind = variant::v1;
	unsigned fd_refs = 0;	// tld_map_register() calls not undone
	bool implicit = false;	// registered by tld_get_data() for the process
	unsigned pins = 0;	// pinned paths bound to the map
};
map_slot g_maps[TLD_MAPS_MAX];

// A pinned path that the process registered: it follows the map pinned
// there.
struct pinned_path {
	bool used = false;
	bool env = false;	// TLD_MAP
	unsigned opens = 0;	// tld_map_open() calls not undone
	int slot = -1;		// the map it is bound to, or -1
	int err = 0;		// why it is not bound, or 0
	std::uint64_t looked = 0;	// CLOCK_MONOTONIC ns of the last look
	char path[PATH_MAX];
};
pinned_path g_pins[TLD_MAPS_MAX];
bool g_env_read = false;

constexpr std::uint64_t look_interval_ns = 1000000000;	// 1 s

using fds::close_fd;

std::uint64_t now_ns() noexcept
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
	       static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint32_t live_slots() noexcept
{
	std::uint32_t live = 0;
	for (unsigned i = 0; i < TLD_MAPS_MAX; ++i)
		if (g_maps[i].fd >= 0)
			live |= 1u << i;
	return live;
}

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
	TLD_ASSERT_LOCKED();
	which &= live_slots() & ~t->in_maps;
	if (!which)
		return 0;
	int pidfd = fds::thread_pidfd(t->tid);
	if (pidfd < 0) {
		diag::report("registering a thread (pidfd_open)", diag::why_errno(pidfd));
		return pidfd;
	}
	int first = 0;
	for (unsigned i = 0; i < TLD_MAPS_MAX; ++i) {
		if (!(which & (1u << i)))
			continue;
		int err = update(g_maps[i], pidfd, t);
		if (err) {
			char what[64];
			std::snprintf(what, sizeof(what), "map id %u: adding a thread", g_maps[i].id);
			diag::report(what, diag::why_errno(err));
			if (!first)
				first = err;
		} else {
			t->in_maps |= 1u << i;
		}
	}
	fds::close_pidfd(pidfd);
	return first;
}

// Delete `t`'s elements of the maps in `which`.  0, or the first error of
// a delete that may have left an element behind (`t` is then stale).
int remove_from(thread_rec *t, std::uint32_t which) noexcept
{
	TLD_ASSERT_LOCKED();
	which &= t->in_maps;
	if (!which)
		return 0;
	// Out of a map: tld_get_data() checks every descriptor again.
	threads::forget(t, -1);
	int err = 0;
	// A thread that is already gone has no element left to delete.
	int pidfd = fds::thread_pidfd(t->tid);
	for (unsigned i = 0; i < TLD_MAPS_MAX; ++i) {
		if (!(which & (1u << i)))
			continue;
		int e = pidfd == -ESRCH ? 0 : pidfd < 0 ? pidfd : 0;
		if (pidfd >= 0 && bpf_map_delete_elem(g_maps[i].fd, &pidfd) && errno != ENOENT)
			e = -errno;
		if (e) {
			if (!err)
				err = e;
			continue;	// still in the map: a retry deletes it
		}
		t->in_maps &= ~(1u << i);
	}
	if (pidfd >= 0)
		fds::close_pidfd(pidfd);
	if (err) {
		t->stale = true;
		diag::report("deleting a thread's element", diag::why_errno(err));
	}
	return err;
}

int find_slot(__u32 id) noexcept
{
	for (unsigned i = 0; i < TLD_MAPS_MAX; ++i)
		if (g_maps[i].fd >= 0 && g_maps[i].id == id)
			return static_cast<int>(i);
	return -1;
}

// Register the map behind `fd` (whose layout `kind` was checked), adding
// every thread; all or nothing.  The slot index, or -errno.
int bind_map(int fd, const bpf_map_info &info, variant kind) noexcept
{
	TLD_ASSERT_LOCKED();
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
	fds::keep_reserve();
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return -errno;
	g_maps[slot] = {};
	g_maps[slot].fd = dup;
	g_maps[slot].id = info.id;
	g_maps[slot].kind = kind;
	const std::uint32_t bit = 1u << slot;
	for (thread_rec *t = threads::head(); t; t = t->next) {
		if (int err = add_to(t, bit)) {
			// All or nothing: take back what was added.  The slot is
			// freed whatever a delete says (remove_from() marks the
			// thread stale when an element may be left).
			threads::for_each([bit](thread_rec *u) {
				remove_from(u, bit);
				u->in_maps &= ~bit;
			});
			close_fd(dup);
			g_maps[slot] = {};
			return err;
		}
	}
	return slot;
}

// Let the map in `slot` go if no owner holds it: every thread's element is
// deleted, then our descriptor closed.  0, or the first error of a delete
// (the map then stays registered, so that a retry can finish).
int release_if_unused(int slot) noexcept
{
	TLD_ASSERT_LOCKED();
	map_slot &m = g_maps[slot];
	if (m.fd < 0 || m.fd_refs || m.implicit || m.pins)
		return 0;
	const std::uint32_t bit = 1u << slot;
	int first = 0;
	threads::for_each([bit, &first](thread_rec *t) {
		if (int err = remove_from(t, bit); err && !first)
			first = err;
	});
	if (first)
		return first;
	close_fd(m.fd);
	m = {};
	return 0;
}

void unbind(pinned_path &p) noexcept
{
	if (p.slot < 0)
		return;
	const int old = p.slot;
	p.slot = -1;
	--g_maps[old].pins;
	release_if_unused(old);
}

// Look at what is pinned at `p` now and bind `p` to it: register a new map
// with every thread, let the old one go.  0 or -errno (also in p.err).
int look(pinned_path &p) noexcept
{
	TLD_ASSERT_LOCKED();
	p.looked = now_ns();
	int fd = bpf_obj_get(p.path);
	int err = 0;
	bpf_map_info info;
	variant kind;
	if (fd < 0) {
		err = -errno;
	} else if ((err = detect::map_info(fd, info)) == 0) {
		int have = find_slot(info.id);
		if (have >= 0 && have == p.slot) {
			close_fd(fd);
			return p.err = 0;
		}
		if (have < 0)
			err = detect::layout_of(info, kind);
		int slot = err ? err : have >= 0 ? have : bind_map(fd, info, kind);
		if (slot >= 0) {
			close_fd(fd);
			++g_maps[slot].pins;
			unbind(p);
			p.slot = slot;
			return p.err = 0;
		}
		err = slot;
	}
	char buf[detect::describe_len];
	diag::report(p.path, fd >= 0 && err == -EINVAL ? detect::describe(fd, buf, sizeof(buf))
						       : diag::why_errno(err));
	if (fd >= 0)
		close_fd(fd);
	// The pin is gone or holds no map of ours: the map bound before is no
	// longer the consumer's, so it is let go.
	unbind(p);
	return p.err = err;
}

// `fd` now names the map it was just registered as: no thread may go on
// trusting what it remembered of the number.
void forget_everywhere(int fd) noexcept
{
	threads::for_each([fd](thread_rec *t) { threads::forget(t, fd); });
}

// Say why the map behind `fd` was refused.
void refused(const char *call, int fd, int err) noexcept
{
	char what[64], buf[detect::describe_len];
	std::snprintf(what, sizeof(what), "%s(map fd %d)", call, fd);
	diag::report(what, err == -EINVAL ? detect::describe(fd, buf, sizeof(buf)) : diag::why_errno(err));
}

// The slot of the map behind `fd` (`info`, from detect::map_info()), bound
// now if no slot has it (`bound` says so); a layout libtld does not write
// is refused (said for `call`).  The slot index, or -errno.
int slot_of(const char *call, int fd, bpf_map_info &info, bool &bound) noexcept
{
	TLD_ASSERT_LOCKED();
	bound = false;
	int slot = find_slot(info.id);
	if (slot >= 0)
		return slot;
	variant kind;
	if (int err = detect::layout_of(info, kind)) {
		refused(call, fd, err);
		return err;
	}
	slot = bind_map(fd, info, kind);
	bound = slot >= 0;
	return slot;
}

pinned_path *find_pin(const char *path) noexcept
{
	for (auto &p : g_pins)
		if (p.used && std::strcmp(p.path, path) == 0)
			return &p;
	return nullptr;
}

pinned_path *new_pin(const char *path, int &err) noexcept
{
	if (std::strlen(path) >= PATH_MAX) {
		err = -ENAMETOOLONG;
		return nullptr;
	}
	for (auto &p : g_pins)
		if (!p.used) {
			p = {};
			p.used = true;
			std::strcpy(p.path, path);
			return &p;
		}
	err = -ENOSPC;
	return nullptr;
}

void drop_pin(pinned_path &p) noexcept
{
	unbind(p);
	p = {};
}

// TLD_MAP, read once per process; not from the environment of a setuid or
// setgid program, where whoever runs it chooses the environment.
void read_env() noexcept
{
	if (g_env_read)
		return;
	g_env_read = true;
	const char *path = secure_getenv("TLD_MAP");
	if (!path || !*path)
		return;
	if (pinned_path *p = find_pin(path)) {
		p->env = true;
		return;
	}
	int err = 0;
	pinned_path *p = new_pin(path, err);
	if (!p) {
		diag::report("TLD_MAP", diag::why_errno(err));
		return;
	}
	p->env = true;
	look(*p);
}

} // namespace

int register_map(int fd) noexcept
{
	bpf_map_info info;
	if (int err = detect::map_info(fd, info)) {
		refused("tld_map_register", fd, err);
		return err;
	}
	if (!keys::meta_page())
		return -ENOMEM;
	locked g(g_lock);
	bool bound;
	const int slot = slot_of("tld_map_register", fd, info, bound);
	if (slot < 0)
		return slot;
	++g_maps[slot].fd_refs;
	forget_everywhere(fd);
	return 0;
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
	map_slot &m = g_maps[slot];
	// Undo one registration: a tld_map_register(), else the process's own
	// (tld_get_data()), else one tld_map_open() of a path bound to the map.
	pinned_path *pin = nullptr;
	if (m.fd_refs) {
		--m.fd_refs;
	} else if (m.implicit) {
		m.implicit = false;
	} else {
		for (auto &p : g_pins)
			if (p.used && p.slot == slot && p.opens) {
				pin = &p;
				break;
			}
		if (!pin)
			return -ENOENT;	// only TLD_MAP holds it
		--pin->opens;
		if (!pin->opens && !pin->env) {
			pin->slot = -1;
			--m.pins;
		}
	}
	if (int err = release_if_unused(slot)) {
		// Elements are left: the registration stays for a retry.
		if (pin) {
			if (!pin->opens && !pin->env && pin->slot < 0) {
				pin->slot = slot;
				++m.pins;
			}
			++pin->opens;
		} else {
			++m.fd_refs;
		}
		return err;
	}
	if (pin && !pin->opens && !pin->env)
		*pin = {};
	return 0;
}

int open_pinned(const char *path) noexcept
{
	if (!path || !*path)
		return -EINVAL;
	if (!keys::meta_page())
		return -ENOMEM;
	locked g(g_lock);
	pinned_path *p = find_pin(path);
	const bool fresh = !p;
	int err = 0;
	if (fresh && !(p = new_pin(path, err)))
		return err;
	// Opening a path again looks at the pin again: this is how a writer
	// follows a consumer that restarted with a new map.
	err = look(*p);
	if (err) {
		if (fresh)
			drop_pin(*p);
		return err;
	}
	int fd = fcntl(g_maps[p->slot].fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		err = -errno;
		if (fresh)
			drop_pin(*p);
		return err;
	}
	++p->opens;
	return fd;
}

int unregister_path(const char *path) noexcept
{
	if (!path || !*path)
		return -EINVAL;
	locked g(g_lock);
	pinned_path *p = find_pin(path);
	if (!p)
		return -ENOENT;
	if (p->opens)
		--p->opens;
	else
		p->env = false;	// TLD_MAP's registration
	if (p->opens || p->env)
		return 0;
	const int slot = p->slot;
	p->slot = -1;
	if (slot >= 0) {
		--g_maps[slot].pins;
		if (int err = release_if_unused(slot)) {
			++g_maps[slot].pins;
			p->slot = slot;
			++p->opens;
			return err;
		}
	}
	*p = {};
	return 0;
}

int ensure(int fd) noexcept
{
	bpf_map_info info;
	if (int err = detect::map_info(fd, info)) {
		refused("tld_get_data", fd, err);
		return err;
	}
	locked g(g_lock);
	bool bound;
	const int slot = slot_of("tld_get_data", fd, info, bound);
	if (slot < 0)
		return slot;
	if (bound) {
		g_maps[slot].implicit = true;
		forget_everywhere(fd);
	}
	thread_rec *t = threads::self();
	if (!t->page)
		return 0;	// a late block (the thread is exiting): in no map
	if (!(t->in_maps & (1u << slot))) {
		int err = add_to(t, 1u << slot);
		t->err = err;
		if (err)
			return err;
	}
	// Under the lock, so that no unregistration slips in between.
	threads::remember(t, fd);
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
	threads::for_each([](thread_rec *t) {
		t->in_maps = 0;
		threads::forget(t, -1);
	});
}

int follow_pins(bool now) noexcept
{
	TLD_ASSERT_LOCKED();
	read_env();
	const std::uint64_t t = now_ns();
	int first = 0;
	for (auto &p : g_pins) {
		if (!p.used)
			continue;
		if (now || t - p.looked >= look_interval_ns)
			look(p);
		if (p.err && !first)
			first = p.err;
	}
	return first;
}

} // namespace tld::maps
