package hudson.slaves;

/** Stand-in for {@code hudson.slaves.OfflineCause}: not serializable, so never on the wire. */
public abstract class OfflineCause {
    protected OfflineCause() {
    }
}
