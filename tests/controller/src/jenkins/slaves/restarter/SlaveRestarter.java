package jenkins.slaves.restarter;

import java.io.Serializable;

/** Wire shape of {@code jenkins.slaves.restarter.SlaveRestarter} (suid 1, no fields). */
public abstract class SlaveRestarter implements Serializable {
    private static final long serialVersionUID = 1L;
}
