#!/usr/bin/env bash
# `make check`: the whole suite twice (optimised build, then ASan+UBSan with
# leak detection), then short fuzz runs. Ends with one summary line over all
# passes: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
total_p=0 total_f=0 total_s=0

run_pass() { # name, make args...
	local name=$1; shift
	echo "== $name"
	if ! make -s -j"$jobs" "$@" tests >"/tmp/usm-build-$name.log" 2>&1; then
		cat "/tmp/usm-build-$name.log" | tail -40
		echo "$name: build failed"
		total_f=$((total_f + 1))
		return
	fi
	local out log="/tmp/usm-check-$name.log"
	make -s "$@" check-fast >"$log" 2>&1
	cat "$log"
	# make adds its own error line after a failed run: take the summary.
	out=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -1)
	if [[ $out =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
		total_p=$((total_p + BASH_REMATCH[1]))
		total_f=$((total_f + BASH_REMATCH[2]))
		total_s=$((total_s + BASH_REMATCH[3]))
	else
		echo "$name: no summary line"
		total_f=$((total_f + 1))
	fi
}

run_pass normal BUILD=build
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_pass asan BUILD=build-asan SAN=1
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "== fuzz"
if scripts/fuzz.sh; then
	total_p=$((total_p + 1))
else
	total_f=$((total_f + 1))
fi

echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
