package nativeagent.testctl.flows;

import nativeagent.testctl.channel.Channel;
import nativeagent.testctl.link.CommandLink;

/**
 * Scenarios that replay what a Jenkins controller does with a node (callables.md part A), on top
 * of the channel half. {@code nativeagent.testctl.channel.Scenarios} hands every name it does not
 * know to {@link #run}.
 *
 * <table>
 * <tr><td>{@code online[:IDLE_MS]}</td><td>flow A.1 as SlaveComputer.setChannel, then the six
 * monitors of A.2, then IDLE_MS (default testctl.onlineIdleMs, 2000) of pings both ways</td></tr>
 * <tr><td>{@code monitors}</td><td>the six monitors once, every reply field checked</td></tr>
 * <tr><td>{@code pages}</td><td>the System Information, Log and Script Console callables (B.8)</td></tr>
 * <tr><td>{@code pipe-out}, {@code pipe-in}, {@code pipe-stall}, {@code pipe-cut}, {@code ping-soak}</td><td>pipes
 * and pings under load ({@link PipeFlow})</td></tr>
 * <tr><td>{@code disconnect}</td><td>KubernetesSlave$SlaveDisconnector, then close: the agent must not reconnect</td></tr>
 * <tr><td>{@code pipebench-out[:BYTES]}, {@code pipebench-in[:BYTES]}</td><td>step pipe throughput each way ({@link PipeBench})</td></tr>
 * <tr><td>{@code writer-unknown}</td><td>ProxyWriter commands for oids the agent never exported ({@link WriterProbe})</td></tr>
 * </table>
 */
public final class Flows {
    /** What {@link #run} returns for a name it does not know. */
    public static final String UNKNOWN = "unknown scenario";

    private Flows() {
    }

    /** Run scenario {@code name}; null on PASS, else the FAIL reason (or {@link #UNKNOWN}). */
    public static String run(String name, String arg, Channel ch, CommandLink link) {
        try {
            switch (name) {
                case "online":
                    new OnlineFlow(ch, link).online(arg == null ? OnlineFlow.IDLE_MS : Long.parseLong(arg));
                    return null;
                case "monitors":
                    new OnlineFlow(ch, link).monitors();
                    return null;
                case "pages":
                    new OnlineFlow(ch, link).pages();
                    return null;
                case "disconnect":
                    new OnlineFlow(ch, link).disconnect();
                    return null;
                default: {
                    String r = PipeFlow.run(name, arg, ch); /* pipes under load (issue 6) */
                    r = r == UNKNOWN ? FreestyleFlow.run(name, arg, ch) : r; /* flow A.3 and build steps */
                    r = r == UNKNOWN ? PipeBench.run(name, arg, ch) : r; /* pipe benchmarks */
                    return r == UNKNOWN ? WriterProbe.run(name, arg, ch) : r; /* ProxyWriter */
                }
            }
        } catch (OnlineFlow.Failure f) {
            return f.getMessage();
        } catch (NumberFormatException e) {
            return "bad scenario argument in '" + name + ":" + arg + "': " + e.getMessage();
        } catch (Exception e) {
            return "unexpected " + e;
        }
    }
}
