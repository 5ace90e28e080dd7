#!/bin/sh
# Pipe throughput of a build step, each way: the real jenkins-agent against the test controller.
#   bench/pipes.sh BUILD_DIR [BYTES] [RUNS] [tcp|ws]
# BYTES defaults to 1 GiB, RUNS (sessions per direction) to 3, the transport to tcp (JNLP4-connect;
# ws: -webSocket). Use a plain (non-sanitizer) Release build. DIRS="out" (or "in") runs one
# direction only.
# Directions (tests/controller/src/nativeagent/testctl/flows/PipeBench.java):
#   out  agent -> controller: a quiet step `yes 0123456789abcdef | head -c BYTES` whose output
#        streams into the controller's build-log RemoteOutputStream (ProxyOutputStream$Chunk,
#        1 MiB window, Acks); the controller checks every byte against the pattern.
#   in   controller -> agent: a step `wc -c` whose stdin is a controller InputStream sent as a
#        non-greedy RemoteInputStream, as Jenkins' RemoteLauncher sends ProcStarter.stdin(); the
#        agent pulls it with ProxyInputStream$Chunk requests. The controller checks the count.
# Per run it prints the controller's MiB/s (launch to join) and the agent's CPU seconds per GiB
# (utime+stime from /proc/PID/stat, sampled until the agent exits, so connecting, about 0.01 s,
# is included). The controller runs with -Dtestctl.trace=false (no per-command log lines).
set -eu
usage="usage: bench/pipes.sh BUILD_DIR [BYTES] [RUNS] [tcp|ws]"
build=${1:?$usage}
bytes=${2:-1073741824}
runs=${3:-3}
case ${4:-tcp} in
tcp) transport= label=JNLP4 ;;
ws) transport=-webSocket label=WebSocket ;;
*) echo "$usage" >&2; exit 2 ;;
esac
java=${JAVA:-java}
classes="$build/tests/controller/classes"
agent="$build/jenkins-agent"
dir=$(mktemp -d /tmp/bench-pipes.XXXXXX)
tck=$(getconf CLK_TCK)
trap 'rm -rf "$dir"' EXIT

run() { # run SCENARIO -> sets cpu (agent CPU seconds); the controller's log is $dir/SCENARIO.state.log
    state="$dir/$1.state"
    rm -f "$state"
    "$java" -Dtestctl.trace=false -cp "$classes" nativeagent.testctl.Main --state-file "$state" \
        --scenario "$1" --sessions 1 --timeout-ms 900000 --keys-dir "$dir/keys" 2>"$state.log" &
    cpid=$!
    i=0
    while [ ! -f "$state" ]; do
        i=$((i + 1))
        [ "$i" -lt 600 ] || { echo "controller did not start" >&2; exit 1; }
        sleep 0.1
    done
    url=$(sed -n 's/^http_url=//p' "$state")
    name=$(sed -n 's/^name=//p' "$state")
    secret=$(sed -n 's/^secret=//p' "$state")
    # $transport is empty or one word: unquoted on purpose.
    # shellcheck disable=SC2086
    "$agent" -url "$url" -name "$name" -secret "$secret" -noReconnect $transport >"$dir/$1.agent.log" 2>&1 &
    apid=$!
    ticks=0
    while kill -0 "$apid" 2>/dev/null; do
        t=$(awk '{print $14 + $15}' "/proc/$apid/stat" 2>/dev/null || echo "")
        [ -z "$t" ] || ticks=$t
        sleep 0.1
    done
    wait "$apid" || true
    wait "$cpid" || { echo "scenario $1 failed:" >&2; tail -5 "$state.log" >&2; exit 1; }
    cpu=$(awk -v t="$ticks" -v h="$tck" 'BEGIN { printf "%.2f", t / h }')
}

for dirn in ${DIRS:-out in}; do
    n=1
    while [ "$n" -le "$runs" ]; do
        run "pipebench-$dirn:$bytes"
        rate=$(sed -n 's/.*pipebench-'"$dirn"': .* = \([0-9.]*\) MiB\/s.*/\1/p' "$dir/pipebench-$dirn:$bytes.state.log")
        awk -v t="$label" -v d="$dirn" -v n="$n" -v r="$rate" -v c="$cpu" -v b="$bytes" 'BEGIN {
            printf "%s %s run %d: %s MiB/s, agent CPU %.2f s, %.2f s per GiB\n", t,
                   (d == "out" ? "agent->controller" : "controller->agent"), n, r, c,
                   c / (b / 1073741824) }'
        n=$((n + 1))
    done
done
