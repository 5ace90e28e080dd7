package hudson.remoting;

/** {@code hudson.remoting.RequestAbortedException}: SUID 238929914783987425, extends RemotingSystemException. */
public class RequestAbortedException extends RemotingSystemException {
    private static final long serialVersionUID = 238929914783987425L;

    public RequestAbortedException(String message) {
        super(message);
    }
}
