#!/usr/bin/env python3
"""End-to-end tests of jenkins-agent against the test controller (tests/controller).

usage: e2e.py --agent BIN --java JAVA --classes DIR --keys DIR CASE

Each case starts the controller (java nativeagent.testctl.Main), waits for its state file,
runs jenkins-agent, and checks the agent's log lines and exit status. Exit 0 on success, 1 on
failure (with the agent's and the controller's logs), 77 when the controller is not built.
With E2E_SHOW=1 in the environment, a passing case prints the agents' logs too.
Only the Python standard library is used.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# The shared controller wrapper: tests/controller/scripts/testctl.py.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "controller",
                                "scripts"))
import testctl  # noqa: E402
from testctl import Failure  # noqa: E402

# An RSA SPKI that is not the controller's (the one of golden/09-http-response.txt).
OTHER_IDENTITY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1ZvCf2TFkfG6M/Q2If5fW1T/p7u2zHVrOaXmP80qDfdwB7Fi"
    "iLiNyhvKhjfFdJu5pBjWkYgrYRqq2yXBLp8VhRH3WSGILVJWK6hBm1Hy4Q7ZJoPMXo0JWUNn+8A+mRyJH5HyKDfqxKqf"
    "28NJ5Mms4VyFFPOb0HQtH+79UksV3FYSYpRMdRqvXF+M90zZFaCGqEA97BxdEVKmr5yEu0oVuwjaBVzn21bNn3hgfpEH"
    "GYhMM5kyDLdLgtY6ZJv0QaKr2i832+CEc5I6U9CCG/CB++6Gl6R71J/mR8cMaTvrYbNEpfwcdAHMYbCTb8ugiHJ0X1It"
    "LmpZ4k63biyNAPAwlQIDAQAB")
WRONG_SECRET = "fedcba9876543210" * 4

ARGS = None
STARTED = []  # every Agent and Controller, for the failure report


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Controller(testctl.Controller):
    def __init__(self, *extra, jvm=()):
        super().__init__(ARGS.java, ARGS.classes, ARGS.keys, *extra, jvm=jvm)
        STARTED.append(self)


class Agent:
    def __init__(self, *args, env=None):
        e = dict(os.environ)
        e.setdefault("AG_TEST_RETRY_MS", "500")
        if env:
            e.update(env)
        STARTED.append(self)
        self.lines = []
        self.times = []  # time.time() at which each line was read
        self.cond = threading.Condition()
        self.p = subprocess.Popen([ARGS.agent] + list(args), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.times.append(time.time())
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(self.lines)

    def count(self, regex):
        r = re.compile(regex)
        with self.cond:
            return sum(1 for l in self.lines if r.search(l))

    def wait_line(self, regex, timeout=20, count=1):
        """Wait for the COUNT-th line matching REGEX; return the time it was read."""
        r = re.compile(regex)
        deadline = time.time() + timeout
        with self.cond:
            while True:
                hits = [t for l, t in zip(self.lines, self.times) if r.search(l)]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.time()
                if left <= 0 or (self.p.poll() is not None and not self.t.is_alive()):
                    raise Failure("no line matching /%s/ (x%d) within %ss" % (regex, count, timeout))
                self.cond.wait(min(left, 0.2))

    def wait_exit(self, timeout=20):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("the agent did not exit within %ss" % timeout)
        self.t.join(5)
        return rc

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        return self.wait_exit(10)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def expect_in_order(agent, patterns):
    lines = agent.text().split("\n")
    i = 0
    for pat in patterns:
        r = re.compile(pat)
        while i < len(lines) and not r.search(lines[i]):
            i += 1
        check(i < len(lines), "line /%s/ missing or out of order" % pat)
        i += 1


def no_secret(agent, secret):
    check(secret not in agent.text(), "the secret appears in the agent's output")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cred(ctl):
    return ["-name", ctl["name"], "-secret", ctl["secret"]]


# ---- cases ----

def case_keys():
    ctl = Controller()
    ctl.stop()


def case_url_http():
    ctl = Controller("--hold-ms", "1500")
    try:
        a = Agent("-url", ctl["http_url"], "-noReconnect", *cred(ctl))
        rc = a.wait_exit(30)
        url = re.escape(ctl["http_url"])
        port = ctl["agent_port"]
        expect_in_order(a, [
            r"INFO: Locating server among \[%s\]$" % url,
            r"INFO: Remoting server accepts the following protocols: \[JNLP4-connect, Ping\]$",
            r"INFO: Agent discovery successful$",
            r"INFO:   Agent address: 127\.0\.0\.1$",
            r"INFO:   Agent port:    %s$" % port,
            r"INFO:   Identity:      ([0-9a-f]{2}:){15}[0-9a-f]{2}$",
            r"INFO: Handshaking$",
            r"INFO: Server reports protocol JNLP4-connect-proxy not supported, skipping$",
            r"INFO: Trying protocol: JNLP4-connect$",
            r"INFO: Connecting to 127\.0\.0\.1:%s$" % port,
            r"INFO: Remote identity confirmed: ([0-9a-f]{2}:){15}[0-9a-f]{2}$",
            r"INFO: Connected$",
            r"INFO: Terminated$",
        ])
        check(rc == 0, "exit status %d, want 0 (-noReconnect after a session)" % rc)
        no_secret(a, ctl["secret"])
    finally:
        ctl.stop()
    return a, ctl


def case_url_https():
    ctl = Controller("--https", "--hold-ms", "1500")
    try:
        check("https_url" in ctl.state and "cert_file" in ctl.state, "no https_url in the state")
        a = Agent("-url", ctl["https_url"], "-cert", "@" + ctl["cert_file"], "-noReconnect",
                  *cred(ctl))
        rc = a.wait_exit(30)
        expect_in_order(a, [r"Locating server among \[https://", r"INFO: Connected$",
                            r"INFO: Terminated$"])
        check(rc == 0, "exit status %d, want 0" % rc)
        # Without -cert the self-signed certificate is not trusted.
        b = Agent("-url", ctl["https_url"], "-noReconnect", *cred(ctl))
        rc = b.wait_exit(30)
        check(b.count(r"certificate verification failed") == 1,
              "no certificate failure line:\n" + b.text())
        check(rc == 1, "exit status %d, want 1 (discovery failed with -noReconnect)" % rc)
        # -noCertificateCheck: loud warning, then it works.
        c = Agent("-url", ctl["https_url"], "-noCertificateCheck", "-noReconnect", *cred(ctl))
        rc = c.wait_exit(30)
        check(c.count(r"WARNING: Certificate validation for HTTPs endpoints is disabled") == 1,
              "no -noCertificateCheck warning")
        check(c.count(r"INFO: Connected$") == 1 and rc == 0, "-noCertificateCheck run failed")
    finally:
        ctl.stop()
    return a, ctl


def case_direct():
    ctl = Controller("--hold-ms", "1500")
    try:
        a = Agent("-direct", "127.0.0.1:" + ctl["agent_port"], "-instanceIdentity",
                  ctl["identity"], "-protocols", "JNLP4-connect", "-noReconnect", *cred(ctl))
        rc = a.wait_exit(30)
        expect_in_order(a, [r"INFO: Locating server among \[\]$",
                            r"INFO: Agent discovery successful$",
                            r"INFO: Handshaking$", r"INFO: Trying protocol: JNLP4-connect$",
                            r"INFO: Remote identity confirmed: ", r"INFO: Connected$",
                            r"INFO: Terminated$"])
        check(rc == 0, "exit status %d, want 0" % rc)
        check(a.count(r"tcpSlaveAgentListener") == 0, "direct mode made an HTTP request")
    finally:
        ctl.stop()
    return a, ctl


def case_direct_all_protocols():
    """-direct without -protocols tries JNLP4-connect-proxy first, as agent.jar does."""
    ctl = Controller("--hold-ms", "1000")
    try:
        a = Agent("-direct", "127.0.0.1:" + ctl["agent_port"], "-instanceIdentity",
                  ctl["identity"], "-noReconnect", *cred(ctl))
        rc = a.wait_exit(30)
        expect_in_order(a, [r"INFO: Trying protocol: JNLP4-connect-proxy$",
                            r"Incorrect acknowledgement sequence",
                            r"INFO: Trying protocol: JNLP4-connect$", r"INFO: Connected$"])
        check(rc == 0, "exit status %d, want 0" % rc)
    finally:
        ctl.stop()
    return a, ctl


def case_wrong_secret():
    ctl = Controller()
    try:
        a = Agent("-url", ctl["http_url"], "-noReconnect", "-name", ctl["name"], "-secret",
                  WRONG_SECRET)
        rc = a.wait_exit(30)
        check(a.count(r"WARNING: Local headers refused by remote: Authorization failure") == 1,
              "no single refusal line")
        check(a.count(r"INFO: Connected") == 0, "connected with a wrong secret")
        check(rc == 0, "exit status %d, want 0 (agent.jar: rejected + -noReconnect)" % rc)
        no_secret(a, WRONG_SECRET)
    finally:
        ctl.stop()
    return a, ctl


def case_unknown_name():
    ctl = Controller()
    try:
        a = Agent("-url", ctl["http_url"], "-noReconnect", "-name", "nobody", "-secret",
                  ctl["secret"])
        rc = a.wait_exit(30)
        check(a.count(r"WARNING: Local headers refused by remote: Unknown client name: nobody") == 1,
              "no single refusal line")
        check(rc == 0, "exit status %d, want 0" % rc)
    finally:
        ctl.stop()
    return a, ctl


def case_wrong_identity():
    ctl = Controller()
    try:
        a = Agent("-direct", "127.0.0.1:" + ctl["agent_port"], "-instanceIdentity",
                  OTHER_IDENTITY, "-protocols", "JNLP4-connect", "-noReconnect", *cred(ctl))
        rc = a.wait_exit(30)
        check(a.count(r"WARNING: .*is not the expected controller.*check -instanceIdentity") == 1,
              "no single identity line")
        check(a.count(r"INFO: Connected") == 0, "connected to the wrong controller")
        check(rc == 0, "exit status %d, want 0" % rc)
        b = Agent("-direct", "127.0.0.1:" + ctl["agent_port"], "-instanceIdentity", "not*base64",
                  *cred(ctl))
        rc = b.wait_exit(10)
        check(b.count(r"SEVERE: Invalid instanceIdentity\.") == 1 and rc == 1,
              "bad -instanceIdentity: status %d" % rc)
    finally:
        ctl.stop()
    return a, ctl


def case_dead_port():
    port = free_port()
    a = Agent("-direct", "127.0.0.1:%d" % port, "-instanceIdentity", OTHER_IDENTITY,
              "-protocols", "JNLP4-connect", "-noReconnect", "-name", "x", "-secret", WRONG_SECRET)
    rc = a.wait_exit(30)
    check(a.count(r"WARNING: Protocol JNLP4-connect: cannot connect to 127\.0\.0\.1:%d: "
                  r"connection refused" % port) == 1, "no single connect failure line")
    check(rc == 0, "exit status %d, want 0" % rc)
    b = Agent("-url", "http://127.0.0.1:%d/" % port, "-noReconnect", "-name", "x", "-secret",
              WRONG_SECRET)
    rc = b.wait_exit(30)
    check(b.count(r"SEVERE: Could not locate server among \[http://127\.0\.0\.1:%d/\]: Failed "
                  r"to connect to http://127\.0\.0\.1:%d/tcpSlaveAgentListener/: connection "
                  r"refused" % (port, port)) == 1, "no single discovery failure line")
    check(rc == 1, "exit status %d, want 1 (discovery failure with -noReconnect)" % rc)
    # Without -noReconnect: retries until stopped; SIGTERM ends it with 143.
    c = Agent("-url", "http://127.0.0.1:%d/" % port, "-name", "x", "-secret", WRONG_SECRET)
    c.wait_line(r"Could not locate server among .*; waiting 500 milliseconds before retry",
                count=2)
    rc = c.stop()
    check(rc == 143, "exit status %d after SIGTERM, want 143" % rc)
    return a, None


def start_tinyproxy(auth):
    """tinyproxy on 127.0.0.1 with a temporary configuration; returns (process, port, log)."""
    exe = None
    for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin", "/usr/sbin"]:
        if os.access(os.path.join(d, "tinyproxy"), os.X_OK):
            exe = os.path.join(d, "tinyproxy")
            break
    if exe is None:
        return None, 0, None
    tmp = tempfile.mkdtemp(prefix="e2e-proxy-")
    port = free_port()
    conf = os.path.join(tmp, "tinyproxy.conf")
    with open(conf, "w") as f:
        f.write("Port %d\nListen 127.0.0.1\nTimeout 60\nLogLevel Info\nMaxClients 20\n"
                "Allow 127.0.0.1\n" % port)
        if auth:
            f.write("BasicAuth %s %s\n" % auth)
    log = os.path.join(tmp, "tinyproxy.log")
    p = subprocess.Popen([exe, "-d", "-c", conf], stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return p, port, log
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise Failure("tinyproxy did not start")


def case_proxy():
    """http_proxy and -proxyCredentials through a real tinyproxy (transport.md 3.8). The URL
    names the controller by a host name other than localhost (loopback IPs and localhost are
    never proxied), here the machine's own name when it resolves to 127.0.0.1."""
    name = socket.gethostname()
    try:
        if socket.gethostbyname(name) != "127.0.0.1":
            raise OSError
    except OSError:
        name = None
    tp, port, log = start_tinyproxy(("alice", "s3cret"))
    if tp is None or name is None:
        print("no tinyproxy, or the host name does not resolve to 127.0.0.1; skipping")
        sys.exit(77)
    ctl = Controller("--hold-ms", "1500")
    try:
        url = ctl["http_url"].replace("127.0.0.1", name)
        env = {"http_proxy": "http://127.0.0.1:%d" % port, "no_proxy": "example.com"}
        a = Agent("-url", url, "-noReconnect", "-proxyCredentials", "alice:s3cret", *cred(ctl),
                  env=env)
        rc = a.wait_exit(30)
        expect_in_order(a, [r"INFO: Connecting to %s:%s$" % (re.escape(name), ctl["agent_port"]),
                            r"INFO: Connected$", r"INFO: Terminated$"])
        check(rc == 0, "exit status %d, want 0" % rc)
        with open(log) as f:
            text = f.read()
        check(text.count("CONNECT %s:%s" % (name, ctl["agent_port"])) >= 2,
              "the probe and the connection did not go through the proxy:\n" + text[-2000:])
        check("GET http://%s" % name in text or "tcpSlaveAgentListener" in text,
              "discovery did not go through the proxy")
        no_secret(a, "s3cret")
        # Wrong proxy credentials: one clear line, nothing connects.
        b = Agent("-url", url, "-noReconnect", "-proxyCredentials", "alice:wrong", *cred(ctl),
                  env=env)
        rc = b.wait_exit(30)
        check(b.count(r"SEVERE: Could not locate server among .*(407|401)") == 1,
              "no single proxy refusal line")
        check(rc == 1, "exit status %d, want 1" % rc)
        # no_proxy exempts the host: no proxy, so it connects directly (and the proxy sees nothing
        # new).
        time.sleep(0.5)
        with open(log) as f:
            before = len(re.findall(r"Request \(file descriptor \d+\)", f.read()))
        c = Agent("-url", url, "-noReconnect", *cred(ctl),
                  env={"http_proxy": "http://127.0.0.1:%d" % port, "no_proxy": name})
        rc = c.wait_exit(30)
        check(c.count(r"INFO: Connected$") == 1 and rc == 0, "no_proxy run failed")
        with open(log) as f:
            after = len(re.findall(r"Request \(file descriptor \d+\)", f.read()))
        check(after == before, "no_proxy host went through the proxy")
    finally:
        ctl.stop()
        tp.terminate()
        tp.wait()
    return a, ctl


