package hudson.remoting;

import java.io.Serializable;

/**
 * {@code hudson.remoting.UserRequest}: SUID 1, flags 0x02, fields
 * {@code classLoaderProxy:Lhudson/remoting/RemoteClassLoader$IClassLoader;, request:[B, toString:Ljava/lang/String;}.
 * Runs a callable on the peer. {@code request} is the callable serialized into its own stream
 * (plain, or MultiClassLoaderSerializer form if the receiver advertised capability bit 0x002);
 * {@code classLoaderProxy} is the sender's class loader exported as an IClassLoader proxy.
 */
public final class UserRequest extends Request {
    private static final long serialVersionUID = 1L;

    public final RemoteClassLoader.IClassLoader classLoaderProxy;
    public final byte[] request;
    public final String toString;

    public UserRequest(RemoteClassLoader.IClassLoader classLoaderProxy, byte[] request, String toString) {
        super(true);
        this.classLoaderProxy = classLoaderProxy;
        this.request = request;
        this.toString = toString;
    }

    @Override
    public String toString() {
        return "UserRequest:" + toString;
    }

    /** {@code hudson.remoting.UserRequest$NormalResponse}: SUID 1, field {@code response:[B} (a stream with the result). */
    public static final class NormalResponse implements Serializable {
        private static final long serialVersionUID = 1L;

        public final byte[] response;

        public NormalResponse(byte[] response) {
            this.response = response;
        }
    }

    /**
     * {@code hudson.remoting.UserRequest$ExceptionResponse}: SUID 1, fields
     * {@code proxyResponse:[B, rawResponse:[B} (streams with a ProxyException / the raw exception; raw may be null).
     */
    public static final class ExceptionResponse implements Serializable {
        private static final long serialVersionUID = 1L;

        public final byte[] proxyResponse;
        public final byte[] rawResponse;

        public ExceptionResponse(byte[] rawResponse, byte[] proxyResponse) {
            this.rawResponse = rawResponse;
            this.proxyResponse = proxyResponse;
        }
    }
}
