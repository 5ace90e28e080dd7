package nativeagent.testctl.channel;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Tests the test controller itself: every scenario against {@link FakeAgent} in its good and bad
 * modes, over an in-memory {@link LoopbackLink}, with both agent capability masks. Each case states
 * the expected verdict; a scenario that passes against a misbehaving agent is a bug in the scenario.
 * Run: {@code java -cp <classes> nativeagent.testctl.channel.SelfTest}.
 */
public final class SelfTest {
    private SelfTest() {
    }

    private static int failures;

    public static void main(String[] args) throws Exception {
        System.setProperty("testctl.callTimeoutMs", "1500");
        System.setProperty("testctl.pingIntervalMs", "100");
        System.setProperty("testctl.closeTimeoutMs", "1000");
        System.setProperty("testctl.trace", "false");
        long t0 = System.currentTimeMillis();
        for (long cap : new long[] {0x1FC, 0x1FE}) {
            expect("ping", cap, FakeAgent.Mode.GOOD, 0, null);
            expect("ping:5", cap, FakeAgent.Mode.GOOD, 0, null);
            expect("unsupported", cap, FakeAgent.Mode.GOOD, 0, "rejected");
            expect("close", cap, FakeAgent.Mode.GOOD, 0, null);
            expect("stream", cap, FakeAgent.Mode.STREAMS, 0, "received 100");
            expect("stream", cap, FakeAgent.Mode.GOOD, 0, "does not implement");
        }
        expect("idle:800", 0x1FC, FakeAgent.Mode.GOOD, 0, "pings over 800 ms");
        expect("hold:200", 0x1FC, FakeAgent.Mode.GOOD, 0, "200 ms passed");
        expect("ping", 0x1FC, FakeAgent.Mode.MUTE, 1, "no response within");
        expect("close", 0x1FC, FakeAgent.Mode.NO_CLOSE, 1, "did not answer");
        expect("unsupported", 0x1FC, FakeAgent.Mode.VAGUE_ERRORS, 1, "does not name the class");
        expect("stream", 0x1FE, FakeAgent.Mode.VAGUE_ERRORS, 1, "does not name the class");
        expect("idle:300", 0x1FC, FakeAgent.Mode.MUTE, 1, "ping 1 failed: java.util.concurrent.TimeoutException");
        expect("nosuch", 0x1FC, FakeAgent.Mode.GOOD, 1, "unknown scenario");
        channelChecks(0x1FC);
        channelChecks(0x1FE);
        System.out.println("self-test: " + (failures == 0 ? "all cases as expected" : failures + " FAILED")
                + " in " + (System.currentTimeMillis() - t0) + " ms");
        System.exit(failures == 0 ? 0 : 1);
    }

    private static void check(boolean ok, String what) {
        System.out.println((ok ? "ok   " : "BAD  ") + what);
        if (!ok) {
            failures++;
        }
    }

    private static boolean poll(java.util.function.BooleanSupplier cond) throws InterruptedException {
        for (int i = 0; i < 300 && !cond.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        return cond.getAsBoolean();
    }

    /** Channel API beyond the scenarios: agent-initiated requests, RPC both ways, writing into an agent sink, Acks. */
    private static void channelChecks(long cap) throws Exception {
        String m = String.format(" (capability 0x%03X)", cap);
        LoopbackLink[] pair = LoopbackLink.pair(cap, WireContext.JAVA_DEFAULT);
        FakeAgent fake = new FakeAgent(pair[1], FakeAgent.Mode.STREAMS);
        fake.sendOwn = true;
        Thread agent = new Thread(fake, "fake-agent");
        agent.setDaemon(true);
        agent.start();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Channel ch = new Channel(pair[0], new PrintStream(buf, true, StandardCharsets.UTF_8)).start();
        try {
            check(ch.call(new hudson.remoting.PingThread.Ping(), 2000) == null, "ping through the API" + m);
            check(poll(() -> fake.ownRequestsPending() == 0),
                    "agent-initiated Ping (RemoteIClassLoader of the controller's loader) answered, stale oid refused" + m);
            Object r1 = ch.rpc(5, "x.Greeter", "greet", new String[] {"java.lang.String"}, new Object[] {"bob"},
                    true, true, 2000);
            check("hi bob from x.Greeter.greet@5".equals(r1), "rpc via UserRequest(UserRPCRequest): " + r1 + m);
            Object r2 = ch.rpc(6, "x.Greeter", "greet", new String[] {"java.lang.String"}, new Object[] {"ann"},
                    false, false, 2000);
            check("hi ann from x.Greeter.greet@6".equals(r2), "rpc as a direct RPCRequest command: " + r2 + m);
            byte[] data = new byte[3 * 1024 * 1024 + 17];
            new java.util.Random(1).nextBytes(data);
            try (java.io.OutputStream os = ch.openAgentSink(9)) {
                os.write(data);
            }
            check(poll(() -> fake.sinkClosed) && java.util.Arrays.equals(fake.sinkBytes.toByteArray(), data),
                    "3 MiB into an agent sink through the 1 MiB window, then EOF" + m);
            Scenarios.RecordingSink sink = new Scenarios.RecordingSink();
            Object r3 = ch.call(new nativeagent.testctl.callables.WriteToStream(ch.remoteOutputStream(sink), "x".repeat(50_000)), 2000);
            check(r3 == null && sink.closed && sink.size() == 50_000 && poll(() -> fake.acks.get() == fake.chunksSent.get()),
                    "agent writes 50000 bytes: all there before the call returns, one Ack per Chunk ("
                    + fake.acks.get() + "/" + fake.chunksSent.get() + ")" + m);
            check(ch.problems().isEmpty(), "no channel problems " + ch.problems() + m);
            check(fake.agentProblems.isEmpty(), "no fake-agent problems " + fake.agentProblems + m);
        } catch (Exception e) {
            check(false, "channel checks threw " + e + m);
        } finally {
            ch.close(1000);
            agent.join(2000);
        }
        if (failures > 0) {
            System.out.println(buf.toString(StandardCharsets.UTF_8));
        }
    }

    private static void expect(String scenario, long agentCap, FakeAgent.Mode mode, int wantRc, String wantLog)
            throws InterruptedException {
        LoopbackLink[] pair = LoopbackLink.pair(agentCap, WireContext.JAVA_DEFAULT);
        Thread agent = new Thread(new FakeAgent(pair[1], mode), "fake-agent");
        agent.setDaemon(true);
        agent.start();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int rc = Scenarios.run(scenario, pair[0], log);
        pair[1].close();
        agent.join(5000);
        String text = buf.toString(StandardCharsets.UTF_8);
        String verdict = rc == 0 ? "PASS" : "FAIL";
        boolean ok = rc == wantRc && (wantLog == null || text.contains(wantLog))
                && text.contains("testctl: scenario " + scenario + ": " + verdict);
        String line = text.lines().filter(l -> l.contains(": scenario ")).findFirst().orElse("(no verdict line)");
        System.out.println((ok ? "ok   " : "BAD  ") + scenario + " vs " + mode + " agent, capability "
                + String.format("0x%03X", agentCap) + ": " + line);
        if (!ok) {
            failures++;
            System.out.println(text);
        }
    }
}
