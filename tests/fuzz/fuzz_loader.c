// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the object loader: the input is an ELF image,
 * opened with usm_object_open_mem(), loaded when the open succeeds, and
 * closed. Any crash, leak or sanitizer report is a bug in the loader's
 * checks (libbpf 1.1 itself trusts parts of the ELF; the loader validates
 * them first, src/loader/elf.c and btf_check.c). Objects whose maps would
 * need more than FUZZ_MAP_BYTES are not loaded: the kernel would try to
 * allocate them too, and the fuzzer's memory limit is not a bug.
 * Seeds: tests/fuzz/corpus/fuzz_loader/ (small compiled test objects).
 */
#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include <usockmap/object.h>

#include "../../src/loader/loader.h"

#define FUZZ_MAP_BYTES (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int maps_small(const struct usm_object *obj)
{
	uint32_t i;

	for (i = 0; i < usm__object_map_cnt(obj); i++) {
		const struct bpf_map *m = usm__object_map(obj, i)->bmap;
		uint64_t per = (uint64_t)bpf_map__key_size(m) +
			       bpf_map__value_size(m) + 64;

		if (per * bpf_map__max_entries(m) > FUZZ_MAP_BYTES)
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usm_object *obj = NULL;
	static int init;

	if (!init) {
		libbpf_set_print(quiet);
		init = 1;
	}
	if (usm_object_open_mem(data, size, NULL, &obj))
		return 0;
	if (maps_small(obj))
		usm_object_load(obj);
	usm_object_close(obj);
	return 0;
}
