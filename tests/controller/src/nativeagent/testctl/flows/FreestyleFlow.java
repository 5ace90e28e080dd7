package nativeagent.testctl.flows;

import hudson.EnvVars;
import hudson.FilePath;
import hudson.Launcher;
import hudson.Launcher.IOTriplet;
import hudson.Launcher.RemoteLaunchCallable;
import hudson.Launcher.RemoteLauncher.KillTask;
import hudson.model.StreamBuildListener;
import hudson.remoting.RemoteInputStream;
import hudson.remoting.RemoteInvocationHandler;
import hudson.remoting.Request;
import hudson.tasks.Shell;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import jenkins.tasks.filters.EnvVarsFilterRuleWrapper;
import nativeagent.testctl.channel.Channel;
import nativeagent.testctl.channel.RemoteError;

/**
 * Flow A.3 of callables.md: a freestyle job with one "Execute shell" step, replayed call by call
 * as Jenkins core runs it (AbstractProject.checkout, CommandInterpreter.perform, Shell,
 * Launcher.RemoteLauncher, AbstractBuild's KillTask), against a real agent on this machine.
 *
 * <p>Scenarios (tests/controller/CHANNEL.md): {@code freestyle[:CODE]}, {@code freestyle-abort},
 * {@code killtask}, {@code steps-many[:N]}, {@code steps-stream[:BYTES]} (quiet launch of
 * {@code yes | head -c BYTES}; the log is checked by SHA-256 and the rate is printed),
 * {@code steps-overhead[:N]} (N launches of {@code true}, launch to join, printed). Each throws
 * {@link IllegalStateException} with the reason when an expectation fails.
 */
public final class FreestyleFlow {
    static final long CALL_MS = Long.getLong("testctl.callTimeoutMs", 10_000);
    static final String PROCESS = "hudson.Launcher$RemoteProcess";

    private FreestyleFlow() {
    }

    /** Run scenario {@code name}: null on PASS, {@link Flows#UNKNOWN} if it is not one of ours, else the reason. */
    public static String run(String name, String arg, Channel ch) {
        return guarded(name, arg, () -> {
            switch (name) {
                case "freestyle":
                    freestyle(ch, arg == null ? 3 : Integer.parseInt(arg));
                    return null;
                case "freestyle-abort":
                    abort(ch);
                    return null;
                case "killtask":
                    killtask(ch);
                    return null;
                case "steps-many":
                    many(ch, arg == null ? 8 : Integer.parseInt(arg));
                    return null;
                case "steps-stream":
                    stream(ch, arg == null ? 50L << 20 : Long.parseLong(arg));
                    return null;
                case "steps-overhead":
                    overhead(ch, arg == null ? 50 : Integer.parseInt(arg));
                    return null;
                default:
                    return Flows.UNKNOWN;
            }
        });
    }

    /** A scenario's body: null on PASS, {@link Flows#UNKNOWN} if the name is not its own, else the reason. */
    interface Body {
        String run() throws Exception;
    }

    /**
     * Run a step flow's scenario {@code name:arg} and turn what it throws into the FAIL reason (a failed
     * check, a bad number in the argument, an error from the agent, anything else); then remove the
     * builds' workspaces. FreestyleFlow, PipeFlow and PipeBench run their scenarios through this.
     */
    static String guarded(String name, String arg, Body body) {
        try {
            return body.run();
        } catch (IllegalStateException e) {
            return e.getMessage();
        } catch (NumberFormatException e) {
            return "bad scenario argument in '" + name + ":" + arg + "': " + e.getMessage();
        } catch (RemoteError e) {
            return "agent error: " + e.fullText();
        } catch (Exception e) {
            return "unexpected " + e;
        } finally {
            cleanup();
        }
    }

    static IllegalStateException fail(String why) {
        return new IllegalStateException(why);
    }

    /** The build log: what the agent writes through the listener's RemoteOutputStream. */
    static final class Log extends OutputStream {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            buf.write(b);
            notifyAll();
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            buf.write(b, off, len);
            notifyAll();
        }

