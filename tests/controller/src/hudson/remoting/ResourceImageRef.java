package hudson.remoting;

import java.io.Serializable;

/** {@code hudson.remoting.ResourceImageRef}: SUID 1, flags 0x02, no fields (class-loading replies). */
public class ResourceImageRef implements Serializable {
    private static final long serialVersionUID = 1L;
}
