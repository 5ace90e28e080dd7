package org.jenkinsci.remoting;

import java.io.IOException;

/**
 * {@code org.jenkinsci.remoting.ChannelStateException}: computed SUID -2931893996487049788 (tsv),
 * field {@code channelName:Ljava/lang/String;}, extends IOException.
 */
public class ChannelStateException extends IOException {
    private static final long serialVersionUID = -2931893996487049788L;

    private final String channelName;

    public ChannelStateException(String channelName, String message) {
        super(message);
        this.channelName = channelName;
    }

    public String getChannelName() {
        return channelName;
    }
}
