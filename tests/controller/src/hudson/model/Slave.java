package hudson.model;

import java.io.Serializable;
import jenkins.security.MasterToSlaveCallable;

/** Holder of {@code Slave$GetClockDifference2} (suid 1) and {@code $GetClockDifference3} (suid -6655128034486338777). */
public final class Slave {
    private Slave() {
    }

    public static final class GetClockDifference2 extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
        private final long startTime;

        public GetClockDifference2(long startTime) {
            this.startTime = startTime;
        }
    }

    public static final class GetClockDifference3 implements Serializable {
        private static final long serialVersionUID = -6655128034486338777L;
        public final long remoteTime;
        public final long startTime;

        public GetClockDifference3(long remoteTime, long startTime) {
            this.remoteTime = remoteTime;
            this.startTime = startTime;
        }
    }
}
