/* SPDX-License-Identifier: MIT */
/*
 * --ctx-in: a JSON object whose keys are the UAPI field names of the
 * program's context struct, turned into the struct's bytes for
 * usm_prog_run(). The field table (names, offsets, byte orders, which
 * fields may be set) is the test-run core's (src/core/testrun_fields.c).
 *
 * Values are given in host order and stored the way the program reads
 * them (SEMANTICS SKB-20, MSG-02, RPP-02):
 *   remote_ip4/local_ip4  "10.0.0.1"          network order
 *   remote_ip6/local_ip6  "fe80::1"           network order
 *   remote_port           443                 htonl(443): the network-order
 *                                             port in the upper 16 bits, so
 *                                             bpf_ntohl(skb->remote_port)
 *                                             == 443
 *   local_port            8080                host order
 *   family                "AF_INET" or 2
 *   eth_protocol          "ETH_P_IP" or 2048  htons(): network order
 *   ip_protocol           "IPPROTO_UDP" or 17
 *   op (sock_ops)         "BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB" or 5
 *   cb / args             [1, 2, 3]           u32 each
 *   len / size            must equal the data size (or be omitted)
 *   anything else         an unsigned integer
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../src/core/testrun.h"
#include "cli.h"

struct name_val {
	const char *name;
	uint32_t val;
};

static const struct name_val families[] = {
	{ "AF_INET", AF_INET },
	{ "AF_INET6", AF_INET6 },
	{ "AF_UNIX", AF_UNIX },
	{ NULL, 0 },
};

static const struct name_val eth_protos[] = {
	{ "ETH_P_IP", ETH_P_IP },
	{ "ETH_P_IPV6", ETH_P_IPV6 },
	{ NULL, 0 },
};

static const struct name_val ip_protos[] = {
	{ "IPPROTO_TCP", IPPROTO_TCP },
	{ "IPPROTO_UDP", IPPROTO_UDP },
	{ NULL, 0 },
};

#define OP(x) { #x, x }
static const struct name_val sockops_ops[] = {
	OP(BPF_SOCK_OPS_VOID),
	OP(BPF_SOCK_OPS_TIMEOUT_INIT),
	OP(BPF_SOCK_OPS_RWND_INIT),
	OP(BPF_SOCK_OPS_TCP_CONNECT_CB),
	OP(BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB),
	OP(BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB),
	OP(BPF_SOCK_OPS_NEEDS_ECN),
	OP(BPF_SOCK_OPS_BASE_RTT),
	OP(BPF_SOCK_OPS_RTO_CB),
	OP(BPF_SOCK_OPS_RETRANS_CB),
	OP(BPF_SOCK_OPS_STATE_CB),
	OP(BPF_SOCK_OPS_TCP_LISTEN_CB),
	OP(BPF_SOCK_OPS_RTT_CB),
	OP(BPF_SOCK_OPS_PARSE_HDR_OPT_CB),
	OP(BPF_SOCK_OPS_HDR_OPT_LEN_CB),
	OP(BPF_SOCK_OPS_WRITE_HDR_OPT_CB),
	{ NULL, 0 },
};

/* An integer in [0, max], or (when @names is given) one of the names. */
static int get_uint(const char *key, json_t *v, uint64_t max,
		    const struct name_val *names, uint64_t *out)
{
	const struct name_val *n;
	json_int_t i;

	if (json_is_integer(v)) {
		i = json_integer_value(v);
		if (i >= 0 && (uint64_t)i <= max) {
			*out = (uint64_t)i;
			return 0;
		}
	} else if (json_is_string(v) && names) {
		for (n = names; n->name; n++) {
			if (strcmp(n->name, json_string_value(v)) == 0) {
				*out = n->val;
				return 0;
			}
		}
	}
	cli_err("--ctx-in: field '%s' wants an integer 0..%llu%s", key,
		(unsigned long long)max, names ? " or one of:" : "");
	for (n = names; n && n->name; n++)
		fprintf(stderr, "  %s\n", n->name);
	return CLI_USAGE;
}

static int get_addr(const char *key, json_t *v, int af, uint8_t *dst)
{
	if (json_is_string(v) && inet_pton(af, json_string_value(v), dst) == 1)
		return 0;
	cli_err("--ctx-in: field '%s' wants an %s address as text", key,
		af == AF_INET ? "IPv4 (\"10.0.0.1\")" : "IPv6 (\"fe80::1\")");
	return CLI_USAGE;
}

