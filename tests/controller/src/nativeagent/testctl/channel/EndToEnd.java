package nativeagent.testctl.channel;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The scenarios through the whole test controller: Main is started as a process (its command-line
 * contract, as the C agent's end-to-end tests use it), and {@link FakeAgent} connects over a real
 * WebSocket ({@link WsAgentLink}). Checks Main's exit code and the scenario's verdict line.
 * Run: {@code java -cp <classes> [-Dkeys=DIR] nativeagent.testctl.channel.EndToEnd}.
 */
public final class EndToEnd {
    private EndToEnd() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("testctl-e2e");
        String keys = System.getProperty("keys", work.resolve("keys").toString());
        int bad = 0;
        long t0 = System.currentTimeMillis();
        Object[][] cases = {
            {"unsupported", FakeAgent.Mode.GOOD, 0x1FEL, 0},
            {"stream", FakeAgent.Mode.STREAMS, 0x1FCL, 0},
            {"close", FakeAgent.Mode.GOOD, 0x1FCL, 0},
        };
        try {
            for (Object[] c : cases) {
                bad += runCase(work, keys, (String) c[0], (FakeAgent.Mode) c[1], (Long) c[2], (Integer) c[3]) ? 0 : 1;
            }
        } finally {
            try (java.util.stream.Stream<Path> w = Files.walk(work)) {
                w.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
            }
        }
        System.out.println("end-to-end: " + (bad == 0 ? "all cases as expected" : bad + " FAILED")
                + " in " + (System.currentTimeMillis() - t0) + " ms");
        System.exit(bad == 0 ? 0 : 1);
    }

    private static boolean runCase(Path work, String keys, String scenario, FakeAgent.Mode mode, long cap, int wantRc)
            throws Exception {
        Path dir = Files.createTempDirectory(work, "case");
        Path state = dir.resolve("state");
        Path log = dir.resolve("log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                "-Dtestctl.callTimeoutMs=3000", "-Dtestctl.closeTimeoutMs=2000", "-Dtestctl.pingIntervalMs=200",
                "nativeagent.testctl.Main", "--state-file", state.toString(), "--scenario", scenario,
                "--sessions", "1", "--timeout-ms", "30000", "--keys-dir", keys));
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        long t0 = System.currentTimeMillis();
        Process p = pb.start();
        try {
            Map<String, String> kv = waitForState(state, p);
            WsAgentLink link = WsAgentLink.connect(kv.get("ws_url"), kv.get("name"), kv.get("secret"), cap);
            Thread agent = new Thread(new FakeAgent(link, mode), "fake-agent");
            agent.setDaemon(true);
            agent.start();
            if (!p.waitFor(40, TimeUnit.SECONDS)) {
                throw new IllegalStateException("Main did not exit");
            }
            link.abort();
            int rc = p.exitValue();
            String text = Files.readString(log, StandardCharsets.UTF_8);
            String verdict = text.lines().filter(l -> l.contains("testctl: scenario ")).findFirst().orElse("(no verdict)");
            boolean ok = rc == wantRc && verdict.contains(wantRc == 0 ? ": PASS" : ": FAIL");
            System.out.println((ok ? "ok   " : "BAD  ") + scenario + " vs " + mode + " agent over WebSocket, capability "
                    + String.format("0x%03X", cap) + ": Main exit " + rc + " after " + (System.currentTimeMillis() - t0)
                    + " ms; " + verdict.trim());
            if (!ok) {
                System.out.println(text);
            }
            return ok;
        } catch (Exception e) {
            System.out.println("BAD  " + scenario + ": " + e);
            System.out.println(Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "(no log)");
            return false;
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static Map<String, String> waitForState(Path state, Process p) throws Exception {
        for (int i = 0; i < 600; i++) {
            if (Files.exists(state)) {
                Map<String, String> kv = new HashMap<>();
                for (String l : Files.readAllLines(state)) {
                    int eq = l.indexOf('=');
                    if (eq > 0) {
                        kv.put(l.substring(0, eq), l.substring(eq + 1));
                    }
                }
                return kv;
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("Main exited with " + p.exitValue() + " before writing " + state);
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("no state file " + state + " after 30 s");
    }
}
