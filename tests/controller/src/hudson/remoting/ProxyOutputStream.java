package hudson.remoting;

/**
 * Holder for the commands of remoting's {@code hudson.remoting.ProxyOutputStream} (the writing end of
 * a remote OutputStream). All: SUID 1, flags 0x02, super Command. {@code ioId} numbers pipe I/O per
 * sending channel (from 1; channel.md 4.2); {@code requestId} is the peer request the write belongs to.
 */
public final class ProxyOutputStream {
    private ProxyOutputStream() {
    }

    /** {@code $Chunk}: {@code ioId:I, oid:I, requestId:I, buf:[B}; createdAt is null. */
    public static final class Chunk extends Command {
        private static final long serialVersionUID = 1L;

        public final int ioId;
        public final int oid;
        public final int requestId;
        public final byte[] buf;

        public Chunk(int ioId, int oid, int requestId, byte[] buf) {
            super(false);
            this.ioId = ioId;
            this.oid = oid;
            this.requestId = requestId;
            this.buf = buf;
        }
    }

    /** {@code $Flush}: {@code ioId:I, oid:I, requestId:I}; createdAt is null. */
    public static final class Flush extends Command {
        private static final long serialVersionUID = 1L;

        public final int ioId;
        public final int oid;
        public final int requestId;

        public Flush(int ioId, int oid, int requestId) {
            super(false);
            this.ioId = ioId;
            this.oid = oid;
            this.requestId = requestId;
        }
    }

    /** {@code $EOF}: {@code ioId:I, oid:I, requestId:I, error:Ljava/lang/Throwable;}; close and release oid. */
    public static final class EOF extends Command {
        private static final long serialVersionUID = 1L;

        public final int ioId;
        public final int oid;
        public final int requestId;
        public final Throwable error;

        public EOF(int ioId, int oid, int requestId, Throwable error) {
            this.ioId = ioId;
            this.oid = oid;
            this.requestId = requestId;
            this.error = error;
        }
    }

    /** {@code $Unexport}: {@code ioId:I, oid:I}; release without closing. */
    public static final class Unexport extends Command {
        private static final long serialVersionUID = 1L;

        public final int ioId;
        public final int oid;

        public Unexport(int ioId, int oid) {
            this.ioId = ioId;
            this.oid = oid;
        }
    }

    /** {@code $Ack}: {@code oid:I, size:I}; flow-control credit; createdAt is null. */
    public static final class Ack extends Command {
        private static final long serialVersionUID = 1L;

        public final int oid;
        public final int size;

        public Ack(int oid, int size) {
            super(false);
            this.oid = oid;
            this.size = size;
        }
    }

    /** {@code $NotifyDeadWriter}: {@code oid:I}; the cause travels in createdAt's cause. */
    public static final class NotifyDeadWriter extends Command {
        private static final long serialVersionUID = 1L;

        public final int oid;

        public NotifyDeadWriter(Throwable cause, int oid) {
            super(cause);
            this.oid = oid;
        }
    }
}
