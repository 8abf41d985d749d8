// Layout detection from a map's BTF.
#include "detect.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

namespace tld::detect {
namespace {

int fd_is_open(int fd) noexcept
{
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	return 0;
}

// What the file behind `fd` is, as its /proc/self/fd link names it
// ("anon_inode:bpf-map", ...): unknown when /proc cannot tell.
enum class object_kind { unknown, map, prog, link, other };

object_kind kind_of(int fd) noexcept
{
	char path[64], target[64];
	std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return object_kind::unknown;
	target[n] = '\0';
	if (!std::strcmp(target, "anon_inode:bpf-map"))
		return object_kind::map;
	if (!std::strcmp(target, "anon_inode:bpf-prog"))
		return object_kind::prog;
	if (!std::strcmp(target, "anon_inode:bpf_link"))
		return object_kind::link;
	return object_kind::other;
}

// A file that is not a BPF map: its /proc link says what it is.  Without
// /proc the BTF checks below still refuse anything that is not our layout.
bool not_a_map(int fd) noexcept
{
	object_kind k = kind_of(fd);
	return k != object_kind::map && k != object_kind::unknown;
}

const btf_type *skip_mods(const btf *b, __u32 id) noexcept
{
	const btf_type *t = btf__type_by_id(b, id);
	while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
		id = t->type;
		t = btf__type_by_id(b, id);
	}
	return t;
}

// The struct a member `struct X __uptr *` points at, or nullptr if the member
// is not a pointer with the "uptr" type tag.
const btf_type *uptr_target(const btf *b, __u32 member_type) noexcept
{
	const btf_type *t = skip_mods(b, member_type);
	if (!t || !btf_is_ptr(t))
		return nullptr;
	bool tagged = false;
	__u32 id = t->type;
	for (t = btf__type_by_id(b, id); t && (btf_is_mod(t) || btf_is_typedef(t));
	     t = btf__type_by_id(b, id)) {
		if (btf_is_type_tag(t) &&
		    std::strcmp(btf__name_by_offset(b, t->name_off), "uptr") == 0)
			tagged = true;
		id = t->type;
	}
	if (!tagged || !t || !btf_is_struct(t))
		return nullptr;
	return t;
}

// The member `i` of struct `s`: byte offset and type, modifiers skipped.
struct member {
	std::size_t off;
	const btf_type *type;
};

std::optional<member> member_at(const btf *b, const btf_type *s, unsigned i) noexcept
{
	if (i >= btf_vlen(s) || btf_member_bitfield_size(s, i))
		return std::nullopt;
	const std::size_t bits = btf_member_bit_offset(s, i);
	if (bits % 8)
		return std::nullopt;
	return member{bits / 8, skip_mods(b, btf_members(s)[i].type)};
}

bool is_int(const btf_type *t, std::size_t size) noexcept
{
	return t && btf_is_int(t) && t->size == size;
}

// An array of `n` elements of `size` bytes each (of any type), or of bytes.
const btf_type *array_of(const btf *b, const btf_type *t, std::size_t n) noexcept
{
	if (!t || !btf_is_array(t) || btf_array(t)->nelems != n)
		return nullptr;
	return skip_mods(b, btf_array(t)->type);
}

// The thread's page: a struct of exactly a page whose first member is the
// 8-byte `start` (version 1) or the 8-byte unused header (variant B).
bool is_data_page(const btf *b, const btf_type *d) noexcept
{
	if (!d || d->size != page_size() || btf_vlen(d) < 1)
		return false;
	auto first = member_at(b, d, 0);
	return first && first->off == 0 && is_int(first->type, 8);
}

// One slot: a 62-byte name at 0, the 2-byte size at 62, 64 bytes in all.
bool is_slot(const btf *b, const btf_type *slot) noexcept
{
	if (!slot || !btf_is_struct(slot) || slot->size != sizeof(tld_metadata) || btf_vlen(slot) != 2)
		return false;
	auto name = member_at(b, slot, 0), size = member_at(b, slot, 1);
	if (!name || !size || name->off != 0 || size->off != offsetof(tld_metadata, size) ||
	    !is_int(size->type, 2))
		return false;
	const btf_type *ch = array_of(b, name->type, TLD_LAYOUT_NAME_LEN);
	return ch && is_int(ch, 1);
}

// The metadata page, by what lies at each offset: the count at 0 (1 or 2
// bytes: readers use its low byte; its high byte may be a member of its
// own at 1), the 2-byte size at 2, and at 4 the array of 63 slots.  Nothing
// else: variant C (slots at 64), slots of another size, a 32-bit count or
// no slot array are other layouts.
bool is_meta_page(const btf *b, const btf_type *m) noexcept
{
	if (!m || !btf_is_struct(m) ||
	    m->size < meta_array_offset_v1 + TLD_LAYOUT_SLOTS * sizeof(tld_metadata) ||
	    m->size > page_size())
		return false;
	bool cnt = false, size = false, slots = false;
	for (unsigned i = 0; i < btf_vlen(m); ++i) {
		auto f = member_at(b, m, i);
		if (!f || !f->type)
			return false;
		if (f->off == 0 && btf_is_int(f->type) && f->type->size <= 2)
			cnt = true;
		else if (f->off == 1 && is_int(f->type, 1))
			continue;	// the count's high byte
		else if (f->off == 2 && is_int(f->type, 2))
			size = true;
		else if (f->off == meta_array_offset_v1 &&
			 is_slot(b, array_of(b, f->type, TLD_LAYOUT_SLOTS)))
			slots = true;
		else
			return false;
	}
	return cnt && size && slots;
}

} // namespace

