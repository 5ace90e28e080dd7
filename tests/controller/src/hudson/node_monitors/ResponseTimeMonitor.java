package hudson.node_monitors;

import java.io.Serializable;
import jenkins.security.MasterToSlaveCallable;

/** Holder of {@code ResponseTimeMonitor$Step2}, {@code $Step3} and {@code $Data} (all suid 1). */
public final class ResponseTimeMonitor {
    private ResponseTimeMonitor() {
    }

    public static final class Step2 extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
        private final Data cur;
        private final long start;

        public Step2(Data cur, long start) {
            this.cur = cur;
            this.start = start;
        }
    }

    /** The agent's reply: both fields echoed (the real readResolve computes the round trip). */
    public static final class Step3 implements Serializable {
        private static final long serialVersionUID = 1L;
        public final Data cur;
        public final long start;

        public Step3(Data cur, long start) {
            this.cur = cur;
            this.start = start;
        }
    }

    public static final class Data extends MonitorOfflineCause implements Serializable {
        private static final long serialVersionUID = 1L;
        public final long[] past5;

        public Data(long[] past5) {
            this.past5 = past5;
        }
    }
}
