package nativeagent.testctl.net;

import java.util.ArrayList;
import java.util.List;

/** The controller's settings (filled from the command line by nativeagent.testctl.Main). */
public final class Config {
    /** Default agent secret: a fixed, obviously fake 64-hex string. */
    public static final String DEFAULT_SECRET =
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    /** Jenkins' remoting.minimum.supported.version, sent by default as real Jenkins does. */
    public static final String JENKINS_MIN_VERSION = "3176.v207ec082a_8c0";

    public String stateFile;
    public String name = "test-agent";
    public String secret = DEFAULT_SECRET;
    public String scenario = "hold";
    /** Exit after this many agent sessions (0 = run until killed or --timeout-ms). */
    public int sessions;
    public boolean https;
    public boolean tcpDisabled;
    /** Serve the redirecting paths of a reverse proxy in front of Jenkins (HttpFront). */
    public boolean redirects;
    /** null = no X-Remoting-Minimum-Version header. */
    public String minVersion = JENKINS_MIN_VERSION;
    public String protocols = "JNLP4-connect, Ping";
    /** Built-in "hold" scenario: close the link after this long (0 = wait for the agent to go). */
    public long holdMs;
    public final List<String> faults = new ArrayList<>();
    /** Apply --fault only to the first N agent connections / HTTP requests (-1 = always). */
    public int faultCount = -1;
    public String logFile;
    /** WebSocket ping interval (Jenkins: first ping after half of it, 15 s, then every 30 s); 0 = off. */
    public long wsPingMs = 30_000;
    /** WebSocket idle timeout (Jetty in Jenkins: 60 s). */
    public long wsIdleMs = 60_000;
    /** Where key stores are kept; null = a fresh temporary directory. */
    public String keysDir;
    /** Give up (exit 1) after this long; 0 = never. */
    public long timeoutMs = 600_000;
    /** The capability mask we advertise. */
    public long capability = Wire.JENKINS_CAPABILITY;

    /** The value of --fault NAME:ARG for a fault NAME, or null; "" when given without an argument. */
    public String fault(String name) {
        for (String f : faults) {
            if (f.equals(name)) {
                return "";
            }
            if (f.startsWith(name + ":")) {
                return f.substring(name.length() + 1);
            }
        }
        return null;
    }
}
