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

# The main job: `usockmap run` as a splice proxy (examples/proxy/) in front
# of a tiny echo backend, a few lines through it, stats, then SIGTERM.
# Everything on 127.0.0.1 and bounded (--duration, timeouts).
proxy_demo() {
	local be_port=19501 px_port=19500 ctl="/tmp/usockmap-demo-$$.sock"
	local trace="/tmp/usockmap-demo-$$.trace" be px rc=0
	if ! command -v python3 >/dev/null; then
		echo "(skipped: python3 is needed for the echo backend and client)"
		return 0
	fi
	python3 -c '
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); s.settimeout(20)
def echo(c):
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
' "$be_port" & be=$!
	sleep 0.3
	printf '$ usockmap run %s --listen 127.0.0.1:%s --backend 127.0.0.1:%s --trace --control %s --duration 20 &\n' \
		"$obj/proxy/splice.bpf.o" "$px_port" "$be_port" "$ctl"
	"$cli" run "$obj/proxy/splice.bpf.o" --listen 127.0.0.1:$px_port \
		--backend 127.0.0.1:$be_port --trace --control "$ctl" \
		--duration 20 >"$trace" 2>&1 & px=$!
	sleep 0.5
	echo '$ (client) send "hello", "sockmap", "proxy" and read the replies'
	python3 -c '
import socket, subprocess, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
for line in (b"hello\n", b"sockmap\n", b"proxy\n"):
    c.sendall(line); got = b""
    while len(got) < len(line): got += c.recv(100)
    print("reply:", got.decode().strip())
print("$ usockmap stats --control", sys.argv[3], "   (client still connected)", flush=True)
sys.exit(subprocess.call([sys.argv[2], "stats", "--control", sys.argv[3]]))
' "$px_port" "$cli" "$ctl" || rc=1
	echo "\$ usockmap map dump peer --control $ctl"
	"$cli" map dump peer --control "$ctl" || rc=1
	kill -TERM "$px"
	wait "$px" || rc=1
	kill "$be" 2>/dev/null
	wait "$be" 2>/dev/null
	echo "--- trace (one line per verdict):"
	cat "$trace"
	rm -f "$trace"
	return $rc
}
total=$((total + 1))
printf '\n### %s\n' "usockmap run: a splice proxy in front of an echo backend"
if ! proxy_demo; then
	echo "!!! FAILED: usockmap run demo"
	failed=$((failed + 1))
fi

echo
if [ "$failed" -ne 0 ]; then
	echo "demo: $failed of $total steps FAILED"
	exit 1
fi
echo "demo: all $total steps ran"
