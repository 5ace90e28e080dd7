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
java=${JAVA:-java}
classes="$build/tests/controller/classes"
agent="$build/jenkins-agent"
dir=$(mktemp -d /tmp/bench-steps.XXXXXX)
tck=$(getconf CLK_TCK)

run() { # run SCENARIO -> prints the controller's result line; sets cpu (agent CPU seconds)
    state="$dir/$1.state"
    "$java" -Dtestctl.trace=false -cp "$classes" nativeagent.testctl.Main --state-file "$state" \
        --scenario "$1" --sessions 1 --timeout-ms 900000 --keys-dir "$dir/keys" 2>"$state.log" &
    cpid=$!
    i=0
    while [ ! -f "$state" ]; do
        i=$((i + 1)); [ "$i" -lt 600 ] || { echo "controller did not start" >&2; exit 1; }
        sleep 0.1
    done
    url=$(sed -n 's/^http_url=//p' "$state")
    name=$(sed -n 's/^name=//p' "$state")
    secret=$(sed -n 's/^secret=//p' "$state")
    "$agent" -url "$url" -name "$name" -secret "$secret" -noReconnect >"$dir/$1.agent.log" 2>&1 &
    apid=$!
    ticks=0
    rss=0
    hwm=0
    while kill -0 "$apid" 2>/dev/null; do
        t=$(awk '{print $14 + $15}' "/proc/$apid/stat" 2>/dev/null || echo "")
        [ -z "$t" ] || ticks=$t
        m=$(awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { if (r != "") print r, h }' \
            "/proc/$apid/status" 2>/dev/null || echo "")
        if [ -n "$m" ]; then
            rss=${m% *}
            hwm=${m#* }
        fi
        sleep 0.1
    done
    wait "$apid" || true
    wait "$cpid" || { echo "scenario $1 failed:" >&2; tail -5 "$state.log" >&2; exit 1; }
    cpu=$(awk -v t="$ticks" -v h="$tck" 'BEGIN { printf "%.2f", t / h }')
}

run "steps-stream:$bytes"
line=$(grep -o 'steps-stream: .*' "$dir/steps-stream:$bytes.state.log")
echo "$line"
awk -v c="$cpu" -v b="$bytes" 'BEGIN { printf "agent CPU: %.2f s in all, %.2f s per GiB\n", c, c / (b / 1073741824) }'
awk -v r="$rss" -v h="$hwm" 'BEGIN { printf "agent resident memory: %.1f MB after streaming, %.1f MB peak\n", r / 1024, h / 1024 }'
run "steps-overhead:$spawns"
grep -o 'steps-overhead: .*' "$dir/steps-overhead:$spawns.state.log"
echo "agent CPU for $spawns steps: $cpu s"
rm -rf "$dir"
