// SPDX-License-Identifier: MIT
/*
 * Loader test object: __kconfig externs. libbpf fills the .kconfig map
 * (LINUX_KERNEL_VERSION from uname, CONFIG_* from the kernel config, weak
 * ones 0 when absent); usockmap copies it into its own frozen map.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_USOCKMAP_NO_SUCH_OPTION __kconfig __weak;

SEC("sk_skb/stream_verdict")
int kver(struct __sk_buff *skb)
{
	if (CONFIG_USOCKMAP_NO_SUCH_OPTION)
		return SK_DROP;
	return LINUX_KERNEL_VERSION >= (4 << 16) ? SK_PASS : SK_DROP;
}

char _license[] SEC("license") = "GPL";