int layout_of(const bpf_map_info &info, variant &kind) noexcept
{
	if (info.type != BPF_MAP_TYPE_TASK_STORAGE || info.key_size != sizeof(int))
		return -EINVAL;
	if (info.value_size != sizeof(map_value_v1) && info.value_size != sizeof(map_value_b))
		return -EINVAL;
	if (!info.btf_id || !info.btf_value_type_id)
		return -EINVAL;
	btf *b = btf__load_from_kernel_by_id(info.btf_id);
	if (!b) {
		// Reading a map's BTF by id needs CAP_SYS_ADMIN.  A process that was
		// only given access to the pinned map cannot look: it goes by the
		// value size, which tells version 1 from variant B but not from
		// variant C (same size as version 1).
		if (errno == EPERM || errno == EACCES) {
			kind = info.value_size == sizeof(map_value_b) ? variant::b : variant::v1;
			return 0;
		}
		return -EINVAL;
	}
	int err = -EINVAL;
	const btf_type *v = skip_mods(b, info.btf_value_type_id);
	do {
		if (!v || !btf_is_struct(v))
			break;
		const unsigned want = info.value_size == sizeof(map_value_v1) ? 2 : 3;
		if (btf_vlen(v) != want)
			break;
		const btf_member *m = btf_members(v);
		if (btf_member_bit_offset(v, 0) != 0 || btf_member_bit_offset(v, 1) != 64)
			break;
		// The thread's page first, the metadata page second: both shapes
		// in full, so that swapped or resized members are refused.
		if (!is_data_page(b, uptr_target(b, m[0].type)) ||
		    !is_meta_page(b, uptr_target(b, m[1].type)))
			break;
		if (want == 3) {
			const btf_type *st = skip_mods(b, m[2].type);
			if (btf_member_bit_offset(v, 2) != 128 || !is_int(st, sizeof(__u16)))
				break;
			kind = variant::b;
		} else {
			kind = variant::v1;
		}
		err = 0;
	} while (false);
	btf__free(b);
	return err;
}

int map_info(int fd, bpf_map_info &info) noexcept
{
	std::memset(&info, 0, sizeof(info));	// defined on every error too
	if (int err = fd_is_open(fd))
		return err;
	if (not_a_map(fd))
		return -EINVAL;
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		int err = errno;
		// Not a BPF object at all; otherwise the kernel's own reason.
		return -(err ? err : EINVAL);
	}
	return 0;
}

int inspect(int fd, bpf_map_info &info, variant &kind) noexcept
{
	if (int err = map_info(fd, info))
		return err;
	return layout_of(info, kind);
}

const char *describe(int fd, char *buf, std::size_t len) noexcept
{
	switch (kind_of(fd)) {
	case object_kind::prog:
		return "a program, not a map";
	case object_kind::link:
		return "a link, not a map";
	case object_kind::other:
		return "not a BPF map";
	default:
		break;
	}
	bpf_map_info info;
	if (map_info(fd, info))
		return "not a BPF map";
	if (info.type != BPF_MAP_TYPE_TASK_STORAGE) {
		// As bpftool names map types; "an" before a vowel sound ("an
		// array", "an unspec", but "a user_ringbuf").
		const char *t = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type));
		if (!t)
			std::snprintf(buf, len, "not a task storage map: a map of type %u", info.type);
		else
			std::snprintf(buf, len, "not a task storage map: %s %s map",
				      (t[0] && std::strchr("aeio", t[0])) || !std::strncmp(t, "un", 2)
					      ? "an" : "a", t);
		return buf;
	}
	variant kind;
	if (layout_of(info, kind)) {
		std::snprintf(buf, len,
			      "a task storage map of another layout than task local data's (value "
			      "of %u bytes; version 1 and variant B are known)",
			      info.value_size);
		return buf;
	}
	return "a task local data map";
}

} // namespace tld::detect
