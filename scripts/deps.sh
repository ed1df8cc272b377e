#!/usr/bin/env bash
# Install the Debian packages usockmap needs to build, test and demo, when
# any is missing. Shared by `make demo` and `make check`. Idempotent; does
# nothing (and needs no network) when everything is present.
set -euo pipefail

PKGS=(
	make gcc clang llvm          # build; clang compiles BPF objects
	libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
	libcmocka-dev                # unit test framework
	libjansson-dev               # JSON for the CLI (--ctx-in, --json)
	libclang-rt-14-dev           # ASan/UBSan/libFuzzer runtimes for clang
	pkg-config iproute2
	python3                      # demo: echo backend and client for usockmap run
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages and not root; run as root or install: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