def self_name():
    """A host name for this machine that resolves to 127.0.0.1 (loopback names and IPs are never
    proxied, so the proxy tests need another name), or None."""
    name = socket.gethostname()
    try:
        if socket.gethostbyname(name) != "127.0.0.1":
            return None
    except OSError:
        return None
    return name


def proxy_requests(log):
    with open(log) as f:
        return len(re.findall(r"Request \(file descriptor \d+\)", f.read()))


class BadProxy:
    """A fake HTTP proxy that reads a request head, then answers with reply (bytes) and closes;
    reply None closes at once."""

    def __init__(self, reply):
        self.reply = reply
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            try:
                c.settimeout(5)
                head = b""
                while b"\r\n\r\n" not in head:
                    d = c.recv(4096)
                    if not d:
                        break
                    head += d
                if self.reply is not None:
                    c.sendall(self.reply)
            except OSError:
                pass
            c.close()

    def close(self):
        self.srv.close()


def case_ws_proxy():
    """WebSocket through a real tinyproxy (transport.md 3.8): proxy host from env proxy_host or
    -Dhttp.proxyHost, port from -Dhttp.proxyPort (JAVA_OPTS), Proxy-Authorization from
    -proxyCredentials; no_proxy bypasses it and env http_proxy is never used for WebSocket."""
    name = self_name()
    tp, port, log = start_tinyproxy(("alice", "s3cret"))
    if tp is None or name is None:
        print("no tinyproxy, or the host name does not resolve to 127.0.0.1; skipping")
        sys.exit(77)
    tp2, port2, log2 = start_tinyproxy(None)
    ctl = Controller("--hold-ms", "1500")
    try:
        url = ctl["http_url"].replace("127.0.0.1", name)
        hp = http_port(ctl["http_url"])
        # 1. env proxy_host + -Dhttp.proxyPort, with credentials. The pre-flight GET /login is a
        #    plain URLConnection: no JVM proxy host, so it goes direct.
        env = {"proxy_host": "127.0.0.1", "JAVA_OPTS": "-Xmx64m -Dhttp.proxyPort=%d" % port,
               "no_proxy": "example.com"}
        a = Agent("-url", url, "-webSocket", "-noReconnect", "-proxyCredentials", "alice:s3cret",
                  *cred(ctl), env=env)
        rc = a.wait_exit(30)
        expect_in_order(a, [r"INFO: WebSocket connection open$", r"INFO: Connected$",
                            r"INFO: Terminated$"])
        check(rc == 0, "exit status %d, want 0" % rc)
        with open(log) as f:
            text = f.read()
        check(text.count("CONNECT %s:%d" % (name, hp)) == 1,
              "the upgrade did not go through the proxy:\n" + text[-2000:])
        check(len(re.findall(r"Request \(file descriptor \d+\): ", text)) == 1,
              "the pre-flight went through the proxy")
        no_secret(a, "s3cret")
        # 2. Wrong credentials: the proxy refuses the CONNECT; one clear line per attempt.
        b = Agent("-url", url, "-webSocket", "-proxyCredentials", "alice:wrong", *cred(ctl),
                  env=env)
        b.wait_line(r"Failed to connect: HTTP proxy 127\.0\.0\.1:%d did not answer 200" % port,
                    30)
        rc = b.stop()
        check(rc == 143 and b.count(r"AddressSanitizer|runtime error|SEVERE") == 0,
              "wrong-credentials run: exit status %d or an error in its log" % rc)
        # Hostile proxies: garbage instead of a status line, a short reply, or a close. One
        # clear line each, retries go on, nothing crashes.
        for reply, want in ((b"\x00\x01garbage\r\n\r\n", "did not answer 200"),
                            (b"HTTP/1.1 2", "did not answer 200"),
                            (None, "(did not answer 200|closed or failed the connection)")):
            bad = BadProxy(reply)
            e = Agent("-url", url, "-webSocket", *cred(ctl),
                      env={"proxy_host": "127.0.0.1", "JAVA_OPTS": "-Dhttp.proxyPort=%d" % bad.port})
            e.wait_line(r"Failed to connect: HTTP proxy 127\.0\.0\.1:%d %s" % (bad.port, want),
                        30, count=2)
            rc = e.stop()
            bad.close()
            check(rc == 143 and e.count(r"AddressSanitizer|runtime error|SEVERE") == 0,
                  "bad proxy %r: exit status %d or an error in its log" % (reply, rc))
        # 3. no_proxy names the host, and env http_proxy (never used for WebSocket) is set too:
        #    nothing goes through either proxy.
        before = proxy_requests(log)
        c = Agent("-url", url, "-webSocket", "-noReconnect", *cred(ctl),
                  env={"proxy_host": "127.0.0.1", "JAVA_OPTS": "-Dhttp.proxyPort=%d" % port,
                       "no_proxy": name, "http_proxy": "http://127.0.0.1:%d" % port2})
        rc = c.wait_exit(30)
        check(c.count(r"INFO: Connected$") == 1 and rc == 0, "no_proxy run failed")
        check(proxy_requests(log) == before, "a no_proxy host went through the proxy")
        check(proxy_requests(log2) == 0, "env http_proxy was used for WebSocket")
        # 4. -Dhttp.proxyHost/-Dhttp.proxyPort in JENKINS_JAVA_OPTS (which wins over JAVA_OPTS),
        #    a proxy without authentication: the pre-flight (JDK proxy) and the upgrade both go
        #    through it.
        d = Agent("-url", url, "-webSocket", "-noReconnect", *cred(ctl),
                  env={"JENKINS_JAVA_OPTS": "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=%d"
                       % port2, "JAVA_OPTS": "-Dhttp.proxyPort=1"})
        rc = d.wait_exit(30)
        check(d.count(r"INFO: Connected$") == 1 and rc == 0, "-Dhttp.proxyHost run failed")
        with open(log2) as f:
            text = f.read()
        # lws tunnels the pre-flight with CONNECT too (the JDK would send GET http://...).
        check(text.count("CONNECT %s:%d" % (name, hp)) == 2,
              "pre-flight and upgrade did not both go through the proxy:\n" + text[-2000:])
    finally:
        ctl.stop()
        for p in (tp, tp2):
            p.terminate()
            p.wait()
    return a, ctl


