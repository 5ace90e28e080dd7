package hudson.remoting;

/** {@code hudson.remoting.ResourceImageBoth}: SUID 1, fields {@code sum1:J, sum2:J}, super ResourceImageDirect. */
public class ResourceImageBoth extends ResourceImageDirect {
    private static final long serialVersionUID = 1L;

    public long sum1;
    public long sum2;
}
