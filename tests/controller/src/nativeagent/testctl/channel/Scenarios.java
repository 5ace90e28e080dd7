package nativeagent.testctl.channel;

import hudson.remoting.PingThread;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import nativeagent.testctl.callables.Echo;
import nativeagent.testctl.callables.Fail;
import nativeagent.testctl.callables.WriteToStream;
import nativeagent.testctl.link.CommandLink;

/**
 * The scenarios the test controller plays against one agent session. Names are a public contract
 * (tests/controller/CHANNEL.md). Each prints exactly one verdict line:
 * {@code testctl: scenario <name>: PASS} or {@code testctl: scenario <name>: FAIL: <why>}.
 *
 * <p>Every scenario fails if the channel recorded a protocol problem (an undecodable command, a
 * chunk to an unknown oid, a malformed Response, ...). All but {@code hold} end with an orderly
 * close from the controller.
 *
 * <p>Tunables (system properties): {@code testctl.callTimeoutMs} (10000),
 * {@code testctl.pingIntervalMs} (500, for idle), {@code testctl.closeTimeoutMs} (10000),
 * {@code testctl.trace} (true: log every command).
 */
public final class Scenarios {
    static final long CALL_TIMEOUT_MS = Long.getLong("testctl.callTimeoutMs", 10_000);
    static final long PING_INTERVAL_MS = Long.getLong("testctl.pingIntervalMs", 500);
    static final long CLOSE_TIMEOUT_MS = Long.getLong("testctl.closeTimeoutMs", 10_000);

    private Scenarios() {
    }

    /** A failed expectation; the message is the FAIL reason. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String why) {
            super(why);
        }
    }

    /** Run {@code scenario} ("name" or "name:arg") over {@code link}; 0 on PASS, 1 on FAIL. */
    public static int run(String scenario, CommandLink link, PrintStream log) {
        String name = scenario;
        String arg = null;
        int colon = scenario.indexOf(':');
        if (colon >= 0) {
            name = scenario.substring(0, colon);
            arg = scenario.substring(colon + 1);
        }
        Channel ch = new Channel(link, log);
        ch.setTrace(Boolean.parseBoolean(System.getProperty("testctl.trace", "true")));
        ch.start();
        String failure = null;
        try {
            switch (name) {
                case "hold":
                    hold(ch, arg);
                    break;
                case "ping":
                    ping(ch, arg == null ? 3 : Integer.parseInt(arg));
                    finish(ch);
                    break;
                case "unsupported":
                    unsupported(ch);
                    finish(ch);
                    break;
                case "close":
                    close(ch);
                    break;
                case "stream":
                    stream(ch);
                    finish(ch);
                    break;
                case "idle":
                    idle(ch, arg == null ? 3000 : Long.parseLong(arg));
                    finish(ch);
                    break;
                default:
                    /* flows of callables.md part A (tests/controller/src/nativeagent/testctl/flows) */
                    failure = nativeagent.testctl.flows.Flows.run(name, arg, ch, link);
                    if (failure == null) {
                        finish(ch);
                    } else if (failure.equals(nativeagent.testctl.flows.Flows.UNKNOWN)) {
                        failure = "unknown scenario '" + scenario + "' (known: hold, hold:MS, ping, ping:N, unsupported, close, stream, idle:MS, online, online:MS, monitors, pages)";
                    }
            }
        } catch (Failure f) {
            failure = f.getMessage();
        } catch (NumberFormatException e) {
            failure = "bad scenario argument in '" + scenario + "': " + e.getMessage();
        } catch (Exception e) {
            failure = "unexpected " + e;
        } finally {
            if (!ch.isTerminated()) {
                ch.close(CLOSE_TIMEOUT_MS);
            }
        }
        if (failure == null && !ch.problems().isEmpty()) {
            failure = "protocol problems: " + String.join("; ", ch.problems());
        }
        ch.log("commands: " + ch.commandsOut() + " sent, " + ch.commandsIn() + " received " + ch.receivedByClass());
        if (failure == null) {
            ch.log("scenario " + scenario + ": PASS");
            return 0;
        }
        ch.log("scenario " + scenario + ": FAIL: " + failure);
        return 1;
    }

