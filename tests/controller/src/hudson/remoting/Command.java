package hudson.remoting;

import java.io.Serializable;

/**
 * Stand-in for remoting's {@code hudson.remoting.Command}: the base class of everything that crosses
 * the channel. Wire shape from remoting-classes.tsv: SUID 1, flags 0x02, one field
 * {@code createdAt:Ljava/lang/Exception;}, super TC_NULL. The test controller only uses it as data;
 * its {@code nativeagent.testctl.channel.Channel} decides what to do with each command.
 */
public abstract class Command implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Where the command was created (diagnostics only); null for chunks, acks and some RPCs. */
    public final Exception createdAt;

    /** Like real remoting's default constructor: record a {@link Source} stack trace. */
    protected Command() {
        this(true);
    }

    protected Command(boolean recordCreatedAt) {
        this.createdAt = recordCreatedAt ? new Source() : null;
    }

    /** Like remoting's {@code Command(Channel, Throwable)}: createdAt carries the cause (may be null). */
    protected Command(Throwable cause) {
        this.createdAt = new Source(cause);
    }

    /**
     * {@code hudson.remoting.Command$Source}: SUID 1, flags 0x02, field {@code this$0:Lhudson/remoting/Command;}
     * (the synthetic outer-instance field of a non-static inner class), super java.lang.Exception.
     */
    public final class Source extends Exception {
        private static final long serialVersionUID = 1L;

        public Source() {
        }

        public Source(Throwable cause) {
            super(cause);
        }
    }
}
