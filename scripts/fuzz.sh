#!/usr/bin/env bash
# Build every tests/fuzz/fuzz_*.c as a libFuzzer target (clang, ASan+UBSan)
# against the library sources and run each briefly (USM_FUZZ_SECONDS, default
# 20) from its seed corpus tests/fuzz/corpus/<name>/ plus the bundled BPF
# objects. Fails if any target finds a crash, leak or sanitizer report.
set -u
cd "$(dirname "$0")/.."
secs=${USM_FUZZ_SECONDS:-20}
out=build-fuzz
mkdir -p "$out"
make -s BUILD=build bpf >/dev/null || exit 1
srcs=$(find src -name '*.c' | sort)
rc=0
for f in tests/fuzz/fuzz_*.c; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .c)
	bin="$out/$name"
	if ! clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Iinclude -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o "$bin" "$f" $srcs \
		-lbpf -lelf -lz -ljansson -lpthread 2>"$out/$name.build.log"; then
		echo "fuzz $name: build failed"; tail -20 "$out/$name.build.log"; rc=1; continue
	fi
	corpus="$out/corpus-$name"
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$name" ] && cp -n tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/$name-" \
		"$corpus" >"$out/$name.log" 2>&1; then
		echo "fuzz $name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/$name.log" | awk '{print $2}') runs, ${secs}s)"
	else
		echo "fuzz $name: FAILED"; grep -A30 -m1 -E 'ERROR|SUMMARY|deadly' "$out/$name.log" | head -40; rc=1
	fi
done
exit $rc
