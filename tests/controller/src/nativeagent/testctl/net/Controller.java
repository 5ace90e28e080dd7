package nativeagent.testctl.net;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.net.ssl.SSLServerSocket;
import nativeagent.testctl.link.CommandLink;

/**
 * A stand-in for a Jenkins controller with one inbound node. It owns the listening sockets
 * (HTTP, optional HTTPS, the TCP agent listener), the node registry (name, secret, the connected
 * session and its cookie), and runs a scenario on every agent session.
 */
public final class Controller {
    /** A scenario: 0 = pass, anything else = fail (the scenario logs why). */
    public interface Scenario {
        int run(String name, CommandLink link, PrintStream log) throws Exception;
    }

    /**
     * One accepted agent connection: the channel's cookie (JNLP4: the one the agent presented,
     * possibly null; WebSocket: the Connection-Cookie of the 101), and its link once connected.
     */
    static final class Session {
        final String cookie;
        /** The agent connection number (1-based), for --fault-count. */
        final int connection;
        volatile CommandLink link;

        Session(String cookie, int connection) {
            this.cookie = cookie;
            this.connection = connection;
        }
    }

    final Config cfg;
    final Keys identity;
    final Keys httpsKeys;
    final Path keysDir;
    private final boolean tempKeys;
    private final Scenario scenario;
    private ServerSocket httpSocket;
    private ServerSocket httpsSocket;
    private ServerSocket agentSocket;
    final Set<String> protocols = new LinkedHashSet<>();
    private final Path requestsFile;

    private Session current;
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger httpRequests = new AtomicInteger();
    private final AtomicInteger sessionsStarted = new AtomicInteger();
    private int sessionsEnded;
    private int failures;
    private String firstFailure;
    private final CompletableFuture<Integer> finished = new CompletableFuture<>();

    public Controller(Config cfg, Scenario scenario) throws IOException {
        this.cfg = cfg;
        this.scenario = scenario;
        for (String p : cfg.protocols.split(",")) {
            if (!p.trim().isEmpty()) {
                protocols.add(p.trim());
            }
        }
        if (cfg.keysDir != null) {
            keysDir = Files.createDirectories(Path.of(cfg.keysDir));
            tempKeys = false;
        } else {
            keysDir = Files.createTempDirectory("testctl-keys");
            tempKeys = true;
        }
        long t0 = System.nanoTime();
        /* Two keytool runs in parallel: each is a JVM start plus an RSA-2048 key generation. */
        CompletableFuture<Keys> https = new CompletableFuture<>();
        if (cfg.https) {
            thread("keytool-https", () -> {
                try {
                    https.complete(Keys.https(keysDir));
                } catch (IOException | RuntimeException e) {
                    https.completeExceptionally(e);
                }
            });
        } else {
            https.complete(null);
        }
        identity = Keys.identity(keysDir);
        try {
            httpsKeys = https.get();
        } catch (InterruptedException | ExecutionException e) {
            throw new IOException("cannot make the HTTPS certificate: " + e.getCause(), e);
        }
        Log.info(String.format("keys ready in %s (%.1f s): instance identity RSA-2048%s", keysDir,
                (System.nanoTime() - t0) / 1e9, cfg.https ? ", HTTPS certificate CN=127.0.0.1" : ""));
        requestsFile = cfg.stateFile != null ? Path.of(cfg.stateFile + ".requests") : null;
        if (requestsFile != null) {
            Files.deleteIfExists(requestsFile);
        }
    }

    /**
     * The scenario named by --scenario. "echo" and "raw-hold" are built in (see runBuiltin); every
     * other name goes to nativeagent.testctl.channel.Scenarios (the channel half), found by
     * reflection. Without that class, "hold" falls back to "raw-hold". Returns null for built-ins.
     */
    public static Scenario scenarioFor(String name) {
        if (isBuiltin(name)) {
            return null;
        }
        try {
            Class<?> c = Class.forName("nativeagent.testctl.channel.Scenarios");
            Method m = c.getMethod("run", String.class, CommandLink.class, PrintStream.class);
            return (n, link, log) -> {
                try {
                    return (Integer) m.invoke(null, n, link, log);
                } catch (InvocationTargetException e) {
                    if (e.getCause() instanceof Exception) {
                        throw (Exception) e.getCause();
                    }
                    throw e;
                }
            };
        } catch (ReflectiveOperationException e) {
            if (name.equals("hold") || name.startsWith("hold:")) {
                return null;
            }
            throw new IllegalArgumentException("unknown scenario \"" + name
                    + "\" (no nativeagent.testctl.channel.Scenarios: " + e + ")");
        }
    }

