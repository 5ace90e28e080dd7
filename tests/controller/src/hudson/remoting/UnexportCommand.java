package hudson.remoting;

/** {@code hudson.remoting.UnexportCommand}: SUID 1, flags 0x02, field {@code oid:I}: drop one reference to export oid. */
public final class UnexportCommand extends Command {
    private static final long serialVersionUID = 1L;

    public final int oid;

    public UnexportCommand(int oid) {
        this.oid = oid;
    }
}
