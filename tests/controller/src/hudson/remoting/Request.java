package hudson.remoting;

/**
 * {@code hudson.remoting.Request} (abstract): SUID 1, flags 0x02, fields
 * {@code id:I, lastIoId:I, response:Lhudson/remoting/Response;} (response is always null on the wire).
 * Ids come from one JVM-wide counter starting at 0, like real remoting (channel.md 4.1).
 */
public abstract class Request extends Command {
    private static final long serialVersionUID = 1L;

    private static final java.util.concurrent.atomic.AtomicInteger NEXT_ID =
            new java.util.concurrent.atomic.AtomicInteger();

    public final int id;
    public int lastIoId;
    public Response response;

    protected Request(boolean recordCreatedAt) {
        super(recordCreatedAt);
        this.id = NEXT_ID.getAndIncrement();
    }

    /**
     * {@code hudson.remoting.Request$Cancel}: SUID -1709992419006993208, field {@code id:I}.
     * "Interrupt your execution of my request id".
     */
    public static final class Cancel extends Command {
        private static final long serialVersionUID = -1709992419006993208L;

        public final int id;

        public Cancel(int id) {
            this.id = id;
        }
    }
}
