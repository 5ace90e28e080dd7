package hudson.util;

import hudson.remoting.RemoteOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;

/**
 * {@code hudson.util.StreamTaskListener}: suid 1, flags 0x03, fields {@code charset}, {@code out} listed
 * but never written; its writeObject writes a RemoteOutputStream (the build log, exported by the
 * controller) and then the charset name (callables.md B.5, channel.md 1.11).
 */
public class StreamTaskListener extends AbstractTaskListener {
    private static final long serialVersionUID = 1L;

    /* Present for the descriptor only; never serialized by default. */
    private PrintStream out;
    private Charset charset;
    private transient RemoteOutputStream ros;
    private transient String charsetName;

    public StreamTaskListener(RemoteOutputStream ros, String charsetName) {
        this.ros = ros;
        this.charsetName = charsetName;
    }

    private void writeObject(ObjectOutputStream oos) throws IOException {
        oos.writeObject(ros);
        oos.writeObject(charsetName);
    }
}