def case_jvm_proxy():
    """TCP mode with the proxy in JAVA_OPTS (-Dhttp.proxyHost/-Dhttp.proxyPort), as users of the
    inbound-agent image set it: discovery, probe and connection go through tinyproxy with
    -proxyCredentials; -Dhttp.nonProxyHosts exempts the host from it and from env http_proxy."""
    name = self_name()
    tp, port, log = start_tinyproxy(("alice", "s3cret"))
    if tp is None or name is None:
        print("no tinyproxy, or the host name does not resolve to 127.0.0.1; skipping")
        sys.exit(77)
    ctl = Controller("--https", "--hold-ms", "1500")
    try:
        url = ctl["http_url"].replace("127.0.0.1", name)
        opts = "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=%d" % port
        a = Agent("-url", url, "-noReconnect", *cred(ctl),
                  env={"JAVA_OPTS": opts + " -DproxyCredentials=alice:s3cret"})
        rc = a.wait_exit(30)
        expect_in_order(a, [r"INFO: Connecting to %s:%s$" % (re.escape(name), ctl["agent_port"]),
                            r"INFO: Connected$", r"INFO: Terminated$"])
        check(rc == 0, "exit status %d, want 0" % rc)
        with open(log) as f:
            text = f.read()
        check(text.count("CONNECT %s:%s" % (name, ctl["agent_port"])) >= 2,
              "the probe and the connection did not go through the proxy:\n" + text[-2000:])
        check("tcpSlaveAgentListener" in text, "discovery did not go through the proxy")
        no_secret(a, "s3cret")
        before = proxy_requests(log)
        b = Agent("-url", url, "-noReconnect", *cred(ctl),
                  env={"JAVA_OPTS": opts + " -Dhttp.nonProxyHosts=foo|*%s" % name[1:],
                       "http_proxy": "http://127.0.0.1:%d" % port})
        rc = b.wait_exit(30)
        check(b.count(r"INFO: Connected$") == 1 and rc == 0, "nonProxyHosts run failed")
        check(proxy_requests(log) == before, "a nonProxyHosts host went through a proxy")
        # https:// discovery uses -Dhttps.proxyHost (CONNECT); the agent port only ever the
        # http.proxyHost selector, so it connects directly here.
        hurl = ctl["https_url"].replace("127.0.0.1", name)
        c = Agent("-url", hurl, "-noReconnect", "-noCertificateCheck", "-proxyCredentials",
                  "alice:s3cret", *cred(ctl),
                  env={"JAVA_OPTS": "-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=%d" % port})
        rc = c.wait_exit(30)
        check(c.count(r"INFO: Connected$") == 1 and rc == 0, "https.proxyHost run failed")
        with open(log) as f:
            text = f.read()
        check(text.count("CONNECT %s:%d" % (name, http_port(ctl["https_url"]))) == 1,
              "https discovery did not go through the proxy:\n" + text[-2000:])
        check(text.count("CONNECT %s:%s" % (name, ctl["agent_port"])) == 2,
              "the agent port went through the https proxy")
    finally:
        ctl.stop()
        tp.terminate()
        tp.wait()
    return a, ctl


