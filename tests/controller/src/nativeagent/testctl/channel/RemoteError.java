package nativeagent.testctl.channel;

/** A call failed on the agent side: {@link #remote} is the agent's exception, {@link #form} how it travelled. */
public final class RemoteError extends Exception {
    private static final long serialVersionUID = 1L;

    /** "Response.exception", "ExceptionResponse.rawResponse", "ExceptionResponse.proxyResponse" or "UserResponse". */
    public final String form;
    public final Throwable remote;

    public RemoteError(String form, Throwable remote) {
        super(form + ": " + remote, remote);
        this.form = form;
        this.remote = remote;
    }

    /** The class name and messages of the remote exception and its causes, for matching in scenarios. */
    public String fullText() {
        StringBuilder sb = new StringBuilder();
        Throwable t = remote;
        for (int depth = 0; t != null && depth < 10; depth++) {
            sb.append(t.getClass().getName()).append(": ").append(t.getMessage()).append('\n');
            t = t.getCause() == t ? null : t.getCause();
        }
        return sb.toString();
    }
}
