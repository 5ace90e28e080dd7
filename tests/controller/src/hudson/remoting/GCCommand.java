package hudson.remoting;

/** {@code hudson.remoting.GCCommand}: SUID 1, flags 0x02, no fields ("run a GC"; receivers ignore it). */
public final class GCCommand extends Command {
    private static final long serialVersionUID = 1L;
}