def case_redirect():
    """Discovery follows same-scheme redirects as Java's HttpURLConnection does (transport.md
    3.2): 301/302 with a relative or absolute Location, at most 20; http -> https and 308 are not
    followed and show as a non-200 (the controller's --redirects paths)."""
    ctl = Controller("--redirects", "--hold-ms", "1500")
    try:
        base = ctl["http_url"]
        a = Agent("-url", base + "abs/moved/", "-noReconnect", *cred(ctl))
        fails = {}
        for path, want in (("loop/", r"Failed to connect to %sloop/tcpSlaveAgentListener/: Server "
                                     r"redirected too many times \(20\)"),
                           ("to-https/", r"%sto-https/tcpSlaveAgentListener/ is invalid: 301 "
                                         r"Moved Permanently"),
                           ("perm/", r"%sperm/tcpSlaveAgentListener/ is invalid: 308 "
                                     r"Permanent Redirect")):
            fails[path] = (Agent("-url", base + path, "-noReconnect", *cred(ctl)),
                           want % re.escape(base))
        rc = a.wait_exit(30)
        expect_in_order(a, [r"INFO: Locating server among \[%sabs/moved/\]$" % re.escape(base),
                            r"INFO: Connecting to 127\.0\.0\.1:%s$" % ctl["agent_port"],
                            r"INFO: Connected$", r"INFO: Terminated$"])
        check(rc == 0, "exit status %d, want 0" % rc)
        text = ctl.text()
        check("GET /abs/moved/tcpSlaveAgentListener/ -> 301" in text and
              "GET /moved/tcpSlaveAgentListener/ -> 302" in text,
              "the redirects were not followed:\n" + text[-2000:])
        for path, (b, want) in fails.items():
            rc = b.wait_exit(30)
            check(b.count(r"SEVERE: Could not locate server among .*" + want) == 1,
                  "no single line /%s/" % want)
            check(rc == 1, "%s: exit status %d, want 1" % (path, rc))
        check(ctl.text().count("GET /loop/tcpSlaveAgentListener/ -> 302") == 21,
              "not 1 + 20 requests on the redirect loop")
    finally:
        ctl.stop()
    return a, ctl


