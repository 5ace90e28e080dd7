package nativeagent.testctl;

import java.io.IOException;
import nativeagent.testctl.net.Config;
import nativeagent.testctl.net.Controller;
import nativeagent.testctl.net.Log;

/**
 * The test controller: a stand-in for a Jenkins controller that our C agent connects to.
 * See tests/controller/README.md for the command line and the state file.
 */
public final class Main {
    private Main() {
    }

    static final String USAGE = String.join("\n",
            "usage: java -cp CLASSES nativeagent.testctl.Main --state-file FILE [options]",
            "  --state-file FILE    write key=value lines (http_url, agent_port, identity, ...) when ready",
            "  --name NAME          the node name (default test-agent)",
            "  --secret HEX         the node secret (default " + Config.DEFAULT_SECRET + ")",
            "  --scenario NAME      what to do with each agent session (default hold): a scenario of",
            "                       nativeagent.testctl.channel.Scenarios (hold, ping, close, ...; see",
            "                       CHANNEL.md), or built in: raw-hold (log commands, answer nothing),",
            "                       echo (send every command back)",
            "  --sessions N         exit after N agent sessions: 0 if all passed, else 1 (default: never)",
            "  --https              also serve HTTPS/WSS (self-signed CN=127.0.0.1, see cert_file)",
            "  --tcp-disabled       no TCP agent port (/tcpSlaveAgentListener/ gives 404)",
            "  --redirects          also answer as a redirecting reverse proxy would: /moved/X -> 302",
            "                       /X, /abs/X -> 301 http://HOST/X, /loop/X -> 302 /loop/X,",
            "                       /to-https/X -> 301 https://HOST/X, /perm/X -> 308 /X",
            "  --min-version V      X-Remoting-Minimum-Version (default " + Config.JENKINS_MIN_VERSION
                    + "; 'none' omits it)",
            "  --protocols LIST     X-Jenkins-Agent-Protocols and the enabled protocols (default \"JNLP4-connect, Ping\")",
            "  --hold-ms MS         hold/raw-hold: close after MS (hold becomes hold:MS; default: wait for the agent)",
            "  --fault SPEC         inject a fault (repeatable): garbage-http, garbage-ack, garbage-headers,",
            "                       garbage-capability, close-after-ack, stall-after-headers,",
            "                       kill-after-connected:MS, refuse:TEXT, fatal:TEXT, ws-fragmented,",
            "                       http-status:CODE",
            "  --fault-count N      apply the faults to the first N connections/requests only",
            "  --ws-ping-ms MS      WebSocket ping interval, first ping after MS/2 (default 30000; 0 = off)",
            "  --ws-idle-ms MS      WebSocket idle timeout (default 60000)",
            "  --capability HEX     the capability mask we advertise (default 1fe)",
            "  --keys-dir DIR       keep/reuse the generated key stores here (default: a temporary dir)",
            "  --timeout-ms MS      exit 1 after MS if the sessions are not done (default 600000; 0 = never)",
            "  --log FILE           also append the log lines to FILE");

    public static void main(String[] args) {
        Config cfg = new Config();
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--https": cfg.https = true; continue;
                    case "--tcp-disabled": cfg.tcpDisabled = true; continue;
                    case "--redirects": cfg.redirects = true; continue;
                    case "--help": System.out.println(USAGE); return;
                    default: break;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value for " + a);
                }
                String v = args[++i];
                switch (a) {
                    case "--state-file": cfg.stateFile = v; break;
                    case "--name": cfg.name = v; break;
                    case "--secret": cfg.secret = v; break;
                    case "--scenario": cfg.scenario = v; break;
                    case "--sessions": cfg.sessions = Integer.parseInt(v); break;
                    case "--min-version": cfg.minVersion = v.equals("none") || v.isEmpty() ? null : v; break;
                    case "--protocols": cfg.protocols = v; break;
                    case "--hold-ms": cfg.holdMs = Long.parseLong(v); break;
                    case "--fault": cfg.faults.add(v); break;
                    case "--fault-count": cfg.faultCount = Integer.parseInt(v); break;
                    case "--ws-ping-ms": cfg.wsPingMs = Long.parseLong(v); break;
                    case "--ws-idle-ms": cfg.wsIdleMs = Long.parseLong(v); break;
                    case "--capability": cfg.capability = Long.parseLong(v, 16); break;
                    case "--keys-dir": cfg.keysDir = v; break;
                    case "--timeout-ms": cfg.timeoutMs = Long.parseLong(v); break;
                    case "--log": cfg.logFile = v; break;
                    default: throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (cfg.stateFile == null) {
                throw new IllegalArgumentException("--state-file is required");
            }
            for (String f : cfg.faults) {
                String name = f.contains(":") ? f.substring(0, f.indexOf(':')) : f;
                if ((name.equals("http-status") || name.equals("kill-after-connected"))
                        && !f.matches("[a-z-]+:[0-9]+")) {
                    throw new IllegalArgumentException("--fault " + f + ": a number is needed after ':'");
                }
                if (!java.util.List.of("garbage-http", "garbage-ack", "garbage-headers", "garbage-capability",
                        "close-after-ack", "stall-after-headers", "kill-after-connected", "refuse", "fatal", "ws-fragmented", "http-status")
                        .contains(name)) {
                    throw new IllegalArgumentException("unknown fault " + f);
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("testctl: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }

        Controller ctl;
        try {
            if (cfg.logFile != null) {
                Log.toFile(cfg.logFile);
            }
            ctl = new Controller(cfg, Controller.scenarioFor(cfg.scenario));
            ctl.start();
            ctl.writeState();
        } catch (IOException | IllegalArgumentException e) {
            Log.info("FAIL: cannot start: " + e.getMessage());
            System.exit(1);
            return;
        }
        Controller stopping = ctl;
        Runtime.getRuntime().addShutdownHook(new Thread(stopping::stop));
        if (!cfg.faults.isEmpty()) {
            Log.info("faults: " + cfg.faults + (cfg.faultCount >= 0 ? " (first " + cfg.faultCount + ")" : ""));
        }
        int rc = ctl.awaitFinish();
        System.exit(rc);
    }
}
