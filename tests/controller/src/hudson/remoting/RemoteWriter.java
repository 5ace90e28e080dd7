package hudson.remoting;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.Writer;

/** {@code hudson.remoting.RemoteWriter}: SUID 1, flags 0x03, no fields; custom data block {@code oid:i4}. */
public final class RemoteWriter extends Writer implements Serializable {
    private static final long serialVersionUID = 1L;

    public transient int oid;

    public RemoteWriter(int oid) {
        this.oid = oid;
    }

    @Override
    public void write(char[] cbuf, int off, int len) throws IOException {
        throw new IOException("test controller: RemoteWriter is a wire object only");
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }

    private void writeObject(ObjectOutputStream oos) throws IOException {
        oos.writeInt(oid);
    }

    private void readObject(ObjectInputStream ois) throws IOException {
        oid = ois.readInt();
    }
}
