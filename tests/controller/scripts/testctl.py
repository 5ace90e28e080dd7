"""The test controller as a Python object, for the end-to-end scripts (tests/net/e2e.py,
tests/ws/e2e.py): start `java nativeagent.testctl.Main`, wait for its state file, read its log,
stop it. Only the Python standard library is used.
"""
import os
import re
import signal
import subprocess
import tempfile
import time


class Failure(Exception):
    pass


def read_state(path):
    """The KEY=VALUE lines of a state file (the controller's, the relay's) as a dict; {} while
    the file does not exist."""
    st = {}
    try:
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    st[k] = v
    except OSError:
        pass
    return st


def read_text(path):
    """The text of a log file; "" while it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


class Controller:
    """A running test controller. EXTRA are its options; JVM are java options placed before
    -cp (system properties). The constructor returns once the state file holds READY_KEY."""

    def __init__(self, java, classes, keys, *extra, jvm=(), ready_key="agent_port",
                 prefix="e2e-ctl-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.state_path = os.path.join(self.dir, "state")
        self.log_path = os.path.join(self.dir, "ctl.log")
        cmd = [java] + list(jvm) + ["-cp", classes, "nativeagent.testctl.Main",
                                    "--state-file", self.state_path, "--keys-dir", keys,
                                    "--timeout-ms", "120000"] + list(extra)
        self.log = open(self.log_path, "w")
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.state = {}
        deadline = time.time() + 40
        while time.time() < deadline:
            if os.path.exists(self.state_path) and os.path.getsize(self.state_path) > 0:
                time.sleep(0.05)  # the state file is written in one go, but not atomically
                self.state.update(read_state(self.state_path))
                if ready_key in self.state:
                    return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise Failure("the controller did not start:\n" + self.text())

    def __getitem__(self, k):
        return self.state[k]

    def text(self):
        return read_text(self.log_path)

    def wait_log(self, regex, timeout=30, count=1):
        """Wait until COUNT lines of the controller's log match REGEX."""
        r = re.compile(regex)
        deadline = time.time() + timeout
        while True:
            if sum(1 for l in self.text().split("\n") if r.search(l)) >= count:
                return
            if time.time() > deadline or self.p.poll() is not None:
                raise Failure("no controller line matching /%s/ (x%d) within %ss"
                                      % (regex, count, timeout))
            time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
