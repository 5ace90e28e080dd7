package hudson.model;

import hudson.remoting.RemoteOutputStream;
import hudson.util.StreamTaskListener;

/**
 * {@code hudson.model.StreamBuildListener}: suid 1, 0x02, no fields; super StreamTaskListener
 * (jenkins-classes.tsv). The freestyle build log (callables.md A.3 step 6, B.5).
 */
public class StreamBuildListener extends StreamTaskListener {
    private static final long serialVersionUID = 1L;

    public StreamBuildListener(RemoteOutputStream ros, String charsetName) {
        super(ros, charsetName);
    }
}
