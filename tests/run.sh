#!/usr/bin/env bash
# Run every test binary of one build ($BUILD, default build/) and print a
# summary line "N passed, N failed, N skipped". Each binary is a cmocka
# suite run with TAP output; a binary that crashes or times out counts as one
# failure on top of what it reported. Exit status 1 if anything failed.
set -u
BUILD=${BUILD:-build}
TIMEOUT=${USM_TEST_TIMEOUT:-300}
export USM_BUILD=$BUILD
export CMOCKA_MESSAGE_OUTPUT=TAP
pass=0 fail=0 skip=0
failed_names=()
log_dir="$BUILD/test-logs"
mkdir -p "$log_dir"

while IFS= read -r bin; do
	name=${bin#"$BUILD"/tests/}
	log="$log_dir/${name//\//_}.log"
	timeout --kill-after=10 "$TIMEOUT" "$bin" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	s=$(grep -c '^not ok .*# SKIP' "$log")
	f=$(grep '^not ok ' "$log" | grep -vc '# SKIP')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed, sanitizer report, or timeout (rc 124)
		echo "FAIL $name: exit $rc without a failed test (crash/timeout/leak)"
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-48s %4d passed %3d failed %3d skipped\n' "$name" "$p" "$f" "$s"
	if [ "$f" -ne 0 ]; then
		failed_names+=("$name")
		grep -E '^not ok |^# ' "$log" | grep -v '# SKIP' | head -40 | sed 's/^/    /'
		tail -20 "$log" | grep -iE 'sanitizer|leak|SUMMARY' | sed 's/^/    /'
	fi
	grep -E '^# SKIP:' "$log" | sort -u | head -5 | sed "s|^|    $name |"
done < <(find "$BUILD/tests" -type f -name 'test_*' -perm -u+x | sort)

[ ${#failed_names[@]} -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
