package hudson.node_monitors;

import jenkins.security.MasterToSlaveCallable;
import org.jvnet.hudson.MemoryUsage;

/** Holder of {@code SwapSpaceMonitor$MonitorTask} (suid 1) and {@code $MemoryUsage2} (suid 2216994637932270352). */
public final class SwapSpaceMonitor {
    private SwapSpaceMonitor() {
    }

    public static final class MonitorTask extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
    }

    public static final class MemoryUsage2 extends MemoryUsage {
        private static final long serialVersionUID = 2216994637932270352L;

        public MemoryUsage2(long totalPhysicalMemory, long availablePhysicalMemory, long totalSwapSpace,
                long availableSwapSpace) {
            super(totalPhysicalMemory, availablePhysicalMemory, totalSwapSpace, availableSwapSpace);
        }
    }
}
