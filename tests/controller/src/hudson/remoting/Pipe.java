package hudson.remoting;

import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.Serializable;

/**
 * {@code hudson.remoting.Pipe}: SUID 1, flags 0x03, declared fields {@code in:Ljava/io/InputStream;,
 * out:Ljava/io/OutputStream;} that are never written. Custom data (channel.md 1.11/7.1): block
 * {@code flag:u1 oid:i4}, then TC_ENDBLOCKDATA. flag 1 = the writer exported a sink as oid (reader
 * writes into it); flag 0 = the writer exported its unconnected writing end as oid (reader answers
 * with a {@link ConnectCommand}).
 */
public final class Pipe implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Declared for the descriptor only; never on the wire. */
    private InputStream in;
    /** Declared for the descriptor only; never on the wire. */
    private OutputStream out;

    public transient boolean remoteWrites;
    public transient int oid;

    public Pipe(boolean remoteWrites, int oid) {
        this.remoteWrites = remoteWrites;
        this.oid = oid;
    }

    private void writeObject(ObjectOutputStream oos) throws IOException {
        oos.writeBoolean(remoteWrites);
        oos.writeInt(oid);
    }

    private void readObject(ObjectInputStream ois) throws IOException {
        remoteWrites = ois.readBoolean();
        oid = ois.readInt();
    }

    /** {@code hudson.remoting.Pipe$ConnectCommand}: SUID -9128735897846418140, fields {@code oidPos:I, oidRos:I}. */
    public static final class ConnectCommand extends Command {
        private static final long serialVersionUID = -9128735897846418140L;

        public final int oidPos;
        public final int oidRos;

        public ConnectCommand(int oidPos, int oidRos) {
            this.oidPos = oidPos;
            this.oidRos = oidRos;
        }
    }
}
