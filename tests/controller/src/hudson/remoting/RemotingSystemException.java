package hudson.remoting;

/** {@code hudson.remoting.RemotingSystemException}: SUID 1, extends RuntimeException, no fields. */
public class RemotingSystemException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RemotingSystemException(String message) {
        super(message);
    }
}
