#!/usr/bin/env python3
"""End-to-end tests of protocol/ws.c against the test controller, through tests/ws/ws_driver.

usage: e2e.py --driver BIN --java JAVA --classes DIR --keys DIR CASE

Each case starts the controller (java nativeagent.testctl.Main --https), waits for its state
file, runs ws_driver and checks its exit status. Exit 0 on success, 1 on failure (with both
logs), 77 when the controller classes are missing. Only the Python standard library is used.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

# The shared controller wrapper: tests/controller/scripts/testctl.py.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "controller",
                                "scripts"))
import testctl  # noqa: E402
from testctl import Failure  # noqa: E402

ARGS = None


class Controller(testctl.Controller):
    def __init__(self, *extra):
        super().__init__(ARGS.java, ARGS.classes, ARGS.keys, "--https", *extra,
                         ready_key="https_url", prefix="ws-e2e-")


def drive(ctl, url, *args, secret=None):
    cmd = [ARGS.driver, "--url", url, "--name", ctl["name"],
           "--secret", secret if secret is not None else ctl["secret"]] + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=45)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise Failure("ws_driver %s exited %d:\n%s" % (" ".join(args), p.returncode, out))
    if ctl["secret"] in out:
        raise Failure("the secret appears in the driver's output:\n" + out)
    return out


def run_agent(ctl, args, until, timeout=30):
    """Run jenkins-agent until it exits, or until the regex `until` shows in its output (then
    stop it with SIGTERM). Returns (exit status, output)."""
    p = subprocess.Popen([ARGS.agent] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=dict(os.environ, AG_TEST_RETRY_MS="300"))
    lines = []
    deadline = time.time() + timeout
    pattern = re.compile(until) if until else None
    try:
        for raw in p.stdout:
            lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            if pattern is not None and pattern.search(lines[-1]):
                p.send_signal(signal.SIGTERM)
                pattern = None
            if time.time() > deadline:
                p.kill()
                raise Failure("jenkins-agent did not finish in %d s:\n%s" % (timeout,
                                                                               "\n".join(lines)))
        rc = p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = "\n".join(lines)
    if ctl["secret"] in out:
        raise Failure("the secret appears in the agent's output:\n" + out)
    return rc, out


def expect_in_order(out, patterns):
    pos = 0
    for pat in patterns:
        m = re.compile(pat, re.M).search(out, pos)
        if m is None:
            raise Failure("missing %r (in order) in the agent's output:\n%s" % (pat, out))
        pos = m.end()


def agent_case(name):
    if name == "agent_wss":
        ctl = Controller("--hold-ms", "800", "--sessions", "2")
        try:
            cred = ["-name", ctl["name"], "-secret", ctl["secret"]]
            for extra in (["-cert", "@" + ctl["cert_file"]], ["-noCertificateCheck"]):
                rc, out = run_agent(ctl, ["-url", ctl["https_url"], "-webSocket", "-noReconnect"]
                                    + extra + cred, None)
                expect_in_order(out, [r"INFO: WebSocket connection open$", r"INFO: Connected$",
                                      r"INFO: Terminated$"])
                if rc != 0:
                    raise Failure("exit status %d, want 0:\n%s" % (rc, out))
        except Failure:
            ctl.stop()
            sys.stderr.write("---- controller log ----\n" + ctl.text())
            raise
        ctl.stop()
    elif name == "agent_min_version":
        # A minimum version above ours stops the agent (exit 1) with agent.jar's sentence, once.
        ctl = Controller("--min-version", "99999.vabc")
        try:
            rc, out = run_agent(ctl, ["-url", ctl["http_url"], "-webSocket", "-name", ctl["name"],
                                      "-secret", ctl["secret"]], None)
            expect_in_order(out, [r"SEVERE: Agent version 99999.vabc or newer is required.$"])
            if out.count("or newer is required") != 1:
                raise Failure("the refusal should be logged once:\n" + out)
            if rc != 1:
                raise Failure("exit status %d, want 1:\n%s" % (rc, out))
        except Failure:
            ctl.stop()
            sys.stderr.write("---- controller log ----\n" + ctl.text())
            raise
        ctl.stop()
    elif name == "agent_reconnect":
        # The controller ends each session after 500 ms; the agent reconnects with the cookie
        # of the first 101, and the controller accepts the second session.
        ctl = Controller("--hold-ms", "500", "--sessions", "2")
        try:
            out = run_until_second_connect(ctl)
            expect_in_order(out, [r"INFO: Connected$", r"INFO: Terminated$",
                                  r"INFO: Performing onReconnect operation.$",
                                  r"INFO: WebSocket connection open$", r"INFO: Connected$"])
        except Failure:
            ctl.stop()
            sys.stderr.write("---- controller log ----\n" + ctl.text())
            raise
        ctl.stop()
    else:
        raise Failure("unknown case " + name)


def run_until_second_connect(ctl):
    p = subprocess.Popen([ARGS.agent, "-url", ctl["http_url"], "-webSocket", "-name", ctl["name"],
                          "-secret", ctl["secret"]], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(os.environ, AG_TEST_RETRY_MS="300"))
    lines = []
    connected = 0
    deadline = time.time() + 30
    try:
        for raw in p.stdout:
            lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            if lines[-1].endswith("INFO: Connected"):
                connected += 1
                if connected == 2:
                    p.send_signal(signal.SIGTERM)
            if time.time() > deadline:
                break
        rc = p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = "\n".join(lines)
    if ctl["secret"] in out:
        raise Failure("the secret appears in the agent's output:\n" + out)
    if rc != 143:  # SIGTERM; anything else is a crash or a sanitizer report
        raise Failure("exit status %d, want 143:\n%s" % (rc, out))
    return out


def case(name):
    if name.startswith("agent_"):
        agent_case(name)
        return
    if name == "keys":
        ctl = Controller()
        ctl.stop()
        return
    extra = ["--scenario", "echo"]
    if name == "ping":
        extra += ["--ws-ping-ms", "200", "--ws-idle-ms", "700"]
    ctl = Controller(*extra)
    try:
        http, https = ctl["http_url"], ctl["https_url"]
        if name == "ws":
            drive(ctl, http)
            drive(ctl, http, "--expect-status", "403", secret="0" * 64)
            cmd = [ARGS.driver, "--url", http, "--name", "no-such-agent", "--secret",
                   ctl["secret"], "--expect-status", "400"]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=45)
            if p.returncode != 0:
                raise Failure(p.stdout.decode("utf-8", "replace"))
            # The second session sends the first one's cookie; the controller keeps it.
            out = drive(ctl, http, "--sessions", "2", "--hold-ms", "100")
            if out.count("echo ok") != 2:
                raise Failure("two sessions expected:\n" + out)
            # The real agent with a wrong secret: one line that says what to fix, retries.
            rc, out = run_agent(ctl, ["-url", http, "-webSocket", "-name", ctl["name"],
                                      "-secret", "0" * 64], r"Waiting .* before retry")
            expect_in_order(out, [r"INFO: Failed to connect: HTTP 403 from /wsagents/: wrong secret"])
            if rc != 143:  # SIGTERM; anything else is a crash or a sanitizer report
                raise Failure("exit status %d, want 143:\n%s" % (rc, out))
        elif name == "wss":
            drive(ctl, https, "--cert", ctl["cert_file"])
            drive(ctl, https, "--insecure")
            # The self-signed controller certificate is not in the system trust store.
            drive(ctl, https, "--expect-preflight-fail")
        elif name == "ping":
            # Pings every 200 ms and a 700 ms idle timeout: a 2 s hold survives only if the
            # pongs go out.
            drive(ctl, http, "--hold-ms", "2000")
        else:
            raise Failure("unknown case " + name)
    except Failure:
        ctl.stop()
        sys.stderr.write("---- controller log ----\n" + ctl.text())
        raise
    ctl.stop()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--java", required=True)
    ap.add_argument("--classes", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("case")
    ARGS = ap.parse_args()
    if not os.path.isdir(ARGS.classes):
        print("controller classes missing: " + ARGS.classes)
        return 77
    os.makedirs(ARGS.keys, exist_ok=True)
    try:
        case(ARGS.case)
    except (Failure, subprocess.TimeoutExpired) as e:
        sys.stderr.write("FAIL: %s\n" % e)
        return 1
    print("ok " + ARGS.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
