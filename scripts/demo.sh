#!/usr/bin/env bash
# `make demo`: verify the bundled examples with `usockmap prog load` and run
# each with `usockmap prog run` on its sample input, printing what the
# kernel would do with it. Exits non-zero if any load or run fails.
#
# Usage: scripts/demo.sh [BUILD]   (default: $BUILD or build)
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-${BUILD:-build}}
cli="$BUILD/usockmap"
obj="$BUILD/bpf/examples"
ex=examples
failed=0
total=0

if [ ! -x "$cli" ]; then
	echo "demo: $cli is missing (run make demo)" >&2
	exit 1
fi

# step TITLE ARGS...: print the command, run it, count failures.
step() {
	local title=$1
	shift
	total=$((total + 1))
	printf '\n### %s\n$ usockmap %s\n' "$title" "$*"
	if ! "$cli" "$@"; then
		echo "!!! FAILED: usockmap $*"
		failed=$((failed + 1))
	fi
}

echo "== usockmap demo: the examples in $ex/ (see $ex/README.md)"

step "Verify every example program" \
	prog load "$obj/parser/parser.bpf.o"
for o in redirect msg_header policy sockops; do
	step "Verify $o" prog load "$obj/$o/$o.bpf.o"
done
step "Verify reuseport (REUSEPORT_SOCKARRAY)" \
	prog load "$obj/reuseport/reuseport.bpf.o"
step "Verify reuseport_sockmap" \
	prog load "$obj/reuseport/reuseport_sockmap.bpf.o"

step "Stream parser: one message per received buffer" \
	prog run "$obj/parser/parser.bpf.o" --prog parse_len \
	--data-in "$ex/parser/framed.bin"
step "Stream parser: 2-byte length header -> message of 7 bytes" \
	prog run "$obj/parser/parser.bpf.o" --prog parse_hdr \
	--data-in "$ex/parser/framed.bin"
step "Stream parser: header incomplete -> need more data" \
	prog run "$obj/parser/parser.bpf.o" --prog parse_hdr \
	--data-in "$ex/parser/short.bin"

step "Verdict: tenant 1 -> backends[1] (a real socket there: redirect)" \
	prog run "$obj/redirect/redirect.bpf.o" --data-in "$ex/redirect/tenant1.bin" \
	--ctx-in "$ex/redirect/ctx.json" --sock backends:1
step "Verdict: tenant 2 -> backends[2] is empty: the helper drops" \
	prog run "$obj/redirect/redirect.bpf.o" --data-in "$ex/redirect/tenant2.bin" \
	--sock backends:1
step "Verdict: unknown tenant 7 -> drop" \
	prog run "$obj/redirect/redirect.bpf.o" --data-in "$ex/redirect/tenant7.bin" \
	--sock backends:1

step "sk_msg: inject a 4-byte length header (apply_bytes + push + pull)" \
	prog run "$obj/msg_header/msg_header.bpf.o" --data-in "$ex/msg_header/hello.bin"

step "sk_msg policy: GET passes" \
	prog run "$obj/policy/policy.bpf.o" --data-in "$ex/policy/get.bin"
step "sk_msg policy: DEL is dropped (send() would fail with EACCES)" \
	prog run "$obj/policy/policy.bpf.o" --data-in "$ex/policy/del.bin"
step "sk_msg policy: 2 of 4 header bytes -> cork until 4 bytes" \
	prog run "$obj/policy/policy.bpf.o" --data-in "$ex/policy/partial.bin"

step "sk_reuseport: hash 6 -> worker 2 of a REUSEPORT_SOCKARRAY" \
	prog run "$obj/reuseport/reuseport.bpf.o" --data-in "$ex/reuseport/syn.bin" \
	--ctx-in "$ex/reuseport/ctx.json" --sock workers:2
step "sk_reuseport: the same over a SOCKMAP of listeners" \
	prog run "$obj/reuseport/reuseport_sockmap.bpf.o" \
	--data-in "$ex/reuseport/syn.bin" --ctx-in "$ex/reuseport/ctx.json" \
	--sock workers:2
step "sk_reuseport: worker 2 missing -> SK_PASS falls back to the hash" \
	prog run "$obj/reuseport/reuseport_sockmap.bpf.o" \
	--data-in "$ex/reuseport/syn.bin" --ctx-in "$ex/reuseport/ctx.json"

step "sock_ops: a passive-established connection goes into the SOCKHASH" \
	prog run "$obj/sockops/sockops.bpf.o" --ctx-in "$ex/sockops/ctx.json"

step "The same run as JSON" \
	prog run "$obj/redirect/redirect.bpf.o" --data-in "$ex/redirect/tenant1.bin" \
	--sock backends:1 --json

echo
if [ "$failed" -ne 0 ]; then
	echo "demo: $failed of $total steps FAILED"
	exit 1
fi
echo "demo: all $total steps ran"
