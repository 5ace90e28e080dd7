package jenkins.slaves;

import jenkins.security.MasterToSlaveCallable;

/** Holder of {@code jenkins.slaves.StandardOutputSwapper$ChannelSwapper} (suid 451125196505759342). */
public final class StandardOutputSwapper {
    private StandardOutputSwapper() {
    }

    public static final class ChannelSwapper extends MasterToSlaveCallable {
        private static final long serialVersionUID = 451125196505759342L;
    }
}
