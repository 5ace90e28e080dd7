package jenkins.slaves.restarter;

/** Wire shape of {@code jenkins.slaves.restarter.UnixSlaveRestarter} (suid 1; its fields are transient). */
public class UnixSlaveRestarter extends SlaveRestarter {
    private static final long serialVersionUID = 1L;
    private transient String exe;
    private transient String[] args;
}
