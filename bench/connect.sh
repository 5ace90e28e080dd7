#!/usr/bin/env bash
# bench/connect.sh: how fast jenkins-agent reaches "Connected" and how much memory it holds
# while connected and idle, against the test controller (tests/controller).
#
#   bench/connect.sh BUILD_DIR [N] [url|direct]
#
# Prints the median and min/max of N runs of "process start -> INFO: Connected" in ms, and the
# median VmRSS (from /proc/PID/status) one second after Connected. agent.jar's figures on the
# same kind of machine: 625 ms and 69 MB.
set -euo pipefail
build=${1:?usage: connect.sh BUILD_DIR [N] [url|direct]}
n=${2:-10}
mode=${3:-url}
agent="$build/jenkins-agent"
classes="$build/tests/controller/classes"
keys="$build/tests/net/keys"
tmp=$(mktemp -d)
ctl_pid=
cleanup() {
    if [ -n "$ctl_pid" ]; then kill "$ctl_pid" 2>/dev/null || true; wait "$ctl_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

java -cp "$classes" nativeagent.testctl.Main --state-file "$tmp/state" --keys-dir "$keys" \
    --timeout-ms 0 >"$tmp/ctl.log" 2>&1 &
ctl_pid=$!
for _ in $(seq 1 600); do [ -s "$tmp/state" ] && grep -q '^agent_port=' "$tmp/state" && break; sleep 0.1; done
# shellcheck disable=SC1091
. "$tmp/state"
if [ "$mode" = direct ]; then
    args=(-direct "127.0.0.1:$agent_port" -instanceIdentity "$identity" -protocols JNLP4-connect)
else
    args=(-url "$http_url")
fi

times=()
rss=()
for i in $(seq 1 "$n"); do
    log="$tmp/agent.$i.log"
    t0=$(date +%s%N)
    "$agent" "${args[@]}" -name "$name" -secret "$secret" 2>"$log" &
    pid=$!
    until grep -q 'INFO: Connected' "$log"; do
        if ! kill -0 "$pid" 2>/dev/null; then echo "agent exited:"; cat "$log"; exit 1; fi
        sleep 0.002
    done
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
    sleep 1
    rss+=($(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"))
    kill -TERM "$pid"
    wait "$pid" || true
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
minmax() { printf '%s\n' "$@" | sort -n | awk 'NR==1{mn=$1} {mx=$1} END {print mn "/" mx}'; }
echo "mode=$mode runs=$n"
echo "start->Connected: median $(median "${times[@]}") ms (min/max $(minmax "${times[@]}") ms); agent.jar: 625 ms"
echo "VmRSS connected+idle: median $(median "${rss[@]}") kB (min/max $(minmax "${rss[@]}") kB); agent.jar: 69 MB"
