#!/bin/sh
# Build-step benchmark (issue 8): the real jenkins-agent against the test controller.
#   bench/steps.sh BUILD_DIR [BYTES] [SPAWNS]
# 1. Build-log streaming: a quiet RemoteLaunchCallable of `yes 0123456789abcdef | head -c BYTES`
#    (default 1 GiB) whose output goes through the agent into the controller's build-log stream
#    (ProxyOutputStream$Chunk with the 1 MiB window and Acks); the controller checks the SHA-256.
#    Prints MiB/s (launch to join) and the agent's CPU seconds per GiB (utime+stime from
#    /proc/PID/stat, sampled until the agent exits; includes connecting, about 0.01 s), and its
#    resident memory: the last VmRSS sampled before it exits (the stream is over by then) and its
#    peak VmHWM.
# 2. Per-step overhead: SPAWNS (default 100) launches of `true`, each RemoteLaunchCallable +
#    getIOtriplet + join, one after another; median/p90/min in ms.
# The controller runs with -Dtestctl.trace=false (no per-command log lines).
set -eu
build=${1:?usage: bench/steps.sh BUILD_DIR [BYTES] [SPAWNS]}
bytes=${2:-1073741824}
spawns=${3:-100}
. "$(dirname "$0")/lib.sh"
bench_init "$build" steps

bench_run "steps-stream:$bytes" mem
line=$(grep -o 'steps-stream: .*' "$dir/steps-stream:$bytes.state.log")
echo "$line"
awk -v c="$cpu" -v b="$bytes" 'BEGIN { printf "agent CPU: %.2f s in all, %.2f s per GiB\n", c, c / (b / 1073741824) }'
awk -v r="$rss" -v h="$hwm" 'BEGIN { printf "agent resident memory: %.1f MB after streaming, %.1f MB peak\n", r / 1024, h / 1024 }'
bench_run "steps-overhead:$spawns"
grep -o 'steps-overhead: .*' "$dir/steps-overhead:$spawns.state.log"
echo "agent CPU for $spawns steps: $cpu s"
rm -rf "$dir"
