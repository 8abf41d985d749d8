// Layout detection from a map's BTF.
#include "detect.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
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

// Offset of the slot array in the metadata struct: the member named
// `metadata` (the upstream name), or else its first array member.
std::optional<std::size_t> slots_offset(const btf *b, const btf_type *s) noexcept
{
	const btf_member *m = btf_members(s);
	std::optional<std::size_t> first_array;
	for (__u16 i = 0; i < btf_vlen(s); ++i, ++m) {
		if (std::strcmp(btf__name_by_offset(b, m->name_off), "metadata") == 0)
			return btf_member_bit_offset(s, i) / 8;
		const btf_type *t = skip_mods(b, m->type);
		if (!first_array && t && btf_is_array(t))
			first_array = btf_member_bit_offset(s, i) / 8;
	}
	return first_array;
}

int detect(const bpf_map_info &info, variant &kind) noexcept
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
		const btf_type *data = uptr_target(b, m[0].type);
		const btf_type *meta = uptr_target(b, m[1].type);
		if (!data || !meta || data->size > page_size() || meta->size > page_size())
			break;
		// Variant C aligns the metadata array to 64 bytes: not this layout.
		auto moff = slots_offset(b, meta);
		if (!moff || *moff != meta_array_offset_v1)
			break;
		if (want == 3) {
			const btf_type *st = skip_mods(b, m[2].type);
			if (btf_member_bit_offset(v, 2) != 128 || !st || !btf_is_int(st) ||
			    st->size != sizeof(__u16))
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

} // namespace

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
	return detect(info, kind);
}

} // namespace tld::detect
