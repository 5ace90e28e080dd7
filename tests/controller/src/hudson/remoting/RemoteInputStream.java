package hudson.remoting;

import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import nativeagent.testctl.channel.WireContext;

/**
 * {@code hudson.remoting.RemoteInputStream}: SUID 1, flags 0x03, declared fields {@code autoUnexport:Z,
 * greedy:Z} that are never written. Custom data (channel.md 1.11/7.1): if the READER advertised
 * GREEDY_REMOTE_INPUTSTREAM (0x020) a boolean greedy first; then a {@link Pipe} (greedy) or the
 * exported InputStream's {@code oid:i4} (not greedy); TC_ENDBLOCKDATA. Which side's capability
 * decides comes from {@link WireContext#peerCapability()} (the agent's mask, in both directions).
 */
public final class RemoteInputStream extends InputStream implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Declared for the descriptor only; never on the wire. */
    private boolean autoUnexport;
    /** Declared for the descriptor only; never on the wire. */
    private boolean greedy;

    public transient boolean isGreedy;
    public transient int oid;
    public transient Pipe pipe;

    /** Non-greedy form: the writer exported an InputStream as oid (the reader pulls with ProxyInputStream$Chunk). */
    public RemoteInputStream(int oid) {
        this.oid = oid;
    }

    /** Greedy form: data is pushed through a pipe (flag 0 form: the reader connects it). */
    public RemoteInputStream(Pipe pipe) {
        this.isGreedy = true;
        this.pipe = pipe;
    }

    @Override
    public int read() throws IOException {
        throw new IOException("test controller: RemoteInputStream is a wire object only");
    }

    private void writeObject(ObjectOutputStream oos) throws IOException {
        boolean withFlag = (WireContext.peerCapability() & WireContext.GREEDY_REMOTE_INPUTSTREAM) != 0;
        if (withFlag) {
            oos.writeBoolean(isGreedy);
        } else if (isGreedy) {
            throw new IOException("greedy RemoteInputStream needs GREEDY_REMOTE_INPUTSTREAM on the reader");
        }
        if (isGreedy) {
            oos.writeObject(pipe);
        } else {
            oos.writeInt(oid);
        }
    }

    private void readObject(ObjectInputStream ois) throws IOException, ClassNotFoundException {
        boolean withFlag = (WireContext.peerCapability() & WireContext.GREEDY_REMOTE_INPUTSTREAM) != 0;
        isGreedy = withFlag && ois.readBoolean();
        if (isGreedy) {
            pipe = (Pipe) ois.readObject();
        } else {
            oid = ois.readInt();
        }
    }
}