    /** hold[:MS]: answer what the agent sends, until it disconnects (or MS ms passed: then close). */
    static void hold(Channel ch, String arg) {
        if (arg == null) {
            String why = ch.awaitTermination(Long.MAX_VALUE);
            ch.log("hold: " + why);
            return;
        }
        String why = ch.awaitTermination(Long.parseLong(arg));
        if (why == null) {
            ch.log("hold: " + arg + " ms passed, closing");
            finish(ch);
        } else {
            ch.log("hold: " + why);
        }
    }

    /** One PingThread$Ping: must come back as a successful null within the call timeout. */
    static long pingOnce(Channel ch, String what) throws Failure {
        long t0 = System.nanoTime();
        Object r;
        try {
            r = ch.call(new PingThread.Ping(), CALL_TIMEOUT_MS);
        } catch (TimeoutException e) {
            throw new Failure(what + ": no response within " + CALL_TIMEOUT_MS + " ms");
        } catch (RemoteError e) {
            throw new Failure(what + ": agent answered with an error (" + e.form + "): " + e.remote);
        } catch (Exception e) {
            throw new Failure(what + ": " + e);
        }
        if (r != null) {
            throw new Failure(what + ": expected a null result, got " + r.getClass().getName() + ": " + r);
        }
        return (System.nanoTime() - t0) / 1000;
    }

    /** ping[:N]: N pings in a row, each answered with a null NormalResponse. */
    static void ping(Channel ch, int n) throws Failure {
        long[] us = new long[n];
        for (int i = 0; i < n; i++) {
            us[i] = pingOnce(ch, "ping " + (i + 1) + "/" + n);
        }
        Arrays.sort(us);
        ch.log("ping: " + n + " round trips, median " + us[n / 2] + " us, max " + us[n - 1] + " us");
    }

    /** The agent must reject a callable it cannot know with an error naming its class, and stay up. */
    static void unsupported(Channel ch) throws Failure {
        String echoClass = Echo.class.getName();
        try {
            Object r = ch.call(new Echo("hello"), CALL_TIMEOUT_MS);
            if (!"hello".equals(r)) {
                throw new Failure(echoClass + " returned " + r + " instead of an error (or \"hello\")");
            }
            ch.log("unsupported: the agent implements " + echoClass);
        } catch (RemoteError e) {
            if (!e.fullText().contains(echoClass)) {
                throw new Failure("the error for " + echoClass + " does not name the class: " + e.fullText().trim());
            }
            ch.log("unsupported: " + echoClass + " rejected (" + e.form + "): " + e.remote);
        } catch (TimeoutException e) {
            throw new Failure("no reply to " + echoClass + " within " + CALL_TIMEOUT_MS + " ms");
        } catch (Exception e) {
            throw new Failure(echoClass + ": " + e);
        }
        String failClass = Fail.class.getName();
        try {
            Object r = ch.call(new Fail("boom"), CALL_TIMEOUT_MS);
            throw new Failure(failClass + " returned " + r + " instead of an error");
        } catch (RemoteError e) {
            String text = e.fullText();
            if (!text.contains(failClass) && !text.contains("boom")) {
                throw new Failure("the error for " + failClass + " names neither the class nor 'boom': " + text.trim());
            }
            ch.log("unsupported: " + failClass + " failed as expected (" + e.form + "): " + e.remote);
        } catch (TimeoutException e) {
            throw new Failure("no reply to " + failClass + " within " + CALL_TIMEOUT_MS + " ms");
        } catch (Failure f) {
            throw f;
        } catch (Exception e) {
            throw new Failure(failClass + ": " + e);
        }
        pingOnce(ch, "ping after unsupported callables");
    }

