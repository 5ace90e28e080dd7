package hudson.node_monitors;

import jenkins.MasterToSlaveFileCallable;

/** Holder of {@code DiskSpaceMonitorDescriptor$GetUsableSpace} (suid 1) and {@code $DiskSpace} (suid 2). */
public final class DiskSpaceMonitorDescriptor {
    private DiskSpaceMonitorDescriptor() {
    }

    public static final class GetUsableSpace extends MasterToSlaveFileCallable {
        private static final long serialVersionUID = 1L;
    }

    /** Fields as jenkins-classes.tsv: size, threshold, totalSize, warningThreshold, path, trigger. */
    public static final class DiskSpace extends MonitorOfflineCause implements java.io.Serializable {
        private static final long serialVersionUID = 2L;
        public final String path;
        public final long size;
        private long totalSize;
        private long threshold;
        private long warningThreshold;
        private Class<?> trigger;
        private transient boolean triggered;
        private transient boolean warning;

        public DiskSpace(String path, long size) {
            this.path = path;
            this.size = size;
        }

        public long getTotalSize() {
            return totalSize;
        }

        public void setTotalSize(long t) {
            totalSize = t;
        }

        public long getThreshold() {
            return threshold;
        }

        public long getWarningThreshold() {
            return warningThreshold;
        }

        public Class<?> getTrigger() {
            return trigger;
        }

        @Override
        public String toString() {
            return "DiskSpace{path=" + path + ", size=" + size + ", totalSize=" + totalSize + "}";
        }
    }
}