static int get_array(const struct usm_trf *f, json_t *v, uint8_t *dst)
{
	size_t i, n = f->size / 4;
	uint64_t x;
	uint32_t u;

	if (!json_is_array(v) || json_array_size(v) > n) {
		cli_err("--ctx-in: field '%s' wants an array of at most %zu "
			"integers", f->name, n);
		return CLI_USAGE;
	}
	for (i = 0; i < json_array_size(v); i++) {
		if (get_uint(f->name, json_array_get(v, i), UINT32_MAX, NULL,
			     &x))
			return CLI_USAGE;
		u = (uint32_t)x;
		memcpy(dst + 4 * i, &u, 4);
	}
	return 0;
}

static void put32(uint8_t *dst, uint32_t v)
{
	memcpy(dst, &v, 4);
}

/* Store @v as field @f of the context at @ctx. */
static int set_field(const struct usm_trf *f, json_t *v, uint8_t *ctx)
{
	uint8_t *dst = ctx + f->off;
	uint64_t x;
	int rc;

	switch (f->fmt) {
	case USM_TRF_IP4:
		return get_addr(f->name, v, AF_INET, dst);
	case USM_TRF_IP6:
		return get_addr(f->name, v, AF_INET6, dst);
	case USM_TRF_ARRAY:
		return get_array(f, v, dst);
	case USM_TRF_U64:
		rc = get_uint(f->name, v, UINT64_MAX >> 1, NULL, &x);
		if (!rc)
			memcpy(dst, &x, 8);
		return rc;
	case USM_TRF_PORT_NET:
	case USM_TRF_PORT_HOST:
		rc = get_uint(f->name, v, 65535, NULL, &x);
		if (!rc) /* SKB-20: network order, upper 16 bits */
			put32(dst, f->fmt == USM_TRF_PORT_NET
					   ? htonl((uint32_t)x)
					   : (uint32_t)x);
		return rc;
	case USM_TRF_BE16:
		rc = get_uint(f->name, v, 65535, eth_protos, &x);
		if (!rc)
			put32(dst, htons((uint16_t)x));
		return rc;
	case USM_TRF_FAMILY:
		rc = get_uint(f->name, v, UINT32_MAX, families, &x);
		break;
	case USM_TRF_IPPROTO:
		rc = get_uint(f->name, v, 255, ip_protos, &x);
		break;
	case USM_TRF_SOCKOPS_OP:
		rc = get_uint(f->name, v, UINT32_MAX, sockops_ops, &x);
		break;
	default: /* U32, LEN */
		rc = get_uint(f->name, v, UINT32_MAX, NULL, &x);
		break;
	}
	if (!rc)
		put32(dst, (uint32_t)x);
	return rc;
}

static void list_fields(uint32_t type)
{
	uint32_t cnt, size, i;
	const struct usm_trf *t = usm__trf_table(type, &cnt, &size);

	fprintf(stderr, "  fields a test may set for %s:",
		usm__trf_type_name(type));
	for (i = 0; i < cnt; i++)
		if (t[i].settable)
			fprintf(stderr, " %s", t[i].name);
	fputc('\n', stderr);
}

static int fill(json_t *root, uint32_t type, uint8_t *ctx)
{
	const struct usm_trf *f;
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v) {
		f = usm__trf_find(type, key);
		if (!f) {
			cli_err("--ctx-in: unknown field '%s' for %s programs",
				key, usm__trf_type_name(type));
			list_fields(type);
			return CLI_USAGE;
		}
		if (!f->settable) {
			cli_err("--ctx-in: field '%s' cannot be set for %s "
				"programs", key, usm__trf_type_name(type));
			list_fields(type);
			return CLI_USAGE;
		}
		if (set_field(f, v, ctx))
			return CLI_USAGE;
	}
	return 0;
}

int cli_ctx_from_json(const char *path, uint32_t type, uint8_t **ctx,
		      uint32_t *ctx_size)
{
	json_error_t jerr;
	uint32_t cnt, size;
	json_t *root;
	uint8_t *buf;
	int rc;

	*ctx = NULL;
	*ctx_size = 0;
	if (!usm__trf_table(type, &cnt, &size)) {
		cli_err("--ctx-in: %s programs have no test-run context",
			cli_type_name(type));
		return CLI_USAGE;
	}
	root = strcmp(path, "-") == 0
		       ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
		       : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		cli_err("--ctx-in %s: %s (line %d, column %d)", path, jerr.text,
			jerr.line, jerr.column);
		return CLI_USAGE;
	}
	if (!json_is_object(root)) {
		cli_err("--ctx-in %s: expected a JSON object", path);
		json_decref(root);
		return CLI_USAGE;
	}
	buf = calloc(1, size);
	if (!buf) {
		json_decref(root);
		cli_err("out of memory");
		return CLI_FAIL;
	}
	rc = fill(root, type, buf);
	json_decref(root);
	if (rc) {
		free(buf);
		return rc;
	}
	*ctx = buf;
	*ctx_size = size;
	return 0;
}
