#!/bin/sh
# End-to-end channel test: our agent against the test controller (tests/controller).
#   run-e2e.sh JAVA CLASSES AGENT WORKDIR NAME SCENARIO [agent options...]
# Starts the controller with --scenario SCENARIO --sessions 1, runs the agent once
# (-noReconnect), and passes when the controller says "testctl: PASS". Logs: WORKDIR/NAME.*
# Environment (optional):
#   E2E_AGENT_EXIT=N      also require the agent's exit status N and no sanitizer report in its log
#   E2E_AGENT_TIMEOUT=S   the agent's time limit in seconds (default 40); the controller gets S+10
#   E2E_ASAN_OPTIONS=...  appended to ASAN_OPTIONS for the agent (a sanitizer build's tuning)
#   E2E_SESSIONS=N        N > 1: the agent runs without -noReconnect (AG_TEST_RETRY_MS 300 unless
#                         set) and the controller plays SCENARIO in N sessions; once the
#                         controller is done the agent is stopped with SIGTERM (exit status 143)
set -u
java=$1
classes=$2
agent=$3
dir=$4
name=$5
scenario=$6
shift 6
here=$(dirname "$0")
mkdir -p "$dir"
state="$dir/$name.state"
rm -f "$dir/$name.cap" "$dir/$name.cap.txt"
if ! sh "$here/../controller/scripts/testctl-start.sh" "$java" "$classes" "$state" \
        --scenario "$scenario" --sessions "${E2E_SESSIONS:-1}" --timeout-ms $(( (${E2E_AGENT_TIMEOUT:-40} + 10) * 1000 )) \
        --keys-dir "$dir/keys"; then
    echo "e2e $name: the controller did not start" >&2
    exit 1
fi
http_url=$(sed -n 's/^http_url=//p' "$state")
ws_url=$(sed -n 's/^ws_url=//p' "$state")
node=$(sed -n 's/^name=//p' "$state")
secret=$(sed -n 's/^secret=//p' "$state")
pid=$(sed -n 's/^pid=//p' "$state")
: "$ws_url"
if [ -n "${E2E_ASAN_OPTIONS:-}" ]; then
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}$E2E_ASAN_OPTIONS"
    export ASAN_OPTIONS
fi
sessions=${E2E_SESSIONS:-1}
if [ "$sessions" -gt 1 ]; then
    AG_TEST_RETRY_MS=${AG_TEST_RETRY_MS:-300} timeout "${E2E_AGENT_TIMEOUT:-40}" "$agent" -url "$http_url" \
        -name "$node" -secret "$secret" "$@" >"$dir/$name.agent.log" 2>&1 &
    agent_pid=$!
    while kill -0 "$pid" 2>/dev/null && kill -0 "$agent_pid" 2>/dev/null; do
        sleep 0.1
    done
    kill -TERM "$agent_pid" 2>/dev/null
    wait "$agent_pid"
    agent_rc=$?
else
    timeout "${E2E_AGENT_TIMEOUT:-40}" "$agent" -url "$http_url" -name "$node" -secret "$secret" -noReconnect "$@" \
        >"$dir/$name.agent.log" 2>&1
    agent_rc=$?
fi
i=0
while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 150 ]; then
        kill "$pid" 2>/dev/null
        break
    fi
    sleep 0.1
done
agent_ok=1
if [ -n "${E2E_AGENT_EXIT:-}" ]; then
    if [ "$agent_rc" != "$E2E_AGENT_EXIT" ]; then
        echo "e2e $name: the agent exited with $agent_rc, expected $E2E_AGENT_EXIT" >&2
        agent_ok=0
    fi
    if grep -q 'Sanitizer' "$dir/$name.agent.log"; then
        echo "e2e $name: sanitizer report in the agent log" >&2
        agent_ok=0
    fi
fi
if [ "$agent_ok" = 1 ] && grep -q '^testctl: PASS' "$state.log"; then
    echo "e2e $name: PASS (agent exit $agent_rc)"
    grep 'testctl: scenario\|ping:\|pipe-\|ping-soak:' "$state.log"
    exit 0
fi
echo "e2e $name: FAIL (agent exit $agent_rc); controller log:" >&2
cat "$state.log" >&2
echo "--- agent log (tail):" >&2
tail -40 "$dir/$name.agent.log" >&2
exit 1
