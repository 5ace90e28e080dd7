package hudson.remoting;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.Serializable;

/**
 * {@code hudson.remoting.RemoteOutputStream}: SUID 1, flags 0x03, no fields, super TC_NULL
 * (java.io.OutputStream is not Serializable). Custom data: block {@code oid:i4}, TC_ENDBLOCKDATA.
 * "Write into my OutputStream, exported as oid": the reader sends ProxyOutputStream$Chunk/$Flush/$EOF
 * to that oid. Here the oid is assigned by the test controller's channel before the object is sent.
 */
public final class RemoteOutputStream extends OutputStream implements Serializable {
    private static final long serialVersionUID = 1L;

    public transient int oid;

    public RemoteOutputStream(int oid) {
        this.oid = oid;
    }

    @Override
    public void write(int b) throws IOException {
        throw new IOException("test controller: RemoteOutputStream(oid=" + oid + ") is a wire object only");
    }

    private void writeObject(ObjectOutputStream oos) throws IOException {
        oos.writeInt(oid);
    }

    private void readObject(ObjectInputStream ois) throws IOException {
        oid = ois.readInt();
    }
}
