package nativeagent.testctl.flows;

import hudson.Launcher;
import hudson.Launcher.RemoteLaunchCallable;
import hudson.Launcher.RemoteLauncher.KillTask;
import hudson.remoting.PingThread;
import hudson.remoting.RemoteInputStream;
import hudson.remoting.RemoteInvocationHandler;
import hudson.model.StreamBuildListener;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import nativeagent.testctl.channel.Channel;

/**
 * Pipes of the channel under load (issue 6), with the real launch callable of a freestyle step:
 * {@code Launcher$RemoteLaunchCallable} with the build log as a controller-exported
 * {@code RemoteOutputStream} (agent to controller) and {@code in} as a non-greedy
 * {@code RemoteInputStream} that the agent pulls with {@code ProxyInputStream$Chunk} (controller to
 * agent, as {@code Launcher.RemoteLauncher.launch} sends {@code ProcStarter.stdin(...)}).
 *
 * <p>Scenarios (tests/controller/CHANNEL.md):
 * <ul>
 * <li>{@code pipe-out:BYTES}: the child writes BYTES bytes of {@code /dev/urandom} to its stdout
 * (the log) through {@code tee} into {@code sha256sum}; the controller's count and SHA-256 of the
 * log must equal the child's.</li>
 * <li>{@code pipe-in:BYTES}: the controller feeds BYTES seeded pseudo-random bytes into the child's
 * stdin; the child is {@code sha256sum}; its line in the log must equal the controller's hash.</li>
 * <li>{@code pipe-stall:BYTES:PAUSE_MS:BOUND_KB}: like pipe-out, but the log sink blocks for
 * PAUSE_MS after 4 MiB (a controller that stops reading: no Acks). While it blocks, the child's
 * {@code tee} must stop writing, no more than the 1 MiB window plus a read and a pipe buffer may be
 * in flight, the agent's VmRSS must not grow, and its VmHWM may exceed its pre-launch VmRSS by at
 * most BOUND_KB. Then everything must arrive intact.</li>
 * <li>{@code pipe-cut:MODE}: {@code cat} echoes an endless controller stream back into the log
 * (traffic both ways); after 8 MiB the controller sends {@code Channel$CloseCommand}
 * ({@code close}), drops the link ({@code drop}) or SIGTERMs the agent ({@code term}). The channel
 * must end (with the agent's CloseCommand for close) and the child must be gone soon after (the
 * agent exits with -noReconnect; run-e2e.sh checks its exit status and sanitizer output). With
 * {@code pipe-cut:MODE:reconnect} the agent (run without -noReconnect) must still be running
 * afterwards; the test then expects its next session.</li>
 * <li>{@code ping-soak:N:BOUND_KB:AGENT_MIN}: SetUpRemotePing(1 s) so the agent pings too (the test
 * runs the agent with AG_TEST_PING_MS for a few ms instead), then N controller pings back to back;
 * every one must be answered at once, the agent must have sent at least AGENT_MIN pings (a missed
 * answer would make it drop the link), and its VmRSS after N may exceed its VmRSS after the first
 * N/10 (warm-up) by at most BOUND_KB.</li>
 * </ul>
 */
final class PipeFlow {
    static final long CALL_MS = FreestyleFlow.CALL_MS;
    static final String PROCESS = FreestyleFlow.PROCESS;
    static final long CLOSE_MS = Long.getLong("testctl.closeTimeoutMs", 10_000);
    /**
     * Bytes the child may have written that the stalled controller has not taken: Channel.PIPE_WINDOW,
     * plus one agent read (REM_PIPE_MAX_CHUNK), the kernel pipe buffer (64 KiB) and 64 KiB for how we
     * count tee's output (below).
     */
    static final long IN_FLIGHT_MAX = Channel.PIPE_WINDOW + 3 * 64 * 1024;

    private PipeFlow() {
    }

