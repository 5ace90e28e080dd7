#!/bin/sh
# Start the test controller in the background and wait until it is ready.
#   testctl-start.sh JAVA CLASSES STATE_FILE [Main options...]
# Returns 0 once STATE_FILE exists (the controller keeps running; its pid is the state's pid=),
# 1 if the controller exited or did not get ready within 60 s. Its stderr goes to STATE_FILE.log.
set -eu
if [ $# -lt 3 ]; then
    echo "usage: $0 JAVA CLASSES STATE_FILE [options]" >&2
    exit 2
fi
java=$1
classes=$2
state=$3
shift 3
rm -f "$state"
"$java" -cp "$classes" nativeagent.testctl.Main --state-file "$state" "$@" 2>"$state.log" &
pid=$!
i=0
while [ ! -f "$state" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "testctl-start: the controller exited; see $state.log:" >&2
        cat "$state.log" >&2
        exit 1
    fi
    i=$((i + 1))
    if [ "$i" -gt 600 ]; then
        echo "testctl-start: not ready after 60 s; killing $pid" >&2
        kill "$pid" 2>/dev/null || true
        exit 1
    fi
    sleep 0.1
done
exit 0
