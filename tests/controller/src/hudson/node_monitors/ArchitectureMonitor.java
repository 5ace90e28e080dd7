package hudson.node_monitors;

import jenkins.security.MasterToSlaveCallable;

/** Holder of {@code ArchitectureMonitor$GetArchTask} (suid 1): returns "os.name (os.arch)". */
public final class ArchitectureMonitor {
    private ArchitectureMonitor() {
    }

    public static final class GetArchTask extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
    }
}
