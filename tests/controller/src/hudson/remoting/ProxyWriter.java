package hudson.remoting;

/**
 * Holder for the commands of remoting's {@code hudson.remoting.ProxyWriter} (char streams; not used by
 * Jenkins core, present so agent traffic of this kind is readable). All: SUID 1, flags 0x02.
 */
public final class ProxyWriter {
    private ProxyWriter() {
    }

    /** {@code $Chunk}: {@code ioId:I, oid:I, buf:[C}. */
    public static final class Chunk extends Command {
        private static final long serialVersionUID = 1L;

        public final int ioId;
        public final int oid;
        public final char[] buf;

        public Chunk(int ioId, int oid, char[] buf) {
            super(false);
            this.ioId = ioId;
            this.oid = oid;
            this.buf = buf;
        }
    }

    /** {@code $Flush}: {@code ioId:I, oid:I}. */
    public static final class Flush extends Command {
        private static final long serialVersionUID = 1L;

        public final int ioId;
        public final int oid;

        public Flush(int ioId, int oid) {
            super(false);
            this.ioId = ioId;
            this.oid = oid;
        }
    }

    /** {@code $EOF}: {@code ioId:I, oid:I} (no error field). */
    public static final class EOF extends Command {
        private static final long serialVersionUID = 1L;

        public final int ioId;
        public final int oid;

        public EOF(int ioId, int oid) {
            this.ioId = ioId;
            this.oid = oid;
        }
    }

    /** {@code $Unexport}: {@code ioId:I, oid:I}. */
    public static final class Unexport extends Command {
        private static final long serialVersionUID = 1L;

        public final int ioId;
        public final int oid;

        public Unexport(int ioId, int oid) {
            this.ioId = ioId;
            this.oid = oid;
        }
    }

    /** {@code $Ack}: {@code oid:I, size:I} (chars). */
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

    /** {@code $NotifyDeadWriter}: {@code oid:I}. */
    public static final class NotifyDeadWriter extends Command {
        private static final long serialVersionUID = 1L;

        public final int oid;

        public NotifyDeadWriter(Throwable cause, int oid) {
            super(cause);
            this.oid = oid;
        }
    }
}
