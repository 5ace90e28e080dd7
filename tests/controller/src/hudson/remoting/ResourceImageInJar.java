package hudson.remoting;

/** {@code hudson.remoting.ResourceImageInJar}: SUID 1, fields {@code sum1:J, sum2:J, path:Ljava/lang/String;}, super ResourceImageRef. */
public class ResourceImageInJar extends ResourceImageRef {
    private static final long serialVersionUID = 1L;

    public long sum1;
    public long sum2;
    public String path;
}
