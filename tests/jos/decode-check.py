#!/usr/bin/env python3
"""jos.decode-cli: `jenkins-agent decode` prints every golden file, a capture file and stdin, and
fails with one clear error line on bad input.

usage: decode-check.py JENKINS_AGENT GOLDEN_DIR TMP_DIR
"""
import os
import struct
import subprocess
import sys

failures = 0


def run(agent, path, stdin=None):
    p = subprocess.run([agent, "decode", path], input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(what, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else ": " + detail))
    if not ok:
        failures += 1


def main():
    agent, golden, tmp = sys.argv[1:4]
    os.makedirs(tmp, exist_ok=True)
    for name in sorted(os.listdir(golden)):
        rc, out, err = run(agent, os.path.join(golden, name))
        check("decode " + name, rc == 0 and len(out) > 0, "rc %d %s" % (rc, err.strip()))
        if name.startswith("05-cmd-c2a-000"):
            check("UserRequest dump", "hudson.remoting.UserRequest @7e0008" in out
                  and "nested stream" in out and "-> @7e0010 hudson.remoting.Command$Source" in out, out[:300])
        if name.startswith("04-app-c2a"):
            check("app stream: capability and 16 commands", "capability preamble" in out
                  and "16 commands" in out, out[-200:])
        if name.startswith("02-plain-a2c"):
            check("secret redacted", "<redacted>" in out)
    cmds = [open(os.path.join(golden, n), "rb").read()
            for n in ("05-cmd-c2a-000.bin", "05-cmd-a2c-009.bin")]
    cap = b"AGCAP1\n"
    for i, c in enumerate(cmds):
        cap += (b"<" if i == 0 else b">") + struct.pack(">QI", 1700000000123456 + i, len(c)) + c
    path = os.path.join(tmp, "capture.agcap")
    with open(path, "wb") as f:
        f.write(cap)
    rc, out, err = run(agent, path)
    check("capture", rc == 0 and "record #1 agent->controller" in out and "2 records" in out,
          err + out[-200:])
    with open(path, "wb") as f:
        f.write(cap[:-10])
    rc, out, err = run(agent, path)
    check("truncated capture", rc == 1 and "truncated at offset" in err, err)
    rc, out, err = run(agent, "-", stdin=cmds[1])
    check("stdin", rc == 0 and "hudson.remoting.ProxyOutputStream$Chunk" in out, err)
    rc, out, err = run(agent, "-", stdin=cmds[1][:100])
    check("truncated stream", rc == 1 and err.count("\n") == 1 and "truncated" in err, err)
    rc, out, err = run(agent, "-", stdin=b"\x01\x02\x03\xff\xfe")
    check("garbage", rc == 1 and "jenkins-agent decode: -:" in err, err)
    rc, out, err = run(agent, os.path.join(tmp, "does-not-exist"))
    check("missing file", rc == 1 and "cannot open" in err, err)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
