package hudson.remoting;

/** {@code hudson.remoting.ResourceImageDirect}: SUID 1, field {@code payload:[B}, super ResourceImageRef. */
public class ResourceImageDirect extends ResourceImageRef {
    private static final long serialVersionUID = 1L;

    public byte[] payload;
}
