#!/usr/bin/env bash
# `make bench`: run the benchmarks of one build ($BUILD, default build/) and
# write their results as JSON to $BUILD/bench.json. Each benchmark prints a
# table; ratios compare usockmap with the kernel in the same run.
set -eu
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.."

obj="$BUILD/bpf/tests/bpf/run_bench.bpf.o"
bin="$BUILD/bench/vm_bench"
for f in "$obj" "$bin"; do
	if [ ! -e "$f" ]; then
		echo "bench: $f is missing (run make bench)" >&2
		exit 1
	fi
done

echo "== VM benchmark"
"$bin" "$obj" --json "$BUILD/bench.json" ${USM_BENCH_ARGS:-}
echo "results: $BUILD/bench.json"

# Map operations per second (usockmap vs the kernel) and memory per socket.
mbin="$BUILD/bench/map_bench"
if [ ! -e "$mbin" ]; then
	echo "bench: $mbin is missing (run make bench)" >&2
	exit 1
fi
echo "== map benchmark"
"$mbin" --json "$BUILD/bench-maps.json" ${USM_MAP_BENCH_ARGS:-}
echo "results: $BUILD/bench-maps.json"

# Connections/s and datagrams/s through a 4-member reuseport group with a
# selecting program: usockmap vs the kernel (same object) vs a plain socket.
rbin="$BUILD/bench/reuseport_bench"
robj="$BUILD/bpf/tests/bpf/rp_select.bpf.o"
for f in "$rbin" "$robj"; do
	if [ ! -e "$f" ]; then
		echo "bench: $f is missing (run make bench)" >&2
		exit 1
	fi
done
echo "== reuseport benchmark"
"$rbin" --obj "$robj" --json "$BUILD/bench-reuseport.json" ${USM_RP_BENCH_ARGS:-}
echo "results: $BUILD/bench-reuseport.json"

# Send-path throughput (64 KiB sends) and 64-byte round-trip latency:
# plain send vs usm_send through an sk_msg pass / ingress-redirect program
# vs the kernel's sk_msg with the same object (root + kernel BPF).
sbin="$BUILD/bench/send_bench"
sobj="$BUILD/bpf/tests/bpf/bench_tx.bpf.o"
for f in "$sbin" "$sobj"; do
	if [ ! -e "$f" ]; then
		echo "bench: $f is missing (run make bench)" >&2
		exit 1
	fi
done
echo "== send-path benchmark"
"$sbin" --obj "$sobj" --json "$BUILD/bench-send.json" ${USM_SEND_BENCH_ARGS:-}
echo "results: $BUILD/bench-send.json"
