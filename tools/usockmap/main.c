/* SPDX-License-Identifier: MIT */
/*
 * usockmap: the command-line tool. This file parses the global options and
 * dispatches to one verb per file (`prog run`, `prog load`, `prog dump`).
 * Exit status: 0 success, 1 failure (rejected program, failed run), 2 bad
 * usage or input.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define USM_CLI_VERSION "0.1"

static const char usage_text[] =
	"Usage: usockmap [--help] [--version] COMMAND ...\n"
	"\n"
	"Run the BPF socket-redirect programs of a clang-compiled object\n"
	"(sk_skb, sk_msg, sk_reuseport, sockops) in usockmap's own VM.\n"
	"\n"
	"Commands:\n"
	"  prog load OBJ [--verbose]\n"
	"      Verify every program of OBJ. Prints one line per program\n"
	"      (name, section, type, instructions, verified instructions,\n"
	"      stack bytes); for a rejected program its verifier log, and\n"
	"      exits 1.\n"
	"  prog dump OBJ [--prog NAME]\n"
	"      Disassemble the programs (or one) as they run.\n"
	"  prog run OBJ [--prog NAME] [--data-in FILE|-] [--data-hex HEX]\n"
	"           [--ctx-in FILE] [--sock MAP:KEY]... [--self MAP:KEY]\n"
	"           [--as parser|verdict] [--linear N|all] [--chunk N]\n"
	"           [--repeat N] [--budget N] [--json]\n"
	"      Run one program on the given bytes and context and print\n"
	"      what the kernel would do: retval, verdict (pass/drop/redirect,\n"
	"      select for sk_reuseport, the message length for a stream\n"
	"      parser), the redirect target, the data after the run,\n"
	"      apply/cork bytes, bpf_printk lines and ns per run.\n"
	"  run OBJ --listen ADDR:PORT [--backend ADDR:PORT] [--map NAME:KEY=ROLE]\n"
	"      [--attach PROG:MAP] [--trace [--json]] [--control PATH]\n"
	"      [--max-conns N] [--duration SEC]\n"
	"      [--reuseport ADDR:PORT [--workers N] [--proto tcp|udp]\n"
	"       [--reuseport-prog PROG] [--reuseport-map MAP]]\n"
	"      The programmable proxy: accept clients, connect backends,\n"
	"      let the object's sockops/sk_skb/sk_msg programs move the\n"
	"      data; --reuseport: N members share ADDR:PORT and the\n"
	"      object's sk_reuseport program picks one per connection or\n"
	"      datagram (see docs/proxy.md and usockmap run --help).\n"
	"  stats [--json] [--control PATH|--pid PID]\n"
	"      Per-socket and per-map counters of a running `usockmap run`.\n"
	"  map dump|lookup|update|delete NAME [KEY] [VALUE] [--json]\n"
	"      [--control PATH|--pid PID]\n"
	"      Map commands on a running `usockmap run`.\n"
	"\n"
	"prog run options:\n"
	"  --prog NAME       program (function) name; default: the first\n"
	"                    program of OBJ\n"
	"  --data-in FILE    packet/message bytes ('-' = stdin)\n"
	"  --data-hex HEX    the same as hex digits\n"
	"  --ctx-in FILE     JSON object of UAPI context fields, e.g.\n"
	"                    {\"local_port\": 8080, \"remote_ip4\": \"10.0.0.1\",\n"
	"                     \"remote_port\": 443, \"family\": \"AF_INET\",\n"
	"                     \"cb\": [1, 2]}; values in host order, stored in\n"
	"                    the byte order the program reads (examples/README.md)\n"
	"  --sock MAP:KEY    put a real connected loopback TCP socket (a\n"
	"                    SO_REUSEPORT listener for sk_reuseport) at KEY of\n"
	"                    the SOCKMAP/SOCKHASH MAP; KEY is a decimal integer\n"
	"                    or 0x followed by the key's bytes in hex\n"
	"  --self MAP:KEY    the program runs on that socket (skb->sk, msg->sk);\n"
	"                    implies --sock MAP:KEY\n"
	"  --as TYPE         run an sk_skb program as 'parser' or 'verdict'\n"
	"  --linear N|all    sk_skb: bytes data..data_end cover before a\n"
	"                    bpf_skb_pull_data (default 0, as on the kernel's\n"
	"                    TCP receive path)\n"
	"  --chunk N         sk_msg: scatter-gather chunk size (default: the\n"
	"                    kernel's sendmsg chunking)\n"
	"  --repeat N        run N times and report the mean ns per run\n"
	"  --budget N        instruction budget per run\n"
	"  --json            print one JSON object\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

static int prog_cmd(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return CLI_OK;
		}
	}
	if (argc < 2) {
		cli_err("prog: expected run, load or dump (see --help)");
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "run") == 0)
		return cli_prog_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "load") == 0)
		return cli_prog_load(argc - 1, argv + 1);
	if (strcmp(argv[1], "dump") == 0)
		return cli_prog_dump(argc - 1, argv + 1);
	cli_err("prog: unknown command '%s' (see --help)", argv[1]);
	return CLI_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* '+': stop at the command; its options are the verb's. */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("usockmap %s\n", USM_CLI_VERSION);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[optind], "prog") == 0)
		return prog_cmd(argc - optind, argv + optind);
	if (strcmp(argv[optind], "run") == 0)
		return cli_run(argc - optind, argv + optind);
	if (strcmp(argv[optind], "stats") == 0)
		return cli_stats(argc - optind, argv + optind);
	if (strcmp(argv[optind], "map") == 0)
		return cli_map(argc - optind, argv + optind);
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	cli_err("unknown command '%s' (see --help)", argv[optind]);
	return CLI_USAGE;
}
