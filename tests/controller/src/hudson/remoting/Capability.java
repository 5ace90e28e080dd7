package hudson.remoting;

import java.io.Serializable;

/** {@code hudson.remoting.Capability}: SUID 1, flags 0x02, field {@code mask:J} (channel.md 2.2). */
public final class Capability implements Serializable {
    private static final long serialVersionUID = 1L;

    public final long mask;

    public Capability(long mask) {
        this.mask = mask;
    }
}
