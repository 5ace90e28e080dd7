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
tcp) agent_opts= label=JNLP4 ;;
ws) agent_opts=-webSocket label=WebSocket ;;
*) echo "$usage" >&2; exit 2 ;;
esac
. "$(dirname "$0")/lib.sh"
bench_init "$build" pipes
trap 'rm -rf "$dir"' EXIT

for dirn in ${DIRS:-out in}; do
    n=1
    while [ "$n" -le "$runs" ]; do
        bench_run "pipebench-$dirn:$bytes"
        rate=$(sed -n 's/.*pipebench-'"$dirn"': .* = \([0-9.]*\) MiB\/s.*/\1/p' "$dir/pipebench-$dirn:$bytes.state.log")
        awk -v t="$label" -v d="$dirn" -v n="$n" -v r="$rate" -v c="$cpu" -v b="$bytes" 'BEGIN {
            printf "%s %s run %d: %s MiB/s, agent CPU %.2f s, %.2f s per GiB\n", t,
                   (d == "out" ? "agent->controller" : "controller->agent"), n, r, c,
                   c / (b / 1073741824) }'
        n=$((n + 1))
    done
done