    /** close: one ping, then the controller closes; the agent must answer with its own CloseCommand. */
    static void close(Channel ch) throws Failure {
        pingOnce(ch, "ping before close");
        ch.close(CLOSE_TIMEOUT_MS);
        if (!ch.closeReceived()) {
            throw new Failure("the agent did not answer our Channel$CloseCommand with its own within "
                    + CLOSE_TIMEOUT_MS + " ms (" + ch.awaitTermination(0) + ")");
        }
    }

    /** End of a scenario: orderly close; the agent's answer is logged, not required. */
    static void finish(Channel ch) {
        if (ch.isTerminated()) {
            return;
        }
        ch.close(CLOSE_TIMEOUT_MS);
        if (!ch.closeReceived()) {
            ch.log("note: the agent did not answer CloseCommand (" + ch.awaitTermination(0) + ")");
        }
    }

    /** A sink that remembers what was written and whether it was closed. */
    static final class RecordingSink extends ByteArrayOutputStream {
        volatile boolean closed;
        final AtomicInteger flushes = new AtomicInteger();

        @Override
        public void flush() {
            flushes.incrementAndGet();
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /**
     * stream: export an OutputStream sink and send WriteToStream(sink, text). An agent implementing it
     * must deliver exactly the text and close the stream before its Response (Response.lastIoId covers
     * its writes); an agent that does not must reject it naming the class and must not write.
     */
    static void stream(Channel ch) throws Failure {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 100_000; i++) {
            sb.append("line ").append(i).append(" from the native agent\n");
        }
        String text = sb.toString();
        RecordingSink sink = new RecordingSink();
        int oid = ch.exportOutputStream(sink);
        ch.log("stream: exported sink as oid " + oid + ", " + text.length() + " bytes expected");
        String cls = WriteToStream.class.getName();
        try {
            Object r = ch.call(new WriteToStream(new hudson.remoting.RemoteOutputStream(oid), text), CALL_TIMEOUT_MS * 3);
            if (r != null) {
                throw new Failure(cls + " returned " + r + " instead of null");
            }
            byte[] got;
            synchronized (sink) {
                got = sink.toByteArray();
            }
            byte[] want = text.getBytes(StandardCharsets.UTF_8);
            if (!sink.closed || !Arrays.equals(got, want)) {
                throw new Failure("after the Response the sink has " + got.length + " of " + want.length
                        + " bytes" + (Arrays.equals(got, want) ? "" : " (content differs)")
                        + ", closed=" + sink.closed + " (Response.lastIoId must cover the agent's Chunks and EOF)");
            }
            ch.log("stream: received " + got.length + " bytes, " + sink.flushes.get() + " flushes, closed");
        } catch (RemoteError e) {
            if (!e.fullText().contains(cls)) {
                throw new Failure("the error for " + cls + " does not name the class: " + e.fullText().trim());
            }
            if (sink.size() != 0 || sink.closed) {
                throw new Failure("the agent rejected " + cls + " but wrote to the sink");
            }
            ch.log("stream: the agent does not implement " + cls + " (" + e.remote + "); only the export was exercised");
        } catch (TimeoutException e) {
            throw new Failure("no reply to " + cls + " within " + CALL_TIMEOUT_MS * 3 + " ms");
        } catch (Failure f) {
            throw f;
        } catch (Exception e) {
            throw new Failure(cls + ": " + e);
        }
        pingOnce(ch, "ping after stream");
    }

    /** idle:MS: like Jenkins' PingThread, ping every testctl.pingIntervalMs for MS ms; every ping must succeed. */
    static void idle(Channel ch, long ms) throws Failure, InterruptedException {
        Channel.Pinger p = ch.startPinger(PING_INTERVAL_MS, CALL_TIMEOUT_MS);
        String why = ch.awaitTermination(ms);
        p.stop();
        if (why != null) {
            throw new Failure("channel terminated while idle after " + p.count() + " pings: " + why);
        }
        if (!ch.problems().isEmpty()) {
            throw new Failure(String.join("; ", ch.problems()));
        }
        if (p.count() == 0) {
            throw new Failure("no ping completed in " + ms + " ms");
        }
        ch.log("idle: " + p.count() + " pings over " + ms + " ms, worst round trip " + p.worstMicros() + " us");
    }
}
