package org.jvnet.hudson;

import java.io.Serializable;

/** Wire shape of {@code org.jvnet.hudson.MemoryUsage} (extras-memory-monitor): suid 1, four longs. */
public class MemoryUsage implements Serializable {
    private static final long serialVersionUID = 1L;
    public final long totalPhysicalMemory;
    public final long availablePhysicalMemory;
    public final long totalSwapSpace;
    public final long availableSwapSpace;

    public MemoryUsage(long totalPhysicalMemory, long availablePhysicalMemory, long totalSwapSpace,
            long availableSwapSpace) {
        this.totalPhysicalMemory = totalPhysicalMemory;
        this.availablePhysicalMemory = availablePhysicalMemory;
        this.totalSwapSpace = totalSwapSpace;
        this.availableSwapSpace = availableSwapSpace;
    }

    @Override
    public String toString() {
        return "MemoryUsage{phys " + availablePhysicalMemory + "/" + totalPhysicalMemory + ", swap "
                + availableSwapSpace + "/" + totalSwapSpace + "}";
    }
}