    /** Run scenario {@code name}: null on PASS, {@link Flows#UNKNOWN} if it is not one of ours, else the reason. */
    static String run(String name, String arg, Channel ch) {
        String[] a = arg == null ? new String[0] : arg.split(":");
        return FreestyleFlow.guarded(name, arg, () -> {
            switch (name) {
                case "pipe-out":
                    out(ch, a.length > 0 ? Long.parseLong(a[0]) : 64L << 20);
                    return null;
                case "pipe-in":
                    in(ch, a.length > 0 ? Long.parseLong(a[0]) : 64L << 20);
                    return null;
                case "pipe-stall":
                    stall(ch, a.length > 0 ? Long.parseLong(a[0]) : 64L << 20,
                            a.length > 1 ? Long.parseLong(a[1]) : 4000, a.length > 2 ? Long.parseLong(a[2]) : 16384);
                    return null;
                case "pipe-cut":
                    cut(ch, a.length > 0 ? a[0] : "close", a.length > 1 && a[1].equals("reconnect"));
                    return null;
                case "ping-soak":
                    soak(ch, a.length > 0 ? Integer.parseInt(a[0]) : 5000, a.length > 1 ? Long.parseLong(a[1]) : 2048,
                            a.length > 2 ? Integer.parseInt(a[2]) : 1);
                    return null;
                default:
                    return Flows.UNKNOWN;
            }
        });
    }

    static IllegalStateException fail(String why) {
        return new IllegalStateException(why);
    }

    /** The build log sink: counts and hashes; optionally blocks once (a controller that stops reading). */
    static final class Sink extends OutputStream {
        final MessageDigest md;
        volatile long n;
        final long stallAt;
        final CountDownLatch stalled = new CountDownLatch(1);
        final CountDownLatch resume = new CountDownLatch(1);

        Sink(long stallAt) throws Exception {
            md = MessageDigest.getInstance("SHA-256");
            this.stallAt = stallAt;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            synchronized (this) {
                md.update(b, off, len);
                n += len;
            }
            if (stallAt > 0 && n >= stallAt && stalled.getCount() > 0) {
                stalled.countDown();
                try {
                    /* The pipe lane is blocked: no Ack goes out, as with a slow disk on a real controller. */
                    resume.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while stalled");
                }
            }
        }

        synchronized String hex() {
            return HexFormat.of().formatHex(md.digest());
        }
    }

    /** An endless or BYTES-long stream of seeded pseudo-random bytes, hashed as it is read. */
    static final class Source extends InputStream {
        final SplittableRandom rnd = new SplittableRandom(20261128L);
        final MessageDigest md;
        final byte[] block = new byte[1 << 16];
        long left;
        volatile long given;
        volatile boolean closed;

        Source(long bytes) throws Exception {
            md = MessageDigest.getInstance("SHA-256");
            left = bytes;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) {
            if (left <= 0) {
                return -1;
            }
            int k = (int) Math.min(Math.min(len, left), block.length);
            rnd.nextBytes(block);
            System.arraycopy(block, 0, b, off, k);
            md.update(block, 0, k);
            left -= k;
            given += k;
            return k;
        }

        @Override
        public void close() {
            closed = true;
        }

        synchronized String hex() {
            return HexFormat.of().formatHex(md.digest());
        }
    }

    /** Launch (quiet) and return the RemoteProcess oid after getIOtriplet, as ProcImpl does. */
    static int launch(Channel ch, FreestyleFlow.Build b, List<String> cmd, InputStream in, OutputStream log)
            throws Exception {
        StreamBuildListener listener = FreestyleFlow.listener(ch, log); /* exported before stdin */
        RemoteInputStream ris = in == null ? null : new RemoteInputStream(ch.exportInputStream(in));
        return FreestyleFlow.start(ch, FreestyleFlow.launchCallable(b, cmd, listener, ris, true));
    }

    static Object join(Channel ch, int oid, long ms) throws Exception {
        return ch.rpc(oid, PROCESS, "join", new String[0], new Object[0], true, true, ms);
    }

