package hudson.node_monitors;

import jenkins.MasterToSlaveFileCallable;

/** Holder of {@code TemporarySpaceMonitor$GetTempSpace} (suid 1). */
public final class TemporarySpaceMonitor {
    private TemporarySpaceMonitor() {
    }

    public static final class GetTempSpace extends MasterToSlaveFileCallable {
        private static final long serialVersionUID = 1L;
    }
}
