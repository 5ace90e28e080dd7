package nativeagent.testctl.channel;

/**
 * Capability bits (channel.md 2.2) and the per-thread capability of the peer whose data is being
 * (de)serialized. Some wire classes (RemoteInputStream) change their layout with the READER's bits;
 * in the controller the agent's mask decides in both directions.
 */
public final class WireContext {
    public static final long MULTI_CLASSLOADER = 0x002;
    public static final long PIPE_THROTTLING = 0x004;
    public static final long MIMIC_EXCEPTION = 0x008;
    public static final long PREFETCH = 0x010;
    public static final long GREEDY_REMOTE_INPUTSTREAM = 0x020;
    public static final long PROXY_WRITER_2_35 = 0x040;
    public static final long CHUNKED = 0x080;
    public static final long PROXY_EXCEPTION_FALLBACK = 0x100;
    /** What Java agents and controllers advertise ({@code new Capability()}). */
    public static final long JAVA_DEFAULT = 0x1FE;

    private static final ThreadLocal<Long> PEER = ThreadLocal.withInitial(() -> JAVA_DEFAULT);

    private WireContext() {
    }

    public static long peerCapability() {
        return PEER.get();
    }

    /** Set the peer capability for the current thread; returns the previous value (restore it in finally). */
    public static long setPeerCapability(long mask) {
        long old = PEER.get();
        PEER.set(mask);
        return old;
    }

    public static String describe(long mask) {
        StringBuilder sb = new StringBuilder(String.format("0x%03X", mask));
        String[] names = {"bit0", "MULTI_CLASSLOADER", "PIPE_THROTTLING", "MIMIC_EXCEPTION", "PREFETCH",
            "GREEDY_REMOTE_INPUTSTREAM", "PROXY_WRITER_2_35", "CHUNKED", "PROXY_EXCEPTION_FALLBACK"};
        String sep = " (";
        for (int i = 0; i < names.length; i++) {
            if ((mask & (1L << i)) != 0) {
                sb.append(sep).append(names[i]);
                sep = ",";
            }
        }
        return sb.append(sep.equals(",") ? ")" : "").toString();
    }
}
