#!/bin/sh
# End-to-end channel test: our agent against the test controller (tests/controller).
#   run-e2e.sh JAVA CLASSES AGENT WORKDIR NAME SCENARIO [agent options...]
# Starts the controller with --scenario SCENARIO --sessions 1, runs the agent once
# (-noReconnect), and passes when the controller says "testctl: PASS". Logs: WORKDIR/NAME.*
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
        --scenario "$scenario" --sessions 1 --timeout-ms 50000 --keys-dir "$dir/keys"; then
    echo "e2e $name: the controller did not start" >&2
    exit 1
fi
http_url=$(sed -n 's/^http_url=//p' "$state")
ws_url=$(sed -n 's/^ws_url=//p' "$state")
node=$(sed -n 's/^name=//p' "$state")
secret=$(sed -n 's/^secret=//p' "$state")
pid=$(sed -n 's/^pid=//p' "$state")
: "$ws_url"
timeout 40 "$agent" -url "$http_url" -name "$node" -secret "$secret" -noReconnect "$@" \
    >"$dir/$name.agent.log" 2>&1
agent_rc=$?
i=0
while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 150 ]; then
        kill "$pid" 2>/dev/null
        break
    fi
    sleep 0.1
done
if grep -q '^testctl: PASS' "$state.log"; then
    echo "e2e $name: PASS (agent exit $agent_rc)"
    grep 'testctl: scenario\|ping:' "$state.log"
    exit 0
fi
echo "e2e $name: FAIL (agent exit $agent_rc); controller log:" >&2
cat "$state.log" >&2
echo "--- agent log (tail):" >&2
tail -40 "$dir/$name.agent.log" >&2
exit 1
