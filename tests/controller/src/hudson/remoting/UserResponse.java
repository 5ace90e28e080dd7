package hudson.remoting;

import java.io.Serializable;

/**
 * {@code hudson.remoting.UserResponse}: SUID 1, flags 0x02, fields {@code isException:Z, response:[B}.
 * The legacy result form, used when the requester lacks PROXY_EXCEPTION_FALLBACK (0x100).
 */
public final class UserResponse implements Serializable {
    private static final long serialVersionUID = 1L;

    public final byte[] response;
    public final boolean isException;

    public UserResponse(byte[] response, boolean isException) {
        this.response = response;
        this.isException = isException;
    }
}