    static FreestyleFlow.Build build(Channel ch, String job, int number) throws Exception {
        FreestyleFlow.Build b = new FreestyleFlow.Build(job, number);
        FreestyleFlow.act(ch, Launcher.mkdirs(), b.ws.toString());
        return b;
    }

    /** The agent's pid: the parent of a step's shell (the agent spawns steps itself). */
    static long agentPid(Channel ch, FreestyleFlow.Build b) throws Exception {
        FreestyleFlow.Log log = new FreestyleFlow.Log();
        int oid = launch(ch, b, List.of("/bin/sh", "-c", "echo $PPID"), null, log);
        Object r = FreestyleFlow.rpc(ch, oid, "join");
        if (!Integer.valueOf(0).equals(r)) {
            throw fail("echo $PPID: join returned " + r);
        }
        long pid = Long.parseLong(log.text().trim());
        if (!Files.exists(Path.of("/proc/" + pid + "/status"))) {
            throw fail("agent pid " + pid + " has no /proc entry");
        }
        return pid;
    }

    /** One field of /proc/PID/status in kB (VmRSS, VmHWM). */
    static long statusKb(long pid, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith(field + ":")) {
                return Long.parseLong(l.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw fail("/proc/" + pid + "/status has no " + field);
    }

    /** One counter of /proc/PID/io (rchar, wchar). */
    static long ioCounter(long pid, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/io"))) {
            if (l.startsWith(field + ":")) {
                return Long.parseLong(l.substring(field.length() + 1).trim());
            }
        }
        throw fail("/proc/" + pid + "/io has no " + field);
    }

    static String mib(double bytes, double seconds) {
        return String.format("%.1f MiB/s", bytes / seconds / (1 << 20));
    }

    /** The command of a random stream of BYTES to stdout whose SHA-256 the child writes to SUM. */
    static List<String> randomOut(long bytes, Path sum) {
        return List.of("/bin/sh", "-c", "{ head -c " + bytes + " /dev/urandom | tee /dev/fd/3 | sha256sum >" + sum
                + "; } 3>&1");
    }

    static void checkOut(Sink sink, long bytes, Path sum) throws IOException {
        if (sink.n != bytes) {
            throw fail("the log holds " + sink.n + " bytes, the child wrote " + bytes);
        }
        String child = Files.readString(sum).trim().split("\\s+")[0];
        String got = sink.hex();
        if (!got.equals(child)) {
            throw fail("log SHA-256 " + got + ", the child's " + child);
        }
    }

    static void out(Channel ch, long bytes) throws Exception {
        FreestyleFlow.Build b = build(ch, "pipe-out", 21);
        Path sum = b.ws.resolve("out.sha256");
        Sink sink = new Sink(0);
        ch.setTrace(false);
        long t0 = System.nanoTime();
        int oid = launch(ch, b, randomOut(bytes, sum), null, sink);
        Object r = join(ch, oid, 600_000);
        double s = (System.nanoTime() - t0) / 1e9;
        ch.setTrace(true);
        if (!Integer.valueOf(0).equals(r)) {
            throw fail("join returned " + r);
        }
        checkOut(sink, bytes, sum);
        ch.call(new KillTask(b.model()), 15_000);
        ch.log(String.format("pipe-out: %d bytes agent->controller in %.2f s = %s, SHA-256 matches the child's",
                bytes, s, mib(bytes, s)));
    }

