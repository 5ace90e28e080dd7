package hudson.node_monitors;

import hudson.slaves.OfflineCause;

/** Stand-in for {@code hudson.node_monitors.MonitorOfflineCause}: not serializable (no descriptor on the wire). */
public abstract class MonitorOfflineCause extends OfflineCause {
    protected MonitorOfflineCause() {
    }
}
