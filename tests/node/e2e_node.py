#!/usr/bin/env python3
"""End-to-end test of the node callables: jenkins-agent against the test controller running one
of the scenarios of nativeagent.testctl.flows (online, monitors, pages).

usage: e2e_node.py --agent BIN --java JAVA --classes DIR --keys DIR SCENARIO [--websocket]
                   [--reconnect]

Starts the controller with --scenario SCENARIO --sessions 1, runs the agent with -noReconnect
(without it for --reconnect: after `disconnect` the agent must exit on its own), and passes when the controller exits 0 after "testctl: scenario SCENARIO: PASS". Exit 1 on
failure (both logs printed), 77 when the controller classes are missing.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--java", required=True)
    ap.add_argument("--classes", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--websocket", action="store_true")
    ap.add_argument("--reconnect", action="store_true",
                    help="run the agent without -noReconnect (it must still exit: disconnect)")
    ap.add_argument("scenario")
    a = ap.parse_args()
    if not os.path.isdir(a.classes):
        print("controller classes missing: " + a.classes)
        return 77
    d = tempfile.mkdtemp(prefix="e2e-node-")
    state = os.path.join(d, "state")
    ctl_log = os.path.join(d, "ctl.log")
    agent_log = os.path.join(d, "agent.log")
    ok = False
    ctl = agent = None
    try:
        with open(ctl_log, "w") as cl:
            ctl = subprocess.Popen(
                [a.java, "-Dtestctl.trace=false", "-Dtestctl.nodeRoot=" + d, "-cp", a.classes,
                 "nativeagent.testctl.Main", "--state-file", state, "--keys-dir", a.keys,
                 "--scenario", a.scenario, "--sessions", "1", "--timeout-ms", "45000"],
                stdout=cl, stderr=subprocess.STDOUT, cwd=d)
        st = {}
        deadline = time.time() + 30
        while time.time() < deadline and "http_url" not in st:
            if ctl.poll() is not None:
                break
            if os.path.exists(state) and os.path.getsize(state) > 0:
                time.sleep(0.05)
                with open(state) as f:
                    st = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
            time.sleep(0.05)
        if "http_url" not in st:
            raise RuntimeError("the controller did not start")
        cmd = [a.agent, "-url", st["http_url"], "-name", st["name"], "-secret", st["secret"]]
        if not a.reconnect:
            cmd.append("-noReconnect")
        if a.websocket:
            cmd.append("-webSocket")
        with open(agent_log, "w") as al:
            agent = subprocess.Popen(cmd, stdout=al, stderr=subprocess.STDOUT, cwd=d)
        rc = ctl.wait(timeout=50)
        text = open(ctl_log).read()
        ok = rc == 0 and ("testctl: scenario %s: PASS" % a.scenario) in text
        try:
            arc = agent.wait(timeout=15)
            if arc != 0:
                ok = False
                print("the agent exited with status %d (expected 0 with -noReconnect)" % arc)
        except subprocess.TimeoutExpired:
            ok = False
            print("the agent did not exit after the controller closed the channel")
    except Exception as e:  # noqa: BLE001 - report anything, then fail
        print("error: %s" % e)
    finally:
        for p in (agent, ctl):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    if not ok:
        for name, path in (("controller", ctl_log), ("agent", agent_log)):
            print("----- %s log -----" % name)
            if os.path.exists(path):
                print(open(path).read()[-20000:])
        return 1
    for line in open(ctl_log):
        if "online:" in line or "scenario" in line:
            print(line.rstrip())
    shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
