# bench/lib.sh: sourced by bench/pipes.sh and bench/steps.sh (POSIX sh, under set -eu).
#   bench_init BUILD_DIR NAME     sets java, classes, agent, tck and dir (a new /tmp/bench-NAME.XXXXXX)
#   bench_run SCENARIO [mem]      starts the test controller (-Dtestctl.trace=false) with SCENARIO and
#                                 one jenkins-agent against it, waits for both; sets cpu (the agent's
#                                 CPU seconds: utime+stime from /proc/PID/stat, sampled every 0.1 s
#                                 until it exits) and, with "mem", rss and hwm (kB: the last VmRSS and
#                                 VmHWM sampled). Logs: $dir/SCENARIO.state.log (controller) and
#                                 $dir/SCENARIO.agent.log. Exits 1 if the controller fails.
#                                 $agent_opts (empty or words, e.g. -webSocket) is added to the
#                                 agent's options.

bench_init() {
    java=${JAVA:-java}
    classes="$1/tests/controller/classes"
    agent="$1/jenkins-agent"
    dir=$(mktemp -d "/tmp/bench-$2.XXXXXX")
    tck=$(getconf CLK_TCK)
}

bench_run() {
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
    # $agent_opts is empty or simple words: unquoted on purpose.
    # shellcheck disable=SC2086
    "$agent" -url "$url" -name "$name" -secret "$secret" -noReconnect ${agent_opts:-} \
        >"$dir/$1.agent.log" 2>&1 &
    apid=$!
    ticks=0
    rss=0
    hwm=0
    while kill -0 "$apid" 2>/dev/null; do
        t=$(awk '{print $14 + $15}' "/proc/$apid/stat" 2>/dev/null || echo "")
        [ -z "$t" ] || ticks=$t
        if [ "${2:-}" = mem ]; then
            m=$(awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { if (r != "") print r, h }' \
                "/proc/$apid/status" 2>/dev/null || echo "")
            if [ -n "$m" ]; then
                rss=${m% *}
                hwm=${m#* }
            fi
        fi
        sleep 0.1
    done
    wait "$apid" || true
    wait "$cpid" || { echo "scenario $1 failed:" >&2; tail -5 "$state.log" >&2; exit 1; }
    cpu=$(awk -v t="$ticks" -v h="$tck" 'BEGIN { printf "%.2f", t / h }')
}
