package nativeagent.testctl.flows;

import hudson.Launcher;
import hudson.Launcher.RemoteLauncher.KillTask;
import hudson.remoting.RemoteInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import nativeagent.testctl.channel.Channel;

/**
 * Pipe throughput benchmarks of a build step, one direction each (bench/pipes.sh), with the
 * callables Jenkins core sends for a shell step (Launcher.RemoteLauncher):
 *
 * <ul>
 * <li>{@code pipebench-out[:BYTES]}: agent to controller. A quiet launch of
 * {@code yes 0123456789abcdef | head -c BYTES}; the step's output comes through the listener's
 * RemoteOutputStream (ProxyOutputStream$Chunk, window and Acks). The controller checks every byte
 * against the pattern (cheaper than a hash, so the controller's one reader thread stays fast).</li>
 * <li>{@code pipebench-in[:BYTES]}: controller to agent. A launch of {@code wc -c} whose stdin is a
 * controller InputStream sent as a non-greedy RemoteInputStream, as RemoteLauncher does for
 * {@code ProcStarter.stdin()}: the agent pulls it with ProxyInputStream$Chunk requests. The
 * controller checks that the step counted BYTES.</li>
 * </ul>
 *
 * Each prints {@code pipebench-out: N bytes in S s = R MiB/s} (launch to join) and throws
 * {@link IllegalStateException} when a check fails. Default BYTES: 64 MiB.
 */
public final class PipeBench {
    static final byte[] LINE = "0123456789abcdef\n".getBytes(StandardCharsets.US_ASCII);

    private PipeBench() {
    }

    /** Run scenario {@code name}: null on PASS, {@link Flows#UNKNOWN} if it is not one of ours, else the reason. */
    public static String run(String name, String arg, Channel ch) {
        return FreestyleFlow.guarded(name, arg, () -> {
            long bytes = arg == null ? 64L << 20 : Long.parseLong(arg);
            switch (name) {
                case "pipebench-out":
                    out(ch, bytes);
                    return null;
                case "pipebench-in":
                    in(ch, bytes);
                    return null;
                default:
                    return Flows.UNKNOWN;
            }
        });
    }

    /** Checks that what is written is the pattern LINE repeated, and counts it. */
    static final class PatternSink extends OutputStream {
        long n;
        long bad = -1; /* offset of the first byte that differs */

        @Override
        public synchronized void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            int k = (int) (n % LINE.length);
            for (int i = 0; i < len; i++) {
                if (b[off + i] != LINE[k] && bad < 0) {
                    bad = n + i;
                }
                k = k + 1 == LINE.length ? 0 : k + 1;
            }
            n += len;
        }
    }

    /** BYTES of the pattern, then end of stream. */
    static final class PatternSource extends InputStream {
        private final long total;
        private long pos;

        PatternSource(long total) {
            this.total = total;
        }

        @Override
        public synchronized int read() {
            if (pos >= total) {
                return -1;
            }
            return LINE[(int) (pos++ % LINE.length)];
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) {
            if (pos >= total) {
                return -1;
            }
            int n = (int) Math.min(len, total - pos);
            int k = (int) (pos % LINE.length);
            for (int i = 0; i < n; i++) {
                b[off + i] = LINE[k];
                k = k + 1 == LINE.length ? 0 : k + 1;
            }
            pos += n;
            return n;
        }
    }

    private static Object launchAndJoin(Channel ch, FreestyleFlow.Build b, List<String> cmd, RemoteInputStream in,
            OutputStream log) throws Exception {
        int oid = FreestyleFlow.start(ch,
                FreestyleFlow.launchCallable(b, cmd, FreestyleFlow.listener(ch, log), in, true));
        return ch.rpc(oid, FreestyleFlow.PROCESS, "join", new String[0], new Object[0], true, true, 900_000);
    }

    static void out(Channel ch, long bytes) throws Exception {
        FreestyleFlow.Build b = new FreestyleFlow.Build("pipebench-out", 21);
        FreestyleFlow.act(ch, Launcher.mkdirs(), b.ws.toString());
        PatternSink sink = new PatternSink();
        long t0 = System.nanoTime();
        Object r = launchAndJoin(ch, b, List.of("/bin/sh", "-c", "yes 0123456789abcdef | head -c " + bytes), null,
                sink);
        double s = (System.nanoTime() - t0) / 1e9;
        if (!Integer.valueOf(0).equals(r)) {
            throw FreestyleFlow.fail("join returned " + r);
        }
        synchronized (sink) {
            if (sink.n != bytes || sink.bad >= 0) {
                throw FreestyleFlow.fail("log holds " + sink.n + " bytes (expected " + bytes + "), first wrong byte at "
                        + sink.bad);
            }
        }
        ch.call(new KillTask(b.model()), 15_000);
        ch.log(String.format("pipebench-out: %d bytes in %.2f s = %.1f MiB/s, content checked", bytes, s,
                bytes / s / (1 << 20)));
    }

    static void in(Channel ch, long bytes) throws Exception {
        FreestyleFlow.Build b = new FreestyleFlow.Build("pipebench-in", 22);
        FreestyleFlow.act(ch, Launcher.mkdirs(), b.ws.toString());
        FreestyleFlow.Log log = new FreestyleFlow.Log();
        RemoteInputStream in = new RemoteInputStream(ch.exportInputStream(new PatternSource(bytes)));
        long t0 = System.nanoTime();
        Object r = launchAndJoin(ch, b, List.of("/bin/sh", "-c", "wc -c"), in, log);
        double s = (System.nanoTime() - t0) / 1e9;
        if (!Integer.valueOf(0).equals(r)) {
            throw FreestyleFlow.fail("join returned " + r);
        }
        /* The log is complete once join returned: its chunks precede join's Response (lastIoId). */
        String text = log.text().trim();
        if (!text.equals(Long.toString(bytes))) {
            throw FreestyleFlow.fail("wc -c on the agent counted '" + text + "', expected " + bytes);
        }
        ch.call(new KillTask(b.model()), 15_000);
        ch.log(String.format("pipebench-in: %d bytes in %.2f s = %.1f MiB/s, byte count checked", bytes, s,
                bytes / s / (1 << 20)));
    }
}
