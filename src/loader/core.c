/* SPDX-License-Identifier: MIT */
/*
 * CO-RE relocations. In gen_loader mode libbpf does not apply them (the
 * kernel would, against its own BTF), so instructions still hold the values
 * clang computed from the object's own ("local") types. usockmap has no
 * kernel BTF; a record is resolvable only when the target type is known to
 * be laid out exactly like the local one. That holds for the UAPI context
 * structs (struct __sk_buff, sk_msg_md, sk_reuseport_md, bpf_sock_ops,
 * bpf_sock): their layout is ABI, usockmap's contexts use it, and a local
 * definition of the full struct (vmlinux.h marks every struct with
 * preserve_access_index, so plain ctx->len accesses come with records) has
 * the UAPI size. For those, and for TYPE_ID_LOCAL, the local value is the
 * answer and the instruction stays as it is. Partial "flavour" definitions
 * (struct __sk_buff___x), kernel-internal types (struct sock, task_struct),
 * enum relocations and TYPE_ID_TARGET need the kernel's BTF: refused.
 */
#include "loader.h"

#include <bpf/btf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "../progtype/progtype.h"

struct uapi_struct {
	const char *name;
	uint32_t size, alt_size; /* alt: a newer UAPI (0 = none) */
};

static const struct uapi_struct uapi_structs[] = {
	{ "__sk_buff", sizeof(struct __sk_buff), 0 },
	{ "sk_msg_md", sizeof(struct sk_msg_md), 0 },
	{ "sk_reuseport_md", sizeof(struct sk_reuseport_md), 0 },
	{ "bpf_sock_ops", sizeof(struct bpf_sock_ops), USM_SOCK_OPS_CTX_SIZE },
	{ "bpf_sock", sizeof(struct bpf_sock), 0 },
};

static const char *kind_name(uint32_t kind)
{
	static const char *const names[] = {
		"byte_off", "byte_sz", "field_exists", "signed", "lshift_u64",
		"rshift_u64", "local_type_id", "target_type_id", "type_exists",
		"type_size", "enumval_exists", "enumval_value", "type_matches",
	};

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

static bool is_uapi(const struct btf *btf, const struct btf_type *t)
{
	const char *name = btf__name_by_offset(btf, t->name_off);
	size_t i;

	if (!name || !btf_is_struct(t))
		return false;
	for (i = 0; i < sizeof(uapi_structs) / sizeof(uapi_structs[0]); i++) {
		if (strcmp(name, uapi_structs[i].name) != 0)
			continue;
		return t->size == uapi_structs[i].size ||
		       (uapi_structs[i].alt_size &&
			t->size == uapi_structs[i].alt_size);
	}
	return false;
}

/* Walk "0:3:1" through the local type: every step must exist. */
static bool access_ok(const struct btf *btf, uint32_t root, const char *spec)
{
	uint32_t id = root;
	bool first = true;

	while (spec && *spec) {
		const struct btf_type *t;
		char *end;
		unsigned long idx = strtoul(spec, &end, 10);
		int rid;

		if (end == spec || (*end && *end != ':'))
			return false;
		spec = *end ? end + 1 : end;
		if (first) { /* index on the root pointer: any value */
			first = false;
			continue;
		}
		rid = btf__resolve_type(btf, id);
		t = rid > 0 ? btf__type_by_id(btf, (uint32_t)rid) : NULL;
		if (t && btf_is_composite(t) && idx < btf_vlen(t))
			id = btf_members(t)[idx].type;
		else if (t && btf_is_array(t) &&
			 (idx < btf_array(t)->nelems || !btf_array(t)->nelems))
			id = btf_array(t)->type;
		else
			return false;
	}
	return !first;
}

int usm__core_check(const struct btf *btf, const struct usm_core_rec *rec,
		    const char *prog_name, struct usm_log *log)
{
	const struct btf_type *t = btf ? btf__type_by_id(btf, rec->type_id)
				       : NULL;
	const char *spec = btf ? btf__name_by_offset(btf, rec->access_str_off)
			       : NULL;
	const char *tname = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	bool field = rec->kind <= BPF_CORE_FIELD_RSHIFT_U64;
	bool type = rec->kind == BPF_CORE_TYPE_EXISTS ||
		    rec->kind == BPF_CORE_TYPE_SIZE ||
		    rec->kind == BPF_CORE_TYPE_MATCHES;

	if (t && spec && rec->kind == BPF_CORE_TYPE_ID_LOCAL)
		return 0;
	if (t && spec && (field || type) && is_uapi(btf, t) &&
	    access_ok(btf, rec->type_id, spec))
		return 0;
	usm__log(log, "program '%s': CO-RE relocation (%s) at insn %u against "
		      "'%s%s' needs the kernel's BTF, which usockmap does not "
		      "have; only full UAPI context structs (__sk_buff, "
		      "sk_msg_md, sk_reuseport_md, bpf_sock_ops, bpf_sock) "
		      "resolve\n",
		 prog_name, kind_name(rec->kind), rec->insn_off / 8,
		 t && btf_is_union(t) ? "union " : t && btf_is_composite(t) ?
		 "struct " : "", tname && *tname ? tname : "(anon)");
	return -EOPNOTSUPP;
}
