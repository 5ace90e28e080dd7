package nativeagent.testctl.flows;

import hudson.remoting.PingThread;
import hudson.remoting.ProxyWriter;
import java.io.IOException;
import java.util.Map;
import nativeagent.testctl.channel.Channel;

/**
 * {@code writer-unknown}: ProxyWriter commands (hudson.remoting.ProxyWriter, channel.md 3.1 rows
 * 15-20) against the real agent. No callable Jenkins core sends carries a RemoteWriter and the
 * agent exports no Writer of its own, so what a controller can reach is this: {@code $Chunk},
 * {@code $Flush}, {@code $Unexport}, {@code $EOF} for an oid the agent never exported, and
 * {@code $Ack}, {@code $NotifyDeadWriter} for a writer it does not have. Like remoting, the agent
 * must drop them without a reply (no Ack for the unknown chunk) and keep the channel; a ping whose
 * lastIoId covers the four I/O commands must then be answered (they went through the agent's
 * I/O lane).
 */
public final class WriterProbe {
    private static final int NOT_EXPORTED = 0x7ff00001;

    private WriterProbe() {
    }

    /** Run scenario {@code name}: null on PASS, {@link Flows#UNKNOWN} if it is not one of ours, else the reason. */
    public static String run(String name, String arg, Channel ch) {
        if (!name.equals("writer-unknown")) {
            return Flows.UNKNOWN;
        }
        try {
            return unknown(ch);
        } catch (Exception e) {
            return "unexpected " + e;
        }
    }

    private static String unknown(Channel ch) throws Exception {
        ch.send(new ProxyWriter.Chunk(ch.nextIoIdForScenario(), NOT_EXPORTED, "h\u00e9llo \uD83D\uDE00".toCharArray()));
        ch.send(new ProxyWriter.Flush(ch.nextIoIdForScenario(), NOT_EXPORTED));
        ch.send(new ProxyWriter.Unexport(ch.nextIoIdForScenario(), NOT_EXPORTED));
        ch.send(new ProxyWriter.EOF(ch.nextIoIdForScenario(), NOT_EXPORTED));
        ch.send(new ProxyWriter.Ack(NOT_EXPORTED, 4096));
        ch.send(new ProxyWriter.NotifyDeadWriter(new IOException("probe"), NOT_EXPORTED));
        Object r = ch.call(new PingThread.Ping(), FreestyleFlow.CALL_MS); /* lastIoId = the EOF's */
        if (r != null) {
            return "ping after the ProxyWriter commands returned " + r;
        }
        for (Map.Entry<String, Integer> e : ch.receivedByClass().entrySet()) {
            if (e.getKey().contains("ProxyWriter") || e.getKey().contains("ProxyOutputStream")) {
                return "the agent answered ProxyWriter commands for an oid it never exported with "
                        + e.getValue() + " x " + e.getKey();
            }
        }
        if (ch.isTerminated()) {
            return "the channel ended after ProxyWriter commands";
        }
        return null;
    }
}
