package nativeagent.testctl.flows;

import hudson.EnvVars;
import hudson.FilePath;
import hudson.Platform;
import hudson.logging.LogRecorder;
import hudson.model.Slave;
import hudson.node_monitors.ArchitectureMonitor;
import hudson.node_monitors.DiskSpaceMonitorDescriptor;
import hudson.node_monitors.ResponseTimeMonitor;
import hudson.node_monitors.SwapSpaceMonitor;
import hudson.node_monitors.TemporarySpaceMonitor;
import hudson.slaves.ChannelPinger;
import hudson.slaves.SlaveComputer;
import hudson.util.RemotingDiagnostics;
import java.io.File;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import jenkins.slaves.StandardOutputSwapper;
import jenkins.slaves.restarter.JnlpSlaveRestarterInstaller;
import jenkins.slaves.restarter.SlaveRestarter;
import jenkins.slaves.restarter.UnixSlaveRestarter;
import jenkins.util.SystemProperties;
import nativeagent.testctl.callables.Echo;
import nativeagent.testctl.channel.Channel;
import nativeagent.testctl.channel.RemoteError;
import nativeagent.testctl.link.CommandLink;
import org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave;

/**
 * The controller's side of callables.md flows A.1 (a node goes online: SlaveComputer.setChannel and
 * its ComputerListeners, in Jenkins' order and with Jenkins' reactions to failures), A.2 (the six
 * node monitors) and the B.8 node pages, with every reply checked against this machine (the agent
 * runs beside the controller in the tests).
 *
 * <p>Tunables (system properties): {@code testctl.callTimeoutMs} (10000), {@code testctl.onlineIdleMs}
 * (2000), {@code testctl.monitorDelayMs} (200; Jenkins waits 5000 after onOnline),
 * {@code hudson.slaves.ChannelPinger.pingIntervalSeconds} and
 * {@code hudson.slaves.ChannelPinger.pingTimeoutSeconds} (Jenkins' own property names, channel.md 8:
 * what SetUpRemotePing asks the agent for; Jenkins' defaults are 300 and 240, ours 1 and 240 so that
 * the agent's pings show during the idle time; either below 1 sends no SetUpRemotePing, as Jenkins),
 * {@code testctl.remotePingSeconds} (the older name of the interval property),
 * {@code testctl.pingIntervalMs} (500: our own pinger), {@code testctl.minRemotingVersion}
 * (3176.v207ec082a_8c0), {@code testctl.nodeRoot} (the node's remote root for the disk monitor;
 * default this JVM's working directory).
 */