    static boolean isBuiltin(String name) {
        return name.equals("echo") || name.equals("raw-hold");
    }

    /** The scenario name as run: --hold-ms MS turns "hold" into "hold:MS". */
    String scenarioName() {
        if (cfg.scenario.equals("hold") && cfg.holdMs > 0 && scenario != null) {
            return "hold:" + cfg.holdMs;
        }
        return cfg.scenario;
    }

    public void start() throws IOException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        httpSocket = new ServerSocket(0, 50, lo);
        thread("http-accept", () -> acceptLoop(httpSocket, "HTTP"));
        if (cfg.https) {
            SSLServerSocket s = (SSLServerSocket) httpsKeys.serverContext.getServerSocketFactory()
                    .createServerSocket(0, 50, lo);
            httpsSocket = s;
            thread("https-accept", () -> acceptLoop(httpsSocket, "HTTPS"));
        }
        if (!cfg.tcpDisabled) {
            agentSocket = new ServerSocket(0, 50, lo);
            thread("agent-accept", () -> acceptLoop(agentSocket, "TCP"));
        }
        Log.info("listening: " + httpUrl()
                + (httpsSocket != null ? ", " + httpsUrl() : "")
                + (agentSocket != null ? ", TCP agent port " + agentPort() : ", TCP agent port disabled")
                + "; node \"" + cfg.name + "\"");
    }

    public String httpUrl() {
        return "http://127.0.0.1:" + httpSocket.getLocalPort() + "/";
    }

    public String httpsUrl() {
        return httpsSocket == null ? null : "https://127.0.0.1:" + httpsSocket.getLocalPort() + "/";
    }

    /** The TCP agent port, or -1 when disabled. */
    public int agentPort() {
        return agentSocket == null ? -1 : agentSocket.getLocalPort();
    }

    public Path certFile() {
        return httpsKeys == null ? null : keysDir.resolve("https.pem");
    }

    /** The state file: key=value lines, written to a temporary file and renamed into place. */
    public void writeState() throws IOException {
        Map<String, String> kv = new LinkedHashMap<>();
        kv.put("http_url", httpUrl());
        if (httpsSocket != null) {
            kv.put("https_url", httpsUrl());
        }
        kv.put("ws_url", "ws://127.0.0.1:" + httpSocket.getLocalPort() + "/wsagents/");
        if (httpsSocket != null) {
            kv.put("wss_url", "wss://127.0.0.1:" + httpsSocket.getLocalPort() + "/wsagents/");
        }
        if (agentSocket != null) {
            kv.put("agent_port", Integer.toString(agentPort()));
        }
        kv.put("identity", identity.spkiBase64());
        if (httpsKeys != null) {
            kv.put("cert_file", certFile().toString());
        }
        kv.put("name", cfg.name);
        kv.put("secret", cfg.secret);
        kv.put("pid", Long.toString(ProcessHandle.current().pid()));
        kv.put("requests_file", requestsFile.toString());
        StringBuilder sb = new StringBuilder();
        kv.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        Path state = Path.of(cfg.stateFile);
        Path tmp = state.resolveSibling(state.getFileName() + ".tmp");
        Files.writeString(tmp, sb.toString());
        Files.move(tmp, state, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Log.info("ready; state file " + state);
        Log.info("connect an agent with: jenkins-agent -url " + httpUrl() + " -name " + cfg.name
                + " -secret " + cfg.secret + (agentSocket == null ? " -webSocket" : ""));
    }

    /** Wait until --sessions sessions have ended (or the timeout): 0 if all passed, 1 otherwise. */
    public int awaitFinish() {
        try {
            if (cfg.timeoutMs > 0) {
                return finished.get(cfg.timeoutMs, TimeUnit.MILLISECONDS);
            }
            return finished.get();
        } catch (TimeoutException e) {
            Log.info("FAIL: timeout (--timeout-ms " + cfg.timeoutMs + "): " + sessionsEnded
                    + " of " + cfg.sessions + " session(s) ended");
            return 1;
        } catch (InterruptedException | ExecutionException e) {
            Log.info("FAIL: " + e);
            return 1;
        }
    }

    /** How many agent sessions have ended so far. */
    public synchronized int sessionsEnded() {
        return sessionsEnded;
    }

    public void stop() {
        for (ServerSocket s : new ServerSocket[] {httpSocket, httpsSocket, agentSocket}) {
            if (s != null) {
                try {
                    s.close();
                } catch (IOException e) {
                    /* closing anyway */
                }
            }
        }
        Session s = current;
        if (s != null && s.link != null) {
            s.link.abort();
        }
        if (tempKeys) {
            try (Stream<Path> files = Files.walk(keysDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                /* best effort */
            }
        }
    }

    /* ---------------------------------------------------------------- connections */

    private void acceptLoop(ServerSocket server, String kind) {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (!server.isClosed()) {
                    Log.info(kind + " accept failed: " + e);
                }
                return;
            }
            String peer = s.getInetAddress().getHostAddress() + ":" + s.getPort();
            if (kind.equals("TCP")) {
                thread("tcp-" + peer, () -> new AgentListener(this, s, peer).run());
            } else {
                /* Jetty's ServerConnector accepts with TCP_NODELAY (acceptedTcpNoDelay, default true).
                 * Without it, WebSocket replies written as frame header + payload waited for the
                 * agent's delayed ACK: 40 ms per ProxyInputStream$Chunk round trip. */
                try {
                    s.setTcpNoDelay(true);
                } catch (IOException e) {
                    Log.info(kind + " " + peer + ": cannot set TCP_NODELAY: " + e);
                }
                thread(kind.toLowerCase() + "-" + peer, () -> new HttpFront(this, s, peer, kind).run());
            }
        }
    }

    static void thread(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
    }

    /** Is fault NAME active for the agent connection number N (1-based)? Returns its argument. */
    String faultFor(String name, int n) {
        if (cfg.faultCount >= 0 && n > cfg.faultCount) {
            return null;
        }
        return cfg.fault(name);
    }

    int nextConnection() {
        return connections.incrementAndGet();
    }

    int nextHttpRequest() {
        return httpRequests.incrementAndGet();
    }

    /** Append one request head, exactly as received, to the requests file (blank-line separated). */
    synchronized void recordRequest(String head) {
        if (requestsFile == null) {
            return;
        }
        try {
            Files.writeString(requestsFile, head + "\r\n", StandardCharsets.ISO_8859_1,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            Log.info("cannot record request: " + e);
        }
    }

    /* ---------------------------------------------------------------- the node registry */

    boolean knownNode(String name) {
        return cfg.name.equals(name);
    }

    /** Constant-time comparison of the UTF-8 bytes, like Jenkins. */
    boolean secretMatches(String secret) {
        return secret != null && MessageDigest.isEqual(secret.getBytes(StandardCharsets.UTF_8),
                cfg.secret.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Claim the node for a new connection (DefaultJnlpAgentReceiver.afterProperties): refused if a
     * session is live unless the agent presents a cookie equal to that session's (non-null)
     * cookie; then the old session is cut and replaced. Returns null on success, else the
     * refusal text.
     */
    synchronized String claim(String name, String presentedCookie, Session s) {
        Session old = current;
        if (old != null) {
            if (presentedCookie != null && old.cookie != null && MessageDigest.isEqual(
                    presentedCookie.getBytes(StandardCharsets.UTF_8),
                    old.cookie.getBytes(StandardCharsets.UTF_8))) {
                Log.info("disconnecting " + name + " as we are reconnected from the current peer"
                        + " (cookie matches)");
                if (old.link != null) {
                    old.link.abort();
                }
            } else {
                return name + " is already connected to this controller. Rejecting this connection.";
            }
        }
        current = s;
        return null;
    }

    synchronized void release(Session s) {
        if (current == s) {
            current = null;
        }
    }

    /* ---------------------------------------------------------------- sessions */

    /** Run the scenario on a freshly connected link; called on the connection's thread. */
    void runSession(Session session, CommandLink link) {
        session.link = link;
        int n = sessionsStarted.incrementAndGet();
        String tag = "session " + n + " (" + link.transportName() + ", " + link.agentName() + ")";
        Log.info(tag + ": connected; agent capability 0x" + Long.toHexString(link.peerCapability())
                + ", ours 0x" + Long.toHexString(link.ourCapability()) + "; running scenario \""
                + cfg.scenario + "\"");
        String killMs = faultFor("kill-after-connected", session.connection);
        if (killMs != null) {
            long ms = killMs.isEmpty() ? 0 : Long.parseLong(killMs);
            thread("kill", () -> {
                sleep(ms);
                Log.info(tag + ": fault kill-after-connected: cutting the connection after " + ms + " ms");
                link.abort();
            });
        }
        int rc;
        String why;
        Log.Capture out = Log.capture();
        String name = scenarioName();
        try {
            rc = scenario == null ? runBuiltin(name, link, tag) : scenario.run(name, link, out.stream);
            why = out.lastFailure != null ? out.lastFailure : "scenario \"" + name + "\" returned " + rc;
        } catch (Exception e) {
            rc = 1;
            why = "scenario \"" + name + "\" threw " + e;
        }
        try {
            link.close();
        } catch (IOException e) {
            /* already gone */
        }
        release(session);
        Log.info(tag + ": " + (rc == 0 ? "passed" : "FAILED: " + why));
        sessionEnded(rc == 0 ? null : tag + ": " + why);
    }

    private synchronized void sessionEnded(String failure) {
        sessionsEnded++;
        if (failure != null) {
            failures++;
            if (firstFailure == null) {
                firstFailure = failure;
            }
        }
        if (cfg.sessions > 0 && sessionsEnded >= cfg.sessions) {
            if (failures == 0) {
                Log.info("PASS: " + sessionsEnded + " session(s)");
                finished.complete(0);
            } else {
                Log.info("FAIL: " + firstFailure + (failures > 1 ? " (and " + (failures - 1) + " more)" : ""));
                finished.complete(1);
            }
        }
    }

    /**
     * Built-in scenarios of the network half, which need no channel. "raw-hold" (and "hold" when
     * the channel half is missing): log every command, answer nothing, keep the link until the
     * agent disconnects or --hold-ms passes. "echo": send every received command back (used by
     * SelfTest; a real agent would not understand its own commands).
     */
    private int runBuiltin(String name, CommandLink link, String tag) throws IOException {
        if (cfg.holdMs > 0) {
            thread("hold-timer", () -> {
                sleep(cfg.holdMs);
                Log.info(tag + ": --hold-ms " + cfg.holdMs + " passed; closing the link");
                try {
                    link.close();
                } catch (IOException e) {
                    /* ignore */
                }
            });
        }
        int count = 0;
        while (true) {
            byte[] cmd;
            try {
                cmd = link.receive();
            } catch (IOException e) {
                Log.info(tag + ": link ended: " + e);
                return 0;
            }
            if (cmd == null) {
                Log.info(tag + ": agent closed the connection after " + count + " command(s)");
                return 0;
            }
            count++;
            Log.info(tag + ": command #" + count + ": " + cmd.length + " bytes" + describe(cmd));
            if (name.equals("echo")) {
                link.send(cmd);
            }
        }
    }

    /** The class name at the start of a serialised command, when it is plain TC_OBJECT/TC_CLASSDESC. */
    static String describe(byte[] cmd) {
        if (cmd.length > 8 && (cmd[0] & 0xFF) == 0xac && (cmd[1] & 0xFF) == 0xed && cmd[4] == 0x73
                && cmd[5] == 0x72) {
            int n = ((cmd[6] & 0xFF) << 8) | (cmd[7] & 0xFF);
            if (8 + n <= cmd.length) {
                return " (" + new String(cmd, 8, n, StandardCharsets.UTF_8) + ")";
            }
        }
        return "";
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
