#!/usr/bin/env bash
# Build and run the whole test suite: the README's test command.
#   scripts/test.sh            a -Werror build in build/, all tests
#   scripts/test.sh --asan     the same with AddressSanitizer and UndefinedBehaviorSanitizer,
#                              in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

"$(dirname "$0")/deps.sh"

dir=build
extra=()
if [ "${1:-}" = "--asan" ]; then
    dir=build-asan
    extra=(-DAGENT_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

cmake -S . -B "$dir" -G Ninja -DAGENT_WERROR=ON "${extra[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
# Most end-to-end tests wait on the network and on the Java controller, not on the CPU, so
# twice as many run at once as there are cores.
ctest --test-dir "$dir" --output-on-failure -j "$(( $(nproc) * 2 ))"