    static void in(Channel ch, long bytes) throws Exception {
        FreestyleFlow.Build b = build(ch, "pipe-in", 22);
        Source src = new Source(bytes);
        FreestyleFlow.Log log = new FreestyleFlow.Log();
        ch.setTrace(false);
        long t0 = System.nanoTime();
        int oid = launch(ch, b, List.of("sha256sum"), src, log);
        Object r = join(ch, oid, 600_000);
        double s = (System.nanoTime() - t0) / 1e9;
        ch.setTrace(true);
        if (!Integer.valueOf(0).equals(r)) {
            throw fail("join returned " + r + "; log: " + log.text());
        }
        if (src.given != bytes) {
            throw fail("the agent read " + src.given + " of " + bytes + " bytes; log: " + log.text());
        }
        String want = src.hex() + "  -\n";
        if (!log.text().equals(want)) {
            throw fail("sha256sum printed '" + log.text().trim() + "', the controller sent " + want.trim());
        }
        ch.call(new KillTask(b.model()), 15_000);
        ch.log(String.format("pipe-in: %d bytes controller->agent in %.2f s = %s, the child's SHA-256 matches",
                bytes, s, mib(bytes, s)));
    }

    /** The child of {@code shell} (at any depth) whose command ends with {@code /name}. */
    static long descendant(long shell, String name, long ms) throws Exception {
        long end = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < end) {
            Optional<ProcessHandle> p = ProcessHandle.of(shell);
            if (p.isPresent()) {
                for (ProcessHandle d : (Iterable<ProcessHandle>) p.get().descendants()::iterator) {
                    if (d.info().command().orElse("").endsWith("/" + name)) {
                        return d.pid();
                    }
                }
            }
            Thread.sleep(20);
        }
        throw fail("no '" + name + "' process under " + shell + " after " + ms + " ms");
    }

    static void stall(Channel ch, long bytes, long pauseMs, long boundKb) throws Exception {
        FreestyleFlow.Build b = build(ch, "pipe-stall", 23);
        long agent = agentPid(ch, b);
        long baseKb = statusKb(agent, "VmRSS");
        Path sum = b.ws.resolve("out.sha256");
        Path shPid = b.ws.resolve("sh.pid");
        long stallAt = 4L << 20;
        if (bytes < 2 * stallAt) {
            throw fail("pipe-stall needs at least " + 2 * stallAt + " bytes");
        }
        Sink sink = new Sink(stallAt);
        List<String> cmd = new ArrayList<>(randomOut(bytes, sum));
        /* Util.replaceMacro turns $$ into $ on the agent. */
        cmd.set(2, "echo $$$$ >" + shPid + "; " + cmd.get(2));
        ch.setTrace(false);
        int oid = launch(ch, b, cmd, null, sink);
        CompletableFuture<Object> joined = CompletableFuture.supplyAsync(() -> {
            try {
                return join(ch, oid, 600_000);
            } catch (Exception e) {
                return e;
            }
        });
        long tee = descendant(FreestyleFlow.readPid(shPid, CALL_MS), "tee", CALL_MS);
        if (!sink.stalled.await(60, TimeUnit.SECONDS)) {
            sink.resume.countDown();
            throw fail("the log never reached " + stallAt + " bytes (" + sink.n + ")");
        }
        long stalledAt = sink.n;
        long maxRss;
        long w1;
        long w2;
        long r1;
        long r2;
        long rss1;
        try {
            /* Let what was in flight settle (tee unchanged for 500 ms, at most half the pause, so
             * a loaded machine gets time), then watch the producer and the agent for the rest.
             * tee writes every block to the sha256sum pipe, then to the agent's pipe: half of its
             * wchar is what it wrote to the agent, give or take one block. */
            long t0 = System.currentTimeMillis();
            long settleEnd = t0 + pauseMs / 2;
            w1 = ioCounter(tee, "wchar") / 2;
            int still = 0;
            while (still < 5 && System.currentTimeMillis() < settleEnd) {
                Thread.sleep(100);
                long w = ioCounter(tee, "wchar") / 2;
                still = w == w1 ? still + 1 : 0;
                w1 = w;
            }
            r1 = ioCounter(agent, "rchar");
            rss1 = statusKb(agent, "VmRSS");
            maxRss = rss1;
            long end = t0 + pauseMs;
            while (System.currentTimeMillis() < end) {
                Thread.sleep(100);
                maxRss = Math.max(maxRss, statusKb(agent, "VmRSS"));
            }
            w2 = ioCounter(tee, "wchar") / 2;
            r2 = ioCounter(agent, "rchar");
        } finally {
            sink.resume.countDown();
        }
        Object r = joined.get(600, TimeUnit.SECONDS);
        ch.setTrace(true);
        long hwm = statusKb(agent, "VmHWM");
        ch.log(String.format("pipe-stall: sink stalled at %d bytes for %d ms; child's tee wrote %d then %d "
                + "(in flight %d, bound %d); agent read %d bytes while stalled; agent VmRSS %d kB before launch, "
                + "%d kB at stall, max %d kB while stalled, VmHWM %d kB (bound +%d kB)", stalledAt, pauseMs, w1, w2,
                w2 - stalledAt, IN_FLIGHT_MAX, r2 - r1, baseKb, rss1, maxRss, hwm, boundKb));
        if (r instanceof Exception) {
            throw (Exception) r;
        }
        if (!Integer.valueOf(0).equals(r)) {
            throw fail("join returned " + r);
        }
        if (w2 != w1) {
            throw fail("the child kept writing while the controller did not read (" + w1 + " -> " + w2
                    + "): back-pressure did not reach it");
        }
        if (w2 - stalledAt > IN_FLIGHT_MAX) {
            throw fail((w2 - stalledAt) + " bytes in flight while the controller did not read, more than the window "
                    + IN_FLIGHT_MAX);
        }
        if (r2 - r1 > 64 * 1024) {
            throw fail("the agent read " + (r2 - r1) + " bytes while the controller did not read");
        }
        if (maxRss - rss1 > 1024) {
            throw fail("agent VmRSS grew from " + rss1 + " to " + maxRss + " kB while the controller did not read");
        }
        if (hwm - baseKb > boundKb) {
            throw fail("agent VmHWM " + hwm + " kB is more than " + boundKb + " kB above its VmRSS before the launch ("
                    + baseKb + " kB)");
        }
        checkOut(sink, bytes, sum);
        ch.call(new KillTask(b.model()), 15_000);
        ch.log("pipe-stall: all " + bytes + " bytes arrived after the stall, SHA-256 matches the child's");
    }

    static void cut(Channel ch, String mode, boolean reconnect) throws Exception {
        if (!List.of("close", "drop", "term").contains(mode)) {
            throw fail("pipe-cut: unknown mode '" + mode + "' (close, drop, term)");
        }
        FreestyleFlow.Build b = build(ch, "pipe-cut", 24);
        long agent = agentPid(ch, b);
        Path catPid = b.ws.resolve("cat.pid");
        Source src = new Source(Long.MAX_VALUE);
        Sink sink = new Sink(0);
        ch.setTrace(false);
        int oid = launch(ch, b, List.of("/bin/sh", "-c", "echo $$$$ >" + catPid + "; exec cat"), src, sink);
        CompletableFuture<Object> joined = ch.callAsync(new RemoteInvocationHandler.UserRPCRequest(oid, PROCESS,
                "join", new String[0], new Object[0], false));
        long cat = FreestyleFlow.readPid(catPid, CALL_MS);
        long end = System.currentTimeMillis() + 60_000;
        while (sink.n < (8L << 20) && System.currentTimeMillis() < end && !ch.isTerminated()) {
            Thread.sleep(10);
        }
        if (sink.n < (8L << 20)) {
            throw fail("only " + sink.n + " bytes came back through cat (" + ch.awaitTermination(0) + ")");
        }
        long sent = src.given;
        long got = sink.n;
        switch (mode) {
            case "close":
                ch.close(CLOSE_MS);
                if (!ch.closeReceived()) {
                    throw fail("the agent did not answer our CloseCommand mid-stream within "
                            + CLOSE_MS + " ms (" + ch.awaitTermination(0) + ")");
                }
                break;
            case "drop":
                ch.abortLink();
                break;
            default:
                ProcessHandle.of(agent).ifPresent(ProcessHandle::destroy); /* SIGTERM, as docker stop */
                break;
        }
        String why = ch.awaitTermination(15_000);
        ch.setTrace(true);
        if (why == null) {
            throw fail("the channel did not end within 15 s after " + mode);
        }
        try {
            Object r = joined.get(5, TimeUnit.SECONDS);
            throw fail("join returned " + r + " although the channel ended");
        } catch (java.util.concurrent.ExecutionException e) {
            /* pending calls fail when the channel ends */
        }
        /* The agent exits (-noReconnect, or SIGTERM); cat then sees EOF and goes too. */
        long gone = System.currentTimeMillis() + 20_000;
        while (!FreestyleFlow.gone(cat) && System.currentTimeMillis() < gone) {
            Thread.sleep(50);
        }
        if (!FreestyleFlow.gone(cat)) {
            ProcessHandle.of(cat).ifPresent(ProcessHandle::destroyForcibly);
            throw fail("the step's cat (" + cat + ") still runs 20 s after the channel ended");
        }
        if (reconnect) {
            /* Without -noReconnect the agent stays and connects again, as agent.jar does. */
            Thread.sleep(500);
            if (!ProcessHandle.of(agent).map(ProcessHandle::isAlive).orElse(false) || FreestyleFlow.gone(agent)) {
                throw fail("the agent (" + agent + ") exited after " + mode + " instead of reconnecting");
            }
            ch.log(String.format("pipe-cut %s: after %d bytes in and %d out, channel ended (%s), step gone, agent "
                    + "still running", mode, sent, got, why));
            return;
        }
        long agentGone = System.currentTimeMillis() + 15_000;
        while (ProcessHandle.of(agent).map(ProcessHandle::isAlive).orElse(false)
                && System.currentTimeMillis() < agentGone) {
            Thread.sleep(50);
        }
        if (ProcessHandle.of(agent).map(ProcessHandle::isAlive).orElse(false)
                && !FreestyleFlow.gone(agent)) {
            throw fail("the agent (" + agent + ") still runs 15 s after the channel ended");
        }
        ch.log(String.format("pipe-cut %s: after %d bytes in and %d out, channel ended (%s), step and agent gone",
                mode, sent, got, why));
    }

    static void soak(Channel ch, int n, long boundKb, int agentMin) throws Exception {
        FreestyleFlow.Build b = build(ch, "ping-soak", 25);
        long agent = agentPid(ch, b);
        ch.call(new hudson.slaves.ChannelPinger.SetUpRemotePing(1, 240), CALL_MS);
        int agentPings0 = ch.receivedByClass().getOrDefault("hudson.remoting.UserRequest", 0);
        ch.setTrace(false);
        long warm = 0;
        long t0 = System.nanoTime();
        long worst = 0;
        for (int i = 0; i < n; i++) {
            if (i == n / 10) {
                warm = statusKb(agent, "VmRSS");
            }
            long p0 = System.nanoTime();
            Object r = ch.call(new PingThread.Ping(), CALL_MS);
            worst = Math.max(worst, System.nanoTime() - p0);
            if (r != null) {
                throw fail("ping " + i + " returned " + r);
            }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        ch.setTrace(true);
        long last = statusKb(agent, "VmRSS");
        int agentPings = ch.receivedByClass().getOrDefault("hudson.remoting.UserRequest", 0) - agentPings0;
        ch.log(String.format("ping-soak: %d pings in %.2f s (worst %.1f ms), %d agent pings answered; agent VmRSS "
                + "%d kB after %d, %d kB after %d (bound +%d kB)", n, s, worst / 1e6, agentPings, warm, n / 10, last, n,
                boundKb));
        if (last - warm > boundKb) {
            throw fail("agent VmRSS grew by " + (last - warm) + " kB over " + (n - n / 10) + " pings");
        }
        if (agentPings < agentMin) {
            throw fail("the agent sent " + agentPings + " pings, expected at least " + agentMin);
        }
        if (!ch.problems().isEmpty()) {
            throw fail("problems: " + ch.problems());
        }
    }
}
