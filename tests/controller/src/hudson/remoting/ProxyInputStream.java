package hudson.remoting;

import java.io.Serializable;

/** Holder for the commands of remoting's {@code hudson.remoting.ProxyInputStream} (pull-mode remote input). */
public final class ProxyInputStream {
    private ProxyInputStream() {
    }

    /**
     * {@code $Chunk}: a Request (SUID 1), fields {@code len:I, oid:I}: "read up to len bytes from your
     * exported InputStream oid"; answered with a Response carrying a {@link Buffer}.
     */
    public static final class Chunk extends Request {
        private static final long serialVersionUID = 1L;

        public final int oid;
        public final int len;

        public Chunk(int oid, int len) {
            super(true);
            this.oid = oid;
            this.len = len;
        }
    }

    /** {@code $EOF}: SUID 1, field {@code oid:I}: close and release the exported InputStream. */
    public static final class EOF extends Command {
        private static final long serialVersionUID = 1L;

        public final int oid;

        public EOF(int oid) {
            this.oid = oid;
        }
    }

    /** {@code $Buffer}: SUID 1, fields {@code len:I, buf:[B}; len is -1 at end of stream. */
    public static final class Buffer implements Serializable {
        private static final long serialVersionUID = 1L;

        public final int len;
        public final byte[] buf;

        public Buffer(int len, byte[] buf) {
            this.len = len;
            this.buf = buf;
        }
    }
}