def case_websocket():
    ctl = Controller("--hold-ms", "1500")
    try:
        a = Agent("-url", ctl["http_url"], "-webSocket", "-noReconnect", *cred(ctl))
        rc = a.wait_exit(30)
        expect_in_order(a, [r"INFO: WebSocket connection open$", r"INFO: Connected$",
                            r"INFO: Terminated$"])
        check(rc == 0, "exit status %d, want 0" % rc)
        no_secret(a, ctl["secret"])
    finally:
        ctl.stop()
    return a, ctl


class Forwarder:
    """A TCP relay on a fixed port to whatever controller HTTP port is current."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.target = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            u = socket.create_connection(("127.0.0.1", self.target), 5)
        except (OSError, TypeError):
            c.close()
            return

        def pump(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
            except OSError:
                pass
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        threading.Thread(target=pump, args=(u, c), daemon=True).start()


def http_port(url):
    return int(re.match(r"https?://[^:/]+:(\d+)/", url).group(1))


def case_restart():
    """The controller dies and comes back (same identity, new agent port): the agent reconnects."""
    fwd = Forwarder()
    ctl = Controller()
    ctl2 = None
    try:
        fwd.target = http_port(ctl["http_url"])
        url = "http://127.0.0.1:%d/" % fwd.port
        a = Agent("-url", url, *cred(ctl))
        a.wait_line(r"INFO: Connected$", 30)
        ctl.stop(signal.SIGKILL)
        a.wait_line(r"INFO: Terminated$", 20)
        a.wait_line(r"Failed to connect to %s\. Will try again: " % re.escape(url), 20)
        ctl2 = Controller()
        fwd.target = http_port(ctl2["http_url"])
        a.wait_line(r"INFO: Connected$", 30, count=2)
        expect_in_order(a, [r"INFO: Connected$", r"INFO: Terminated$",
                            r"INFO: Performing onReconnect operation\.$",
                            r"INFO: onReconnect operation completed\.$",
                            r"INFO: Locating server among", r"INFO: Connecting to 127\.0\.0\.1:%s$"
                            % ctl2["agent_port"], r"INFO: Connected$"])
        rc = a.stop()
        check(rc == 143, "exit status %d after SIGTERM, want 143" % rc)
    finally:
        ctl.stop()
        if ctl2 is not None:
            ctl2.stop()
    return a, ctl


class Relay:
    """The test controller's TCP relay (nativeagent.testctl.net.Relay) to 127.0.0.1:TARGET,
    switched between pass, freeze, drop, close and refuse through its control file."""

    def __init__(self, target):
        self.dir = tempfile.mkdtemp(prefix="e2e-relay-")
        self.state_path = os.path.join(self.dir, "state")
        self.control_path = os.path.join(self.dir, "control")
        self.log_path = os.path.join(self.dir, "relay.log")
        STARTED.append(self)
        self.log = open(self.log_path, "w")
        self.p = subprocess.Popen([ARGS.java, "-cp", ARGS.classes, "nativeagent.testctl.net.Relay",
                                   "--state-file", self.state_path, "--target",
                                   "127.0.0.1:%d" % target, "--control", self.control_path],
                                  stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while "port" not in self.state():
            if time.time() > deadline or self.p.poll() is not None:
                self.stop()
                raise Failure("the relay did not start:\n" + self.text())
            time.sleep(0.05)
        self.port = int(self.state()["port"])

    def state(self):
        return testctl.read_state(self.state_path)

    def text(self):
        return testctl.read_text(self.log_path)

    def command(self, cmd):
        """Apply CMD and return the time the relay confirmed it (its commands count grew)."""
        before = int(self.state().get("commands", "0"))
        with open(self.control_path + ".tmp", "w") as f:
            f.write("%s %d\n" % (cmd, before))  # the count makes every write a change
        os.replace(self.control_path + ".tmp", self.control_path)
        deadline = time.time() + 10
        while int(self.state().get("commands", "0")) <= before:
            if time.time() > deadline:
                raise Failure("the relay did not apply '%s'" % cmd)
            time.sleep(0.02)
        return time.time()

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.log.close()


# The ChannelPinger settings of the stall cases (Jenkins' defaults are 300 s and 240 s; the
# controller passes them to the agent in SetUpRemotePing, like Jenkins).
PING_INTERVAL_S = 2
PING_TIMEOUT_S = 5
# Lines that fail a stall case: a crash, a sanitizer report, or handles left open at exit.
STALL_ERRORS = (r"SEVERE|AddressSanitizer|LeakSanitizer|runtime error|did not close within|"
                r"handles still open")
# What the agent logs when its ping to the controller times out (remoting/channel.c): agent.jar's
# line, then ours with the reason.
PING_FAILED = r"INFO: Ping failed\. Terminating the channel test-agent\.$"
PING_DEAD = r"WARNING: test-agent: closing the link: ping to the controller timed out after %d ms$" % (
    PING_TIMEOUT_S * 1000)


def stop_clean(a):
    """Stop agent A with SIGTERM: it must exit with 143 and its log hold no STALL_ERRORS line."""
    rc = a.stop()
    check(rc == 143, "exit status %d after SIGTERM, want 143" % rc)
    check(a.count(STALL_ERRORS) == 0, "error in the agent log")


def check_ping_lines(a):
    expect_in_order(a, [r"INFO: Connected$", PING_FAILED, PING_DEAD, r"INFO: Terminated$"])
    check(a.count(PING_FAILED) == 1 and a.count(PING_DEAD) == 1, "not one ping failure:\n"
          + a.text())


def stall_controller(*jvm):
    return Controller("--scenario", "online:120000", jvm=[
        "-Dhudson.slaves.ChannelPinger.pingIntervalSeconds=%d" % PING_INTERVAL_S,
        "-Dhudson.slaves.ChannelPinger.pingTimeoutSeconds=%d" % PING_TIMEOUT_S] + list(jvm))


def stall_and_recover(a, ctl, relay, handshake_line):
    """The agent is connected through RELAY: wait until it is online and pinging, freeze the
    link, check that the agent's ping times out within interval + timeout and that it ends the
    session; while the link stays frozen its next handshake must time out with HANDSHAKE_LINE;
    then thaw and check it comes back online by itself. Prints the measured times."""
    ctl.wait_log(r"online: SetUpRemotePing: interval %d s, timeout %d s"
                 % (PING_INTERVAL_S, PING_TIMEOUT_S), 40)
    ctl.wait_log(r"online: node is online", 30)
    # The agent's pinger runs: its first ping reached the controller.
    ctl.wait_log(r"a2c UserRequest\(.*, Ping\)", PING_INTERVAL_S + 20)
    check(a.count(r"INFO: Terminated$") == 0, "the session ended before the freeze:\n" + a.text())
    t_freeze = relay.command("freeze")
    t_dead = a.wait_line(PING_DEAD, PING_INTERVAL_S + PING_TIMEOUT_S + 15)
    t_term = a.wait_line(r"INFO: Terminated$", 20)
    check_ping_lines(a)
    detect = t_dead - t_freeze
    print("ping timeout logged %.1f s after the freeze, Terminated after %.1f s (bound %d s), "
          "%.2f s after the ping line" % (detect, t_term - t_freeze,
                                          PING_INTERVAL_S + PING_TIMEOUT_S, t_term - t_dead))
    # Margin for a loaded 2-core machine under ASan: the bound is interval + timeout.
    check(detect <= PING_INTERVAL_S + PING_TIMEOUT_S + 4,
          "the dead link was detected after %.1f s, bound %d s" % (
              detect, PING_INTERVAL_S + PING_TIMEOUT_S))
    # A dead peer's link is aborted, not closed in order: no TLS close to flush, no WebSocket
    # close handshake to wait for (which took 5 s before). Margin for ASan on a loaded machine.
    check(t_term - t_dead <= 1.5, "Terminated %.1f s after the ping timeout, bound 1.5 s"
          % (t_term - t_dead))
    # Still frozen: the reconnection's handshake stalls and must time out, then retry.
    t_hs = a.wait_line(handshake_line, 45)
    print("frozen handshake given up %.1f s after Terminated" % (t_hs - t_term))
    relay.command("pass")
    a.wait_line(r"INFO: Connected$", 40, count=2)
    ctl.wait_log(r"session 2 \(", 20)
    ctl.wait_log(r"online: node is online", 40, count=2)
    check(a.count(r"INFO: Connected$") == 2, "more than one reconnection:\n" + a.text())
    stop_clean(a)


def case_stall_tcp():
    """JNLP4 through a relay (-tunnel) that freezes after the node is online."""
    ctl = stall_controller()
    relay = Relay(int(ctl["agent_port"]))
    try:
        a = Agent("-url", ctl["http_url"], "-tunnel", "127.0.0.1:%d" % relay.port, *cred(ctl),
                  env={"AG_TEST_STEP_MS": "5000"})
        a.wait_line(r"INFO: Connected$", 40)
        stall_and_recover(a, ctl, relay, r"WARNING: Protocol JNLP4-connect: Timeout waiting for "
                          r"ACK \(nothing came back from 127\.0\.0\.1:%d: " % relay.port)
    finally:
        relay.stop()
        ctl.stop()
    return a, ctl


def case_stall_ws():
    """WebSocket through a relay of the HTTP port that freezes after the node is online."""
    ctl = stall_controller()
    relay = Relay(http_port(ctl["http_url"]))
    try:
        a = Agent("-url", "http://127.0.0.1:%d/" % relay.port, "-webSocket", *cred(ctl),
                  env={"AG_TEST_STEP_MS": "5000"})
        a.wait_line(r"INFO: Connected$", 40)
        stall_and_recover(a, ctl, relay, r"INFO: http://127\.0\.0\.1:%d/login is not ready: "
                          r"no answer from 127\.0\.0\.1:%d within 5 seconds$"
                          % (relay.port, relay.port))
    finally:
        relay.stop()
        ctl.stop()
    return a, ctl


def case_stall_stop():
    """SIGTERM while a handshake hangs on a frozen link (JNLP4 in its ACK step, WebSocket in
    its pre-flight, then in a stalled session): the agent stops at once, status 143, and
    frees everything (the ASan build fails the exit status on a leak)."""
    ctl = stall_controller()
    tcp = Relay(int(ctl["agent_port"]))
    web = Relay(http_port(ctl["http_url"]))
    try:
        tcp.command("freeze")
        web.command("freeze")
        a = Agent("-url", ctl["http_url"], "-tunnel", "127.0.0.1:%d" % tcp.port, *cred(ctl))
        a.wait_line(r"INFO: Connecting to 127\.0\.0\.1:%d$" % tcp.port, 30)
        time.sleep(0.5)
        b = Agent("-url", "http://127.0.0.1:%d/" % web.port, "-webSocket", *cred(ctl))
        time.sleep(1.5)
        for x, what in ((a, "JNLP4 ACK step"), (b, "WebSocket pre-flight")):
            check(x.count(r"INFO: Connected$|WARNING") == 0, "unexpected line:\n" + x.text())
            t0 = time.time()
            rc = x.stop()
            check(rc == 143, "%s: exit status %d after SIGTERM, want 143" % (what, rc))
            check(time.time() - t0 < 5, "%s: took %.1f s to stop" % (what, time.time() - t0))
        # A stalled WebSocket session: connected, then frozen; SIGTERM must not wait for the
        # controller's answer longer than the close handshake allows.
        web.command("pass")
        c = Agent("-url", "http://127.0.0.1:%d/" % web.port, "-webSocket", *cred(ctl))
        c.wait_line(r"INFO: Connected$", 40)
        web.command("freeze")
        t0 = time.time()
        rc = c.stop()
        print("stalled WebSocket session stopped in %.1f s" % (time.time() - t0))
        check(rc == 143, "stalled session: exit status %d after SIGTERM, want 143" % rc)
        for x in (a, b, c):
            check(x.count(STALL_ERRORS) == 0,
                  "error in the agent log")
    finally:
        tcp.stop()
        web.stop()
        ctl.stop()
    return a, ctl


def case_unanswered_pings():
    """The link and the controller work (the controller keeps pinging the agent, and the agent
    answers), but the controller stops answering the agent's pings after the first one: the
    agent must still time out, end the session and reconnect (the second session answers)."""
    ctl = stall_controller("-Dtestctl.answerAgentPings=1")
    try:
        a = Agent("-url", ctl["http_url"], *cred(ctl))
        a.wait_line(r"INFO: Connected$", 40)
        ctl.wait_log(r"fault: not answering the agent's ping 2 ", 40)
        t_ignored = time.time()
        t_dead = a.wait_line(PING_DEAD, PING_TIMEOUT_S + 15)
        a.wait_line(r"INFO: Terminated$", 20)
        check_ping_lines(a)
        print("ping timeout logged %.1f s after the controller ignored a ping (timeout %d s)"
              % (t_dead - t_ignored, PING_TIMEOUT_S))
        check(t_dead - t_ignored <= PING_TIMEOUT_S + 4, "detected after %.1f s"
              % (t_dead - t_ignored))
        # The controller's own pings were answered all along, so the link was busy both ways.
        text = ctl.text()
        i = text.find("fault: not answering the agent's ping 2 ")
        check(re.search(r"a2c Response\(", text[i:]) is not None,
              "the agent answered no controller ping while its own went unanswered")
        a.wait_line(r"INFO: Connected$", 40, count=2)
        ctl.wait_log(r"online: node is online", 40, count=2)
        stop_clean(a)
    finally:
        ctl.stop()
    return a, ctl


def case_hung_controller():
    """The controller stops answering (its process is stopped: the kernel keeps TCP up and
    even accepts new connections) while the agent is connected without a relay: the agent's
    ping times out, it ends the session, and reconnects once the controller runs again."""
    ctl = stall_controller()
    resumed = False
    try:
        a = Agent("-url", ctl["http_url"], *cred(ctl), env={"AG_TEST_STEP_MS": "5000"})
        a.wait_line(r"INFO: Connected$", 40)
        ctl.wait_log(r"online: node is online", 40)
        ctl.wait_log(r"a2c UserRequest\(.*, Ping\)", PING_INTERVAL_S + 20)
        t_stop = time.time()
        ctl.p.send_signal(signal.SIGSTOP)
        t_dead = a.wait_line(PING_DEAD, PING_INTERVAL_S + PING_TIMEOUT_S + 15)
        t_term = a.wait_line(r"INFO: Terminated$", 20)
        check_ping_lines(a)
        detect = t_dead - t_stop
        print("ping timeout logged %.1f s after the controller stopped, Terminated after %.1f s "
              "(bound %d s)" % (detect, t_term - t_stop, PING_INTERVAL_S + PING_TIMEOUT_S))
        check(detect <= PING_INTERVAL_S + PING_TIMEOUT_S + 4,
              "the hung controller was detected after %.1f s" % detect)
        # Its readiness poll (5 s timeouts) gets no answer either; it keeps polling.
        a.wait_line(r"INFO: Failed to connect to %s\. Will try again: read timed out$"
                    % re.escape(ctl["http_url"]), 20)
        ctl.p.send_signal(signal.SIGCONT)
        resumed = True
        a.wait_line(r"INFO: Connected$", 40, count=2)
        ctl.wait_log(r"session 2 \(", 20)
        ctl.wait_log(r"online: node is online", 40, count=2)
        stop_clean(a)
    finally:
        if not resumed:
            ctl.p.send_signal(signal.SIGCONT)
        ctl.stop()
    return a, ctl


FAULTS = {
    "garbage-http": r"WARNING: .*invalid HTTP response|WARNING: .*tcpSlaveAgentListener",
    "garbage-ack": r"WARNING: Protocol JNLP4-connect: Incorrect acknowledgement sequence",
    "close-after-ack": r"WARNING: Protocol JNLP4-connect: .*closed",
    "garbage-headers": r"WARNING: Protocol JNLP4-connect failed during the \w+ step: invalid",
    "garbage-capability": r"WARNING: Protocol JNLP4-connect failed during the capability step",
    "stall-after-headers": r"WARNING: Protocol JNLP4-connect failed during the \w+ step: no "
                           r"answer from the controller within 3000 ms",
    "refuse:Go away": r"WARNING: Local headers refused by remote: Go away$",
    "kill-after-connected:300": r"INFO: Terminated$",
}


def case_fault(spec):
    ctl = Controller("--fault", spec, "--fault-count", "1")
    try:
        # Only the stall needs a short step deadline; a loaded JVM's first TLS handshake is slow.
        env = {"AG_TEST_STEP_MS": "3000"} if spec.startswith("stall") else None
        a = Agent("-url", ctl["http_url"], *cred(ctl), env=env)
        a.wait_line(FAULTS[spec], 30)
        a.wait_line(r"INFO: Connected$", 30, count=2 if spec.startswith("kill") else 1)
        rc = a.stop()
        check(rc == 143, "exit status %d after SIGTERM, want 143" % rc)
        check(a.count(r"SEVERE|AddressSanitizer|runtime error") == 0, "error in the agent log")
    finally:
        ctl.stop()
    return a, ctl


def case_ws_stall_upgrade():
    """WebSocket: the pre-flight is answered but the upgrade never is (the controller's
    stall-after-headers fault, first connection only): the upgrade times out with a clear line,
    the agent backs off and connects on its next try."""
    ctl = Controller("--fault", "stall-after-headers", "--fault-count", "1")
    try:
        a = Agent("-url", ctl["http_url"], "-webSocket", *cred(ctl),
                  env={"AG_TEST_STEP_MS": "3000"})
        port = http_port(ctl["http_url"])
        t_fail = a.wait_line(r"INFO: Failed to connect: no answer from 127\.0\.0\.1:%d within 3 "
                             r"seconds$" % port, 30)
        a.wait_line(r"INFO: Waiting 1 second before retry$", 10)
        t_conn = a.wait_line(r"INFO: Connected$", 30)
        print("stalled upgrade given up, connected %.1f s later" % (t_conn - t_fail))
        check(a.count(r"INFO: Connected$") == 1, "connected twice")
        stop_clean(a)
    finally:
        ctl.stop()
    return a, ctl


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--java", required=True)
    ap.add_argument("--classes", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("case")
    ARGS = ap.parse_args()
    if not os.path.isdir(os.path.join(ARGS.classes, "nativeagent", "testctl")):
        print("the test controller is not built; skipping")
        return 77
    os.makedirs(ARGS.keys, exist_ok=True)
    t0 = time.time()
    try:
        if ARGS.case.startswith("fault:"):
            case_fault(ARGS.case[len("fault:"):])
        else:
            globals()["case_" + ARGS.case]()
    except Failure as e:
        for o in STARTED:
            kind = ("agent" if isinstance(o, Agent) else
                    "relay" if isinstance(o, Relay) else "controller")
            if isinstance(o, Agent):
                o.kill()
            print("---- %s output (last 80 lines) ----" % kind)
            print("\n".join(o.text().split("\n")[-80:]))
        print("FAIL %s: %s" % (ARGS.case, e))
        return 1
    finally:
        for o in STARTED:
            if isinstance(o, Agent):
                o.kill()
    if os.environ.get("E2E_SHOW"):
        for o in STARTED:
            if isinstance(o, Agent):
                print("---- agent output ----\n" + o.text())
    print("PASS %s (%.1f s)" % (ARGS.case, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
