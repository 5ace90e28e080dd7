package hudson.remoting;

import java.io.IOException;
import java.io.Serializable;

/**
 * Holder for the wire classes nested in remoting's {@code hudson.remoting.Channel}. The test
 * controller's own channel is {@code nativeagent.testctl.channel.Channel}.
 */
public final class Channel {
    private Channel() {
    }

    /**
     * {@code hudson.remoting.Channel$CloseCommand}: SUID 972857271608138115, flags 0x02, no fields.
     * The last command a side sends (channel.md 9); createdAt = Source(close cause, may be null).
     */
    public static final class CloseCommand extends Command {
        private static final long serialVersionUID = 972857271608138115L;

        public CloseCommand(Throwable cause) {
            super(cause);
        }

        @Override
        public String toString() {
            return "Channel.CloseCommand";
        }
    }

    /** {@code hudson.remoting.Channel$IOSyncer}: SUID 1, no fields; a callable: "finish pending I/O, return null". */
    public static final class IOSyncer implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** {@code hudson.remoting.Channel$SetMaximumBytecodeLevel}: SUID 1, field {@code level:S}; a callable. */
    public static final class SetMaximumBytecodeLevel implements Serializable {
        private static final long serialVersionUID = 1L;

        public final short level;

        public SetMaximumBytecodeLevel(short level) {
            this.level = level;
        }
    }

    /** {@code hudson.remoting.Channel$OrderlyShutdown}: SUID 1, extends IOException (a close cause). */
    public static final class OrderlyShutdown extends IOException {
        private static final long serialVersionUID = 1L;

        public OrderlyShutdown(Throwable cause) {
            super(cause);
        }
    }
}
