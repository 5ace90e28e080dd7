package hudson.remoting;

import java.io.Serializable;

/** Holder for {@code hudson.remoting.PingThread$Ping} (the real PingThread is a Thread). */
public final class PingThread {
    private PingThread() {
    }

    /**
     * {@code hudson.remoting.PingThread$Ping}: SUID 1, flags 0x02, no fields, super TC_NULL.
     * A callable the receiver must answer at once with a successful null result (channel.md 8).
     */
    public static final class Ping implements Serializable {
        private static final long serialVersionUID = 1L;
    }
}
