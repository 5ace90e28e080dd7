#!/usr/bin/env bash
# The demo: build jenkins-agent and the test controller, start the controller, connect the agent
# to it, and let both tell what happens. The README's first command.
#
#   scripts/demo.sh [SCENARIO] [-- EXTRA AGENT OPTIONS]
#
# SCENARIO is one of the test controller's scenarios (tests/controller/README.md and CHANNEL.md);
# the default replays what a Jenkins controller does when an inbound agent connects.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scenario=${1:-online}
shift || true
[ "${1:-}" = "--" ] && shift

bash scripts/deps.sh
cmake -S . -B build -G Ninja -DAGENT_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)" --target jenkins-agent testctl

work=$(mktemp -d)
ctl_pid=""
cleanup() {
    if [ -n "$ctl_pid" ] && kill -0 "$ctl_pid" 2>/dev/null; then
        kill "$ctl_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo
echo "== starting the test controller (a stand-in for Jenkins, in Java) =="
java -cp build/tests/controller/classes nativeagent.testctl.Main \
    --state-file "$work/state" --scenario "$scenario" --sessions 1 --timeout-ms 120000 &
ctl_pid=$!
for _ in $(seq 1 600); do
    [ -f "$work/state" ] && break
    kill -0 "$ctl_pid" 2>/dev/null || { echo "the test controller did not start" >&2; exit 1; }
    sleep 0.1
done
[ -f "$work/state" ] || { echo "the test controller did not start in 60 s" >&2; exit 1; }
state() { sed -n "s/^$1=//p" "$work/state"; }

echo
echo "== connecting jenkins-agent (scenario: $scenario) =="
echo "   jenkins-agent -url $(state http_url) -name $(state name) -secret **** -workDir $work/agent -noReconnect $*"
echo
secret=$(state secret)
JENKINS_SECRET=$secret "$root/build/jenkins-agent" -url "$(state http_url)" -name "$(state name)" \
    -workDir "$work/agent" -noReconnect "$@" &
agent_pid=$!

ctl_rc=0
wait "$ctl_pid" || ctl_rc=$?
ctl_pid=""
sleep 0.5
if kill -0 "$agent_pid" 2>/dev/null; then
    kill "$agent_pid" 2>/dev/null || true
fi
agent_rc=0
wait "$agent_pid" || agent_rc=$?
echo
echo "== test controller exit status $ctl_rc, agent exit status $agent_rc =="
exit "$ctl_rc"
