package hudson.slaves;

import jenkins.security.MasterToSlaveCallable;

/** Holder of {@code hudson.slaves.ChannelPinger$SetUpRemotePing} (suid -2702219700841759872). */
public final class ChannelPinger {
    private ChannelPinger() {
    }

    public static final class SetUpRemotePing extends MasterToSlaveCallable {
        private static final long serialVersionUID = -2702219700841759872L;
        @Deprecated
        private transient int pingInterval;
        private final int pingIntervalSeconds;
        private final int pingTimeoutSeconds;

        public SetUpRemotePing(int pingIntervalSeconds, int pingTimeoutSeconds) {
            this.pingIntervalSeconds = pingIntervalSeconds;
            this.pingTimeoutSeconds = pingTimeoutSeconds;
        }
    }
}
