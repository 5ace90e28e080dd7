package hudson.remoting;

import org.jenkinsci.remoting.ChannelStateException;

/** {@code hudson.remoting.ChannelClosedException}: computed SUID 4760977520870979904 (tsv), extends ChannelStateException. */
public class ChannelClosedException extends ChannelStateException {
    private static final long serialVersionUID = 4760977520870979904L;

    public ChannelClosedException(String channelName, String message) {
        super(channelName, message);
    }
}
