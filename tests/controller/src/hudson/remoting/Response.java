package hudson.remoting;

import java.io.Serializable;

/**
 * {@code hudson.remoting.Response}: SUID 1, flags 0x02, fields
 * {@code id:I, lastIoId:I, exception:Ljava/lang/Throwable;, returnValue:Ljava/io/Serializable;}.
 * The answer to any {@link Request}; {@code id} is the requester's id.
 */
public final class Response extends Command {
    private static final long serialVersionUID = 1L;

    public final int id;
    public final int lastIoId;
    public final Throwable exception;
    public final Serializable returnValue;

    public Response(int id, int lastIoId, Serializable returnValue, Throwable exception) {
        this.id = id;
        this.lastIoId = lastIoId;
        this.returnValue = returnValue;
        this.exception = exception;
    }
}