final class OnlineFlow {
    static final long CALL_MS = Long.getLong("testctl.callTimeoutMs", 10_000);
    static final long IDLE_MS = Long.getLong("testctl.onlineIdleMs", 2000);
    static final long MONITOR_DELAY_MS = Long.getLong("testctl.monitorDelayMs", 200);
    static final long MONITOR_TIMEOUT_MS = 30_000; /* AbstractAsyncNodeMonitorDescriptor.getMonitoringTimeOut */
    static final int REMOTE_PING_S = Integer.getInteger("hudson.slaves.ChannelPinger.pingIntervalSeconds",
            Integer.getInteger("testctl.remotePingSeconds", 1));
    static final int REMOTE_PING_TIMEOUT_S = Integer.getInteger("hudson.slaves.ChannelPinger.pingTimeoutSeconds", 240);
    static final long PING_INTERVAL_MS = Long.getLong("testctl.pingIntervalMs", 500);
    static final String MIN_VERSION = System.getProperty("testctl.minRemotingVersion", "3176.v207ec082a_8c0");
    static final String NODE_ROOT = System.getProperty("testctl.nodeRoot", System.getProperty("user.dir"));
    static final long GIB = 1L << 30;

    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String why) {
            super(why);
        }
    }

    private final Channel ch;
    private final CommandLink link;

    OnlineFlow(Channel ch, CommandLink link) {
        this.ch = ch;
        this.link = link;
    }

    private static String name(Object callable) {
        String n = callable.getClass().getName();
        return n.substring(n.lastIndexOf('.') + 1);
    }

    /** A call that must succeed (an agent exception is a Failure naming the step). */
    private Object call(String step, Serializable c) throws Failure {
        try {
            return ch.call(c, CALL_MS);
        } catch (RemoteError e) {
            throw new Failure(step + ": " + name(c) + " failed on the agent: " + e.fullText().trim());
        } catch (TimeoutException e) {
            throw new Failure(step + ": no reply to " + name(c) + " within " + CALL_MS + " ms");
        } catch (Exception e) {
            throw new Failure(step + ": " + name(c) + ": " + e);
        }
    }

    private static <T> T expect(String step, Object v, Class<T> type) throws Failure {
        if (!type.isInstance(v)) {
            throw new Failure(step + ": expected a " + type.getName() + ", got "
                    + (v == null ? "null" : v.getClass().getName() + " " + v));
        }
        return type.cast(v);
    }

    private void log(String s) {
        ch.log("online: " + s);
    }

    /**
     * Jenkins' VersionNumber order, simplified to what remoting versions need: components split at
     * '.', '-' and '_', numbers compared as numbers, other text as text, a number above text.
     */
    static int compareVersions(String a, String b) {
        String[] x = a.split("[._-]");
        String[] y = b.split("[._-]");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            String p = i < x.length ? x[i] : "";
            String q = i < y.length ? y[i] : "";
            boolean pn = p.matches("[0-9]+");
            boolean qn = q.matches("[0-9]+");
            int c;
            if (pn && qn) {
                c = new java.math.BigInteger(p).compareTo(new java.math.BigInteger(q));
            } else if (pn != qn) {
                c = pn ? 1 : -1;
            } else {
                c = p.compareTo(q);
            }
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    /* ------------------------------------------------------------------ flow A.1 */

    void online(long idleMs) throws Failure, InterruptedException {
        /* 1. SlaveVersion, compared with the minimum supported remoting version: the connection is refused below it. */
        String version = expect("SlaveVersion", call("step 1", new SlaveComputer.SlaveVersion()), String.class);
        if (compareVersions(version, MIN_VERSION) < 0) {
            throw new Failure("connection rejected: agent remoting version " + version
                    + " is older than the minimum supported " + MIN_VERSION);
        }
        log("remoting version " + version + " (minimum " + MIN_VERSION + ")");
        /* 2. CommunicationProtocol: logged only; it must match the transport when given. */
        Object proto = call("step 2", new SlaveComputer.CommunicationProtocol());
        if (proto != null && !proto.equals(link.transportName())) {
            throw new Failure("CommunicationProtocol says " + proto + " but the agent came in over " + link.transportName());
        }
        log("protocol " + proto);
        /* 3. DetectOS: cached as isUnix. */
        Boolean unix = expect("DetectOS", call("step 3", new SlaveComputer.DetectOS()), Boolean.class);
        if (!unix) {
            throw new Failure("DetectOS says the agent is not Unix");
        }
        /* 4. DetectDefaultCharset: Charset.forName, an invalid name breaks the connection. */
        String cs = expect("DetectDefaultCharset", call("step 4", new SlaveComputer.DetectDefaultCharset()), String.class);
        try {
            Charset.forName(cs);
        } catch (RuntimeException e) {
            throw new Failure("connection broken: DetectDefaultCharset answered " + cs + ": " + e);
        }
        log("charset " + cs);
        /* 5. AbsolutePath: the node's remote root is relative here. */
        String abs = expect("AbsolutePath", call("step 5", new SlaveComputer.AbsolutePath("agent-root")), String.class);
        if (!abs.startsWith("/") || !abs.endsWith("/agent-root")) {
            throw new Failure("AbsolutePath(agent-root) gave " + abs);
        }
        /* 6. SlaveInitializer. */
        expectNull("SlaveInitializer", call("step 6", new SlaveComputer.SlaveInitializer(256)));
        /* 7. ComputerListener.preOnline, in class-name order. */
        /* 7.1 LogRecorder$ComputerLogInitializer: one SetLevel per configured recorder; exceptions are fatal. */
        expectNull("SetLevel", call("step 7.1 (fatal)", new LogRecorder.SetLevel("hudson.remoting", Level.INFO)));
        /* 7.2 ChannelPinger: exceptions only logged; then the controller's PingThread starts.
         * Jenkins skips both when either setting is below 1 s. */
        if (REMOTE_PING_S >= 1 && REMOTE_PING_TIMEOUT_S >= 1) {
            try {
                Object r = ch.call(new ChannelPinger.SetUpRemotePing(REMOTE_PING_S, REMOTE_PING_TIMEOUT_S), CALL_MS);
                expectNull("SetUpRemotePing", r);
                log("SetUpRemotePing: interval " + REMOTE_PING_S + " s, timeout " + REMOTE_PING_TIMEOUT_S + " s");
            } catch (Failure f) {
                throw f;
            } catch (Exception e) {
                log("note: SetUpRemotePing failed (Jenkins only logs this): " + e);
            }
        } else {
            log("ChannelPinger disabled (interval " + REMOTE_PING_S + " s, timeout " + REMOTE_PING_TIMEOUT_S + " s)");
        }
        Channel.Pinger pinger = ch.startPinger(PING_INTERVAL_MS, CALL_MS);
        try {
            /* 7.3 StandardOutputSwapper: exceptions ignored. */
            try {
                Object r = ch.call(new StandardOutputSwapper.ChannelSwapper(), CALL_MS);
                expect("ChannelSwapper", r, Boolean.class);
                log("stdout swapped: " + r);
            } catch (Failure f) {
                throw f;
            } catch (Exception e) {
                log("note: ChannelSwapper failed (Jenkins ignores this): " + e);
            }
            /* 7.4 SystemProperties$AgentCopier: exceptions are fatal. */
            HashMap<String, String> snap = new HashMap<>();
            snap.put("hudson.util.StreamTaskListener.AUTO_FLUSH", "true");
            expectNull("CopySystemProperties", call("step 7.4 (fatal)",
                    new SystemProperties.AgentCopier.CopySystemProperties(snap)));
            /* 8. Online. onOnline: JnlpSlaveRestarterInstaller (async), the monitors a little later. */
            log("node is online");
            List<SlaveRestarter> rs = new ArrayList<>();
            rs.add(new UnixSlaveRestarter());
            CompletableFuture<Object> restarters;
            try {
                restarters = ch.callAsync(new JnlpSlaveRestarterInstaller.FindEffectiveRestarters(rs));
            } catch (IOException e) {
                throw new Failure("FindEffectiveRestarters: " + e);
            }
            Thread.sleep(MONITOR_DELAY_MS);
            monitors();
            Object eff = await("FindEffectiveRestarters", restarters, CALL_MS);
            if (eff != null && !(eff instanceof List)) {
                throw new Failure("FindEffectiveRestarters returned " + eff.getClass().getName());
            }
            log("effective restarters: " + eff);
            /* 9. First build: Computer.getEnvironment(). */
            envVars();
            /* Idle: our PingThread and the agent's pinger both run. */
            long before = agentRequests();
            String why = ch.awaitTermination(idleMs);
            if (why != null) {
                throw new Failure("channel terminated while idle after " + pinger.count() + " pings: " + why);
            }
            if (pinger.count() == 0) {
                throw new Failure("none of our pings completed in " + idleMs + " ms");
            }
            long agentPings = agentRequests() - before;
            if (REMOTE_PING_S >= 1 && REMOTE_PING_TIMEOUT_S >= 1 && idleMs >= 2500L * REMOTE_PING_S && agentPings == 0) {
                throw new Failure("the agent sent no ping in " + idleMs + " ms although SetUpRemotePing asked for one every "
                        + REMOTE_PING_S + " s");
            }
            log("idle " + idleMs + " ms: " + pinger.count() + " controller pings (worst " + pinger.worstMicros()
                    + " us), " + agentPings + " agent requests (pings)");
        } finally {
            pinger.stop();
        }
    }

    private long agentRequests() {
        Integer n = ch.receivedByClass().get("hudson.remoting.UserRequest");
        return n == null ? 0 : n;
    }

    private static void expectNull(String what, Object r) throws Failure {
        if (r != null) {
            throw new Failure(what + ": expected null, got " + r.getClass().getName() + " " + r);
        }
    }

    private Object await(String what, CompletableFuture<Object> f, long ms) throws Failure {
        try {
            return f.get(ms, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw new Failure(what + " failed: " + (c instanceof RemoteError ? ((RemoteError) c).fullText().trim() : c));
        } catch (TimeoutException e) {
            throw new Failure(what + ": no reply within " + ms + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure(what + ": interrupted");
        }
    }

    void envVars() throws Failure {
        EnvVars env = expect("GetEnvVars", call("step 9", new EnvVars.GetEnvVars()), EnvVars.class);
        if (env.getPlatform() != Platform.UNIX) {
            throw new Failure("GetEnvVars: platform " + env.getPlatform() + ", expected UNIX");
        }
        if (env.comparator() != String.CASE_INSENSITIVE_ORDER) {
            throw new Failure("GetEnvVars: the map's comparator is " + env.comparator() + ", not CASE_INSENSITIVE_ORDER");
        }
        if (env.get("path") == null || env.get("path").isEmpty()) {
            throw new Failure("GetEnvVars: no PATH (looked up as 'path', case-insensitively) in " + env.keySet());
        }
        log("agent environment: " + env.size() + " variables, PATH=" + env.get("PATH"));
    }

    /** A Kubernetes pod deleted: KubernetesSlave._terminate sends SlaveDisconnector, then the channel closes. */
    void disconnect() throws Failure {
        expectNull("SlaveDisconnector", call("terminate", new KubernetesSlave.SlaveDisconnector()));
        log("SlaveDisconnector answered; closing: the agent must not reconnect");
    }

    /* ------------------------------------------------------------------ flow A.2 */

    private static long[] meminfo() throws Failure {
        long[] v = {-1, -1, -1, -1}; /* MemTotal, MemFree, SwapTotal, SwapFree, in bytes */
        String[] keys = {"MemTotal:", "MemFree:", "SwapTotal:", "SwapFree:"};
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                for (int i = 0; i < keys.length; i++) {
                    if (line.startsWith(keys[i])) {
                        v[i] = Long.parseLong(line.substring(keys[i].length()).trim().split("\\s+")[0]) * 1024;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new Failure("cannot read /proc/meminfo here: " + e);
        }
        return v;
    }

    private static boolean close(long got, long want, long slack) {
        return Math.abs(got - want) <= slack;
    }

    private void checkDisk(String what, Object r, File dir) throws Failure, IOException {
        DiskSpaceMonitorDescriptor.DiskSpace ds = expect(what, r, DiskSpaceMonitorDescriptor.DiskSpace.class);
        String canon = dir.getCanonicalPath();
        long usable = dir.getUsableSpace();
        long total = dir.getTotalSpace();
        if (!canon.equals(ds.path)) {
            throw new Failure(what + ": path " + ds.path + ", expected " + canon);
        }
        if (ds.getTotalSize() != total) {
            throw new Failure(what + ": totalSize " + ds.getTotalSize() + ", this machine says " + total);
        }
        if (!close(ds.size, usable, Math.max(256L << 20, usable / 100))) {
            throw new Failure(what + ": size " + ds.size + ", this machine says " + usable);
        }
        if (ds.getThreshold() != 0 || ds.getWarningThreshold() != 0 || ds.getTrigger() != null) {
            throw new Failure(what + ": threshold/warningThreshold/trigger must be 0/0/null: " + ds);
        }
        log(what + ": " + ds.size / (1 << 20) + " MiB free of " + ds.getTotalSize() / (1 << 20) + " MiB on " + ds.path
                + (ds.size <= GIB ? " (Jenkins would mark the node offline: below 1 GiB)" : ""));
    }

    void monitors() throws Failure {
        FilePath root = new FilePath(NODE_ROOT);
        long start = System.currentTimeMillis();
        long[] past5 = {12, 15, -1, 9, 11};
        Map<String, CompletableFuture<Object>> f = new TreeMap<>();
        try {
            /* Each monitor runs on its own thread in Jenkins: all six at once. */
            f.put("ArchitectureMonitor", ch.callAsync(new ArchitectureMonitor.GetArchTask()));
            f.put("ClockMonitor", ch.callAsync(new Slave.GetClockDifference2(start)));
            f.put("DiskSpaceMonitor", ch.callAsync(root.asCallableWith(new DiskSpaceMonitorDescriptor.GetUsableSpace())));
            f.put("TemporarySpaceMonitor", ch.callAsync(root.asCallableWith(new TemporarySpaceMonitor.GetTempSpace())));
            f.put("SwapSpaceMonitor", ch.callAsync(new SwapSpaceMonitor.MonitorTask()));
            f.put("ResponseTimeMonitor", ch.callAsync(new ResponseTimeMonitor.Step2(new ResponseTimeMonitor.Data(past5), start)));
            /* FilePath.act(FileCallable) form of the disk monitor's task, as later file callables arrive. */
            f.put("DiskSpace via FileCallableWrapper", ch.callAsync(
                    new FilePath.FileCallableWrapper(new DiskSpaceMonitorDescriptor.GetUsableSpace(), root)));
        } catch (IOException e) {
            throw new Failure("sending the monitors: " + e);
        }
        Map<String, Object> r = new TreeMap<>();
        for (Map.Entry<String, CompletableFuture<Object>> e : f.entrySet()) {
            r.put(e.getKey(), await(e.getKey(), e.getValue(), MONITOR_TIMEOUT_MS));
        }
        try {
            String arch = expect("ArchitectureMonitor", r.get("ArchitectureMonitor"), String.class);
            String want = System.getProperty("os.name") + " (" + System.getProperty("os.arch") + ")";
            if (!arch.equals(want)) {
                throw new Failure("ArchitectureMonitor: " + arch + ", a JVM here says " + want);
            }
            Slave.GetClockDifference3 cd = expect("ClockMonitor", r.get("ClockMonitor"), Slave.GetClockDifference3.class);
            long now = System.currentTimeMillis();
            if (cd.startTime != start) {
                throw new Failure("ClockMonitor: startTime " + cd.startTime + " is not the one sent (" + start + ")");
            }
            if (cd.remoteTime < start - 5000 || cd.remoteTime > now + 5000) {
                throw new Failure("ClockMonitor: remoteTime " + cd.remoteTime + " outside [" + start + ", " + now + "] +- 5 s");
            }
            File dir = new File(NODE_ROOT);
            checkDisk("DiskSpaceMonitor", r.get("DiskSpaceMonitor"), dir);
            checkDisk("DiskSpace via FileCallableWrapper", r.get("DiskSpace via FileCallableWrapper"), dir);
            checkDisk("TemporarySpaceMonitor", r.get("TemporarySpaceMonitor"), new File("/tmp"));
            SwapSpaceMonitor.MemoryUsage2 mu = expect("SwapSpaceMonitor", r.get("SwapSpaceMonitor"),
                    SwapSpaceMonitor.MemoryUsage2.class);
            long[] mi = meminfo();
            if (mu.totalPhysicalMemory != mi[0] || mu.totalSwapSpace != mi[2]) {
                throw new Failure("SwapSpaceMonitor: totals " + mu + ", /proc/meminfo says MemTotal " + mi[0]
                        + " SwapTotal " + mi[2]);
            }
            if (!close(mu.availablePhysicalMemory, mi[1], Math.max(512L << 20, mi[0] / 4))
                    || !close(mu.availableSwapSpace, mi[3], Math.max(512L << 20, mi[2] / 4))) {
                throw new Failure("SwapSpaceMonitor: free figures " + mu + " far from /proc/meminfo MemFree " + mi[1]
                        + " SwapFree " + mi[3]);
            }
            ResponseTimeMonitor.Step3 s3 = expect("ResponseTimeMonitor", r.get("ResponseTimeMonitor"),
                    ResponseTimeMonitor.Step3.class);
            if (s3.start != start || s3.cur == null || !Arrays.equals(s3.cur.past5, past5)) {
                throw new Failure("ResponseTimeMonitor: Step3 does not echo start/cur: start " + s3.start + ", past5 "
                        + (s3.cur == null ? "null" : Arrays.toString(s3.cur.past5)));
            }
            log("monitors: " + arch + ", clock difference " + (cd.remoteTime - (start + now) / 2) + " ms, " + mu
                    + ", response time " + (System.currentTimeMillis() - start) + " ms");
        } catch (IOException e) {
            throw new Failure("monitors: " + e);
        }
    }

    /* ------------------------------------------------------------------ B.8 pages */

    @SuppressWarnings("unchecked")
    void pages() throws Failure {
        /* System Information. */
        Map<Object, Object> props = expect("GetSystemProperties",
                call("System Information", new RemotingDiagnostics.GetSystemProperties()), TreeMap.class);
        String[][] same = {
            {"os.name", System.getProperty("os.name")}, {"os.arch", System.getProperty("os.arch")},
            {"os.version", System.getProperty("os.version")},
            {"file.separator", "/"}, {"path.separator", ":"}, {"line.separator", "\n"},
            {"java.io.tmpdir", "/tmp"}, {"user.name", System.getProperty("user.name")},
            {"user.home", System.getProperty("user.home")},
        };
        for (String[] kv : same) {
            if (!kv[1].equals(props.get(kv[0]))) {
                throw new Failure("GetSystemProperties: " + kv[0] + "=" + props.get(kv[0]) + ", a JVM here says " + kv[1]);
            }
        }
        if (props.keySet().stream().noneMatch(k -> k.toString().startsWith("native-agent"))) {
            throw new Failure("GetSystemProperties: nothing says native-agent: " + props.keySet());
        }
        Map<String, String> env = expect("ListFullEnvironment",
                call("System Information", new SlaveComputer.ListFullEnvironment()), TreeMap.class);
        if (env.get("PATH") == null || ((TreeMap<String, String>) env).comparator() != null) {
            throw new Failure("ListFullEnvironment: no PATH or not natural order: " + env.keySet());
        }
        expect("LoadingCount", call("System Information", new SlaveComputer.LoadingCount(false)), Integer.class);
        expect("LoadingCount", call("System Information", new SlaveComputer.LoadingCount(true)), Integer.class);
        expect("LoadingPrefetchCacheCount", call("System Information", new SlaveComputer.LoadingPrefetchCacheCount()),
                Integer.class);
        expect("LoadingTime", call("System Information", new SlaveComputer.LoadingTime(false)), Long.class);
        Map<String, String> threads = expect("GetThreadDump",
                call("System Information", new RemotingDiagnostics.GetThreadDump()), Map.class);
        if (threads.isEmpty()) {
            throw new Failure("GetThreadDump: no threads");
        }
        log("thread dump: " + threads.keySet());
        /* Log page: start the ring buffer, make the agent log a WARNING (an unsupported callable), fetch. */
        expectNull("SlaveInitializer", call("Log", new SlaveComputer.SlaveInitializer(256)));
        try {
            Object echo = ch.call(new Echo("log me"), CALL_MS);
            log("note: the agent implements Echo (" + echo + "); its log may stay empty");
        } catch (RemoteError e) {
            /* expected: "native-agent does not support callable ...Echo" */
        } catch (Exception e) {
            throw new Failure("Echo: " + e);
        }
        List<Object> recs = expect("SlaveLogFetcher", call("Log", new SlaveComputer.SlaveLogFetcher()), List.class);
        boolean seen = false;
        for (Object o : recs) {
            LogRecord lr = expect("SlaveLogFetcher element", o, LogRecord.class);
            if (lr.getLevel() == null || lr.getMessage() == null) {
                throw new Failure("SlaveLogFetcher: a record without level or message");
            }
            seen |= lr.getMessage().contains(Echo.class.getName());
        }
        if (!seen) {
            throw new Failure("SlaveLogFetcher: " + recs.size() + " records, none about the rejected "
                    + Echo.class.getName());
        }
        log("log page: " + recs.size() + " records");
        /* Script Console: an answer (never a hang) saying that no Groovy runs. */
        String out = expect("Script", call("Script Console", new RemotingDiagnostics.Script("println 'hi'")), String.class);
        if (!out.contains("Groovy")) {
            throw new Failure("Script: the answer does not say that Groovy cannot run: " + out);
        }
        log("script console: " + out.trim());
        try {
            Object h = ch.call(new RemotingDiagnostics.GetHeapDump(), CALL_MS);
            throw new Failure("GetHeapDump returned " + h + " instead of an error");
        } catch (RemoteError e) {
            log("heap dump: " + e.remote);
        } catch (Failure f) {
            throw f;
        } catch (Exception e) {
            throw new Failure("GetHeapDump: " + e);
        }
    }
}
