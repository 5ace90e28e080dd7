package jenkins.slaves.restarter;

import java.util.List;
import jenkins.security.MasterToSlaveCallable;

/** Holder of {@code JnlpSlaveRestarterInstaller$FindEffectiveRestarters} (field restarters; real suid computed). */
public final class JnlpSlaveRestarterInstaller {
    private JnlpSlaveRestarterInstaller() {
    }

    public static final class FindEffectiveRestarters extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
        private final List<SlaveRestarter> restarters;

        public FindEffectiveRestarters(List<SlaveRestarter> restarters) {
            this.restarters = restarters;
        }
    }
}