        synchronized String text() {
            return buf.toString(StandardCharsets.UTF_8);
        }

        synchronized boolean await(String s, long ms) throws InterruptedException {
            long end = System.currentTimeMillis() + ms;
            while (!buf.toString(StandardCharsets.UTF_8).contains(s)) {
                long left = end - System.currentTimeMillis();
                if (left <= 0) {
                    return false;
                }
                wait(left);
            }
            return true;
        }
    }

    /** One build: its workspace, cookies and environment, as Run/AbstractBuild make them. */
    static final class Build {
        final String job;
        final int number;
        final Path ws;
        final Map<String, String> env = new LinkedHashMap<>();

        Build(String job, int number) throws IOException {
            this.job = job;
            this.number = number;
            Path root = Path.of(System.getProperty("java.io.tmpdir"), "testctl-" + ProcessHandle.current().pid());
            this.ws = root.resolve("workspace").resolve(job);
            String cookie = UUID.randomUUID().toString();
            env.put("BUILD_DISPLAY_NAME", "#" + number);
            env.put("BUILD_ID", Integer.toString(number));
            env.put("BUILD_NUMBER", Integer.toString(number));
            env.put("BUILD_TAG", "jenkins-" + job + "-" + number);
            env.put("EXECUTOR_NUMBER", "0");
            env.put("HUDSON_SERVER_COOKIE", cookie);
            env.put("JENKINS_SERVER_COOKIE", cookie);
            env.put("JOB_BASE_NAME", job);
            env.put("JOB_NAME", job);
            env.put("NODE_NAME", "test-agent");
            env.put("WORKSPACE", ws.toString());
            /* EnvVars semantics checked by the script: PATH+XYZ prepends, $REF expands. */
            env.put("PATH+TESTCTL", "/opt/testctl/bin");
            env.put("GREETING", "hello from $JOB_NAME");
        }

        String[] envArray() {
            List<String> l = new ArrayList<>();
            for (Map.Entry<String, String> e : env.entrySet()) {
                l.add(e.getKey() + "=" + e.getValue());
            }
            return l.toArray(new String[0]);
        }

        /** AbstractBuild's KillTask model (A.3 step 10). */
        EnvVars model() {
            EnvVars m = new EnvVars();
            for (String k : new String[] {"JENKINS_SERVER_COOKIE", "HUDSON_SERVER_COOKIE", "JOB_NAME",
                    "JOB_BASE_NAME", "BUILD_NUMBER", "BUILD_ID", "BUILD_TAG"}) {
                m.put(k, env.get(k));
            }
            return m;
        }
    }

    static Object act(Channel ch, FilePath.FileCallable task, String path) throws Exception {
        return ch.call(new FilePath.FileCallableWrapper(task, new FilePath(path)), CALL_MS);
    }

    /** A.3 steps 2-5: workspace, script file, environment, interpreter. Returns the script path. */
    static String prepare(Channel ch, Build b, String script, boolean checkEnv) throws Exception {
        Object r = act(ch, Launcher.mkdirs(), b.ws.toString());
        if (!Boolean.TRUE.equals(r)) {
            throw fail("FilePath$Mkdirs returned " + r);
        }
        if (!Files.isDirectory(b.ws)) {
            throw fail("FilePath$Mkdirs: " + b.ws + " is not a directory");
        }
        /* Shell.getContents(): a script without #! gets a leading newline. */
        String contents = script.startsWith("#!") ? script : "\n" + script;
        r = act(ch, Launcher.createTextTempFile(false, "jenkins", ".sh", contents), b.ws.toString());
        if (!(r instanceof String)) {
            throw fail("FilePath$CreateTextTempFile returned " + r);
        }
        String path = (String) r;
        String name = Path.of(path).getFileName().toString();
        if (!path.startsWith("/tmp/") || !name.startsWith("jenkins") || !name.endsWith(".sh")) {
            throw fail("CreateTextTempFile: unexpected path " + path);
        }
        if (!Files.readString(Path.of(path)).equals(contents)) {
            throw fail("CreateTextTempFile: " + path + " does not hold the script");
        }
        if (checkEnv) {
            r = ch.call(new EnvVars.GetEnvVars(), CALL_MS);
            if (!(r instanceof EnvVars) || !((EnvVars) r).containsKey("PATH")) {
                throw fail("EnvVars$GetEnvVars returned " + r);
            }
            r = ch.call(new Shell.DescriptorImpl.Shellinterpreter(), CALL_MS);
            if (!"/bin/sh".equals(r)) {
                throw fail("Shellinterpreter returned " + r);
            }
        }
        return path;
    }

    /** The listener Launcher.RemoteLauncher sends: a StreamBuildListener over {@code log}, exported now. */
    static StreamBuildListener listener(Channel ch, OutputStream log) {
        return new StreamBuildListener(ch.remoteOutputStream(log), "UTF-8");
    }

    /**
     * A.3 step 6: the RemoteLaunchCallable Launcher.RemoteLauncher sends for {@code cmd} in b's workspace with
     * b's environment; {@code stdin} is null or a controller InputStream (RemoteInputStream). The caller makes
     * the listener and stdin, so it decides the order in which their oids are exported.
     */
    static RemoteLaunchCallable launchCallable(Build b, List<String> cmd, StreamBuildListener listener,
            RemoteInputStream stdin, boolean quiet) {
        return new RemoteLaunchCallable(new ArrayList<>(cmd), null, b.envArray(), stdin, false, null, false, null,
                false, quiet, b.ws.toString(), listener, listener, EnvVarsFilterRuleWrapper.empty());
    }

    /** A.3 steps 6 and 7 without checks: call {@code c}, ask getIOtriplet as ProcImpl does; the RemoteProcess oid. */
    static int start(Channel ch, RemoteLaunchCallable c) throws Exception {
        RemoteInvocationHandler h = RemoteInvocationHandler.unwrap(ch.call(c, CALL_MS));
        if (h == null) {
            throw fail("RemoteLaunchCallable did not return a proxy");
        }
        rpc(ch, h.oid, "getIOtriplet");
        return h.oid;
    }

    /** A.3 step 6: RemoteLaunchCallable, checked; returns the oid of the RemoteProcess proxy. */
    static int launch(Channel ch, Build b, List<String> cmd, Log log, boolean quiet) throws Exception {
        RemoteLaunchCallable c = launchCallable(b, cmd, listener(ch, log), null, quiet);
        Object r = ch.call(c, CALL_MS);
        RemoteInvocationHandler h = RemoteInvocationHandler.unwrap(r);
        if (h == null || !(r instanceof Launcher.RemoteProcess)) {
            throw fail("RemoteLaunchCallable returned " + r + " instead of a " + PROCESS + " proxy");
        }
        if (!h.userProxy || h.goingHome) {
            throw fail("RemoteProcess proxy flags: userProxy=" + h.userProxy + " goingHome=" + h.goingHome);
        }
        /* A.3 step 7: the ProcImpl constructor asks for the IOTriplet at once. */
        Object t = rpc(ch, h.oid, "getIOtriplet");
        if (!(t instanceof IOTriplet)) {
            throw fail("getIOtriplet returned " + t);
        }
        IOTriplet io = (IOTriplet) t;
        if (io.stdout != null || io.stderr != null || io.stdin != null) {
            throw fail("IOTriplet should have null fields: " + io);
        }
        return h.oid;
    }

    static Object rpc(Channel ch, int oid, String method) throws Exception {
        return ch.rpc(oid, PROCESS, method, new String[0], new Object[0], true, true, CALL_MS);
    }

    static void finishBuild(Channel ch, Build b, String script) throws Exception {
        /* A.3 step 9 (also after a failure or an abort), then step 10. */
        Object r = act(ch, Launcher.delete(), script);
        if (r != null) {
            throw fail("FilePath$Delete returned " + r);
        }
        if (Files.exists(Path.of(script))) {
            throw fail("FilePath$Delete left " + script);
        }
        r = ch.call(new KillTask(b.model()), 15_000);
        if (r != null) {
            throw fail("KillTask returned " + r);
        }
    }

    /** What /bin/sh -xe prints for the script here (same machine, same shell). */
    static String expected(String script, Map<String, String> vars, Path dir) throws Exception {
        Path f = Files.createTempFile("testctl-oracle", ".sh");
        try {
            Files.writeString(f, "\n" + script);
            ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-xe", f.toString()).redirectErrorStream(true);
            pb.directory(dir.toFile());
            pb.environment().putAll(vars);
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            p.waitFor();
            return new String(out, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(f);
        }
    }

    static void freestyle(Channel ch, int code) throws Exception {
        Build b = new Build("freestyle", 7);
        String script = "echo \"$GREETING build $BUILD_NUMBER\"\n"
                + "echo \"path head: ${PATH%%:*}\"\n"
                + "echo \"cookie: ${HUDSON_COOKIE:+set}\"\n"
                + "pwd\n"
                + "echo to-stderr >&2\n"
                + "seq 1 20000\n"
                + "exit " + code + "\n";
        String path = prepare(ch, b, script, true);
        Log log = new Log();
        int oid = launch(ch, b, List.of("/bin/sh", "-xe", path), log, false);
        Object r = rpc(ch, oid, "join");
        if (!(r instanceof Integer) || (Integer) r != code) {
            throw fail("join returned " + r + ", expected " + code);
        }
        String want = "[freestyle] $ /bin/sh -xe " + path + "\n" + expected(script, Map.of(
                "GREETING", "hello from freestyle", "BUILD_NUMBER", "7",
                "PATH", "/opt/testctl/bin:" + System.getenv("PATH"), "HUDSON_COOKIE", "x"), b.ws);
        String got = log.text();
        if (!got.equals(want)) {
            throw fail("build log differs (" + got.length() + " chars, want " + want.length() + "): first difference at "
                    + firstDiff(got, want) + "\n--- got (head):\n" + head(got) + "\n--- want (head):\n" + head(want));
        }
        r = rpc(ch, oid, "isAlive");
        if (!Boolean.FALSE.equals(r)) {
            throw fail("isAlive after join returned " + r);
        }
        finishBuild(ch, b, path);
        ch.log("freestyle: build log of " + got.length() + " chars complete and in order, exit code " + code);
    }

    static int firstDiff(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            if (a.charAt(i) != b.charAt(i)) {
                return i;
            }
        }
        return n;
    }

    static String head(String s) {
        return s.length() <= 400 ? s : s.substring(0, 400) + "...";
    }

    static boolean gone(long pid) {
        try {
            String st = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = st.charAt(st.lastIndexOf(')') + 2);
            return state == 'Z' || state == 'X';
        } catch (IOException e) {
            return true;
        }
    }

    static long readPid(Path f, long ms) throws Exception {
        long end = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < end) {
            if (Files.exists(f)) {
                String s = Files.readString(f).trim();
                if (!s.isEmpty()) {
                    return Long.parseLong(s);
                }
            }
            Thread.sleep(20);
        }
        throw fail("no pid in " + f + " after " + ms + " ms");
    }

    static void abort(Channel ch) throws Exception {
        Build b = new Build("abort", 8);
        Path pids = b.ws.resolve("pids");
        String script = "sh -c 'trap \"\" TERM; echo $$ > " + pids + ".stubborn; exec sleep 300' &\n"
                + "echo $$ > " + pids + ".shell\n"
                + "echo started\n"
                + "sleep 300\n";
        String path = prepare(ch, b, script, true);
        Log log = new Log();
        int oid = launch(ch, b, List.of("/bin/sh", "-xe", path), log, false);
        if (!log.await("started\n", CALL_MS)) {
            throw fail("the script did not start: " + log.text());
        }
        long shell = readPid(Path.of(pids + ".shell"), CALL_MS);
        long stubborn = readPid(Path.of(pids + ".stubborn"), CALL_MS);
        /* join as ProcImpl.join() calls it; the UserRequest carrying the RPC takes the next id after
         * the UserRPCRequest's own (ids are one JVM-wide counter, and nothing else runs now). */
        RemoteInvocationHandler.UserRPCRequest rq = new RemoteInvocationHandler.UserRPCRequest(oid, PROCESS,
                "join", new String[0], new Object[0], false);
        CompletableFuture<Object> join = ch.callAsync(rq);
        int joinId = rq.id + 1;
        Thread.sleep(300);
        if (join.isDone()) {
            throw fail("join returned before the process ended: " + join.get());
        }
        long t0 = System.nanoTime();
        ch.send(new Request.Cancel(joinId)); /* the build was aborted: the executor thread is interrupted */
        try {
            Object r = join.get(15, TimeUnit.SECONDS);
            throw fail("cancelled join returned " + r + " instead of an InterruptedException");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            String text = c instanceof RemoteError ? ((RemoteError) c).fullText() : String.valueOf(c);
            if (!text.contains("InterruptedException")) {
                throw fail("cancelled join failed with " + text + ", expected an InterruptedException");
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        for (long pid : new long[] {shell, stubborn}) {
            if (!gone(pid)) {
                throw fail("process " + pid + " still alive after the cancelled join");
            }
        }
        Object alive = rpc(ch, oid, "isAlive");
        if (!Boolean.FALSE.equals(alive)) {
            throw fail("isAlive after the abort returned " + alive);
        }
        finishBuild(ch, b, path);
        ch.log("freestyle-abort: join cancelled, InterruptedException after " + ms
                + " ms, shell and SIGTERM-ignoring child gone");
    }

    static void killtask(Channel ch) throws Exception {
        Build b = new Build("killtask", 9);
        Path pid = b.ws.resolve("bg.pid");
        String script = "sleep 300 >/dev/null 2>&1 &\n"
                + "echo $! > " + pid + "\n"
                + "echo leaving a process behind\n";
        String path = prepare(ch, b, script, false);
        Log log = new Log();
        int oid = launch(ch, b, List.of("/bin/sh", "-xe", path), log, false);
        Object r = rpc(ch, oid, "join");
        if (!Integer.valueOf(0).equals(r)) {
            throw fail("join returned " + r + "; log:\n" + log.text());
        }
        long bg = readPid(pid, CALL_MS);
        if (gone(bg)) {
            throw fail("the background process " + bg + " is not running before KillTask");
        }
        long t0 = System.nanoTime();
        finishBuild(ch, b, path);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long end = System.currentTimeMillis() + 2000;
        while (!gone(bg) && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        if (!gone(bg)) {
            throw fail("KillTask left process " + bg + " (it carries the build's cookies) alive");
        }
        ch.log("killtask: leftover process " + bg + " killed by KillTask (" + ms + " ms incl. Delete)");
    }

    static void many(Channel ch, int n) throws Exception {
        List<Build> builds = new ArrayList<>();
        List<Log> logs = new ArrayList<>();
        List<Integer> oids = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Build b = new Build("many" + i, 100 + i);
            String script = "i=0\nwhile [ $i -lt 2000 ]; do echo \"step " + i + " line $i\"; i=$((i+1)); done >out.txt\n"
                    + "cat out.txt\nexit " + (i % 3) + "\n";
            paths.add(prepare(ch, b, script, false));
            builds.add(b);
        }
        for (int i = 0; i < n; i++) {
            Log log = new Log();
            logs.add(log);
            oids.add(launch(ch, builds.get(i), List.of("/bin/sh", "-e", paths.get(i)), log, true));
        }
        List<CompletableFuture<Object>> joins = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            joins.add(ch.callAsync(new RemoteInvocationHandler.UserRPCRequest(oids.get(i), PROCESS, "join",
                    new String[0], new Object[0], false)));
        }
        for (int i = 0; i < n; i++) {
            Object r = joins.get(i).get(30, TimeUnit.SECONDS);
            if (!Integer.valueOf(i % 3).equals(r)) {
                throw fail("launch " + i + ": join returned " + r);
            }
            StringBuilder want = new StringBuilder();
            for (int k = 0; k < 2000; k++) {
                want.append("step ").append(i).append(" line ").append(k).append('\n');
            }
            if (!logs.get(i).text().equals(want.toString())) {
                throw fail("launch " + i + ": log differs at " + firstDiff(logs.get(i).text(), want.toString()));
            }
            finishBuild(ch, builds.get(i), paths.get(i));
        }
        ch.log("steps-many: " + n + " concurrent launches, every log complete");
    }

    /** A sink that only hashes and counts (a 1 GiB log is not kept). */
    static final class HashLog extends OutputStream {
        final MessageDigest md;
        long n;

        HashLog() throws Exception {
            md = MessageDigest.getInstance("SHA-256");
        }

        @Override
        public synchronized void write(int b) {
            md.update((byte) b);
            n++;
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            md.update(b, off, len);
            n += len;
        }
    }

    static void stream(Channel ch, long bytes) throws Exception {
        Build b = new Build("stream", 11);
        act(ch, Launcher.mkdirs(), b.ws.toString());
        HashLog sink = new HashLog();
        String line = "0123456789abcdef\n";
        RemoteLaunchCallable c = launchCallable(b, List.of("/bin/sh", "-c", "yes 0123456789abcdef | head -c " + bytes),
                listener(ch, sink), null, true);
        long t0 = System.nanoTime();
        int oid = start(ch, c);
        Object r = ch.rpc(oid, PROCESS, "join", new String[0], new Object[0], true, true, 600_000);
        double s = (System.nanoTime() - t0) / 1e9;
        if (!Integer.valueOf(0).equals(r)) {
            throw fail("join returned " + r);
        }
        MessageDigest want = MessageDigest.getInstance("SHA-256");
        byte[] lb = line.getBytes(StandardCharsets.US_ASCII);
        byte[] block = new byte[lb.length * 4096];
        for (int i = 0; i < 4096; i++) {
            System.arraycopy(lb, 0, block, i * lb.length, lb.length);
        }
        long left = bytes;
        while (left > 0) {
            int k = (int) Math.min(left, block.length);
            want.update(block, 0, k);
            left -= k;
        }
        String got;
        synchronized (sink) {
            got = HexFormat.of().formatHex(sink.md.digest());
            if (sink.n != bytes) {
                throw fail("log holds " + sink.n + " bytes, expected " + bytes);
            }
        }
        String w = HexFormat.of().formatHex(want.digest());
        if (!got.equals(w)) {
            throw fail("log SHA-256 " + got + ", expected " + w);
        }
        ch.call(new KillTask(b.model()), 15_000);
        ch.log(String.format("steps-stream: %d bytes in %.2f s = %.1f MiB/s, SHA-256 matches", bytes, s,
                bytes / s / (1 << 20)));
    }

    static void overhead(Channel ch, int n) throws Exception {
        Build b = new Build("overhead", 12);
        act(ch, Launcher.mkdirs(), b.ws.toString());
        long[] us = new long[n];
        for (int i = 0; i < n; i++) {
            Log log = new Log();
            RemoteLaunchCallable c = launchCallable(b, List.of("true"), listener(ch, log), null, false);
            long t0 = System.nanoTime();
            int oid = start(ch, c);
            Object r = rpc(ch, oid, "join");
            us[i] = (System.nanoTime() - t0) / 1000;
            if (!Integer.valueOf(0).equals(r)) {
                throw fail("true: join returned " + r);
            }
        }
        Arrays.sort(us);
        ch.log(String.format("steps-overhead: %d launches of true, launch+getIOtriplet+join: median %.1f ms, "
                + "p90 %.1f ms, min %.1f ms", n, us[n / 2] / 1000.0, us[n * 9 / 10] / 1000.0, us[0] / 1000.0));
    }

    static void cleanup() {
        Path root = Path.of(System.getProperty("java.io.tmpdir"), "testctl-" + ProcessHandle.current().pid());
        try (var s = Files.walk(root)) {
            s.sorted((x, y) -> y.compareTo(x)).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            /* nothing to clean */
        }
    }
}
