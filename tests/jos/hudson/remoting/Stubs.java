/*
 * Stubs of the remoting command classes for JosGen: same binary names, serialVersionUIDs, flags
 * and serializable fields as remoting 3364 (spec/remoting-classes.tsv), so the descriptors they
 * write are byte-identical to the real ones and ObjectInputStream can read what the C encoder
 * writes. Test code only; no behaviour.
 */
package hudson.remoting;

import java.io.Serializable;

abstract class Command implements Serializable {
    private static final long serialVersionUID = 1L;
    Exception createdAt;
}

final class Response extends Command {
    private static final long serialVersionUID = 1L;
    int id;
    int lastIoId;
    Throwable exception;
    Serializable returnValue;
}

final class Capability implements Serializable {
    private static final long serialVersionUID = 1L;
    long mask;
}

final class UserRequest {
    static final class NormalResponse implements Serializable {
        private static final long serialVersionUID = 1L;
        byte[] response;
    }
}

final class ProxyOutputStream {
    static final class Chunk extends Command {
        private static final long serialVersionUID = 1L;
        int ioId;
        int oid;
        int requestId;
        byte[] buf;
    }

    static final class Ack extends Command {
        private static final long serialVersionUID = 1L;
        int oid;
        int size;
    }

    static final class EOF extends Command {
        private static final long serialVersionUID = 1L;
        int ioId;
        int oid;
        int requestId;
        Throwable error;
    }
}

final class Channel {
    static final class CloseCommand extends Command {
        private static final long serialVersionUID = 972857271608138115L;
    }
}

/* The custom layouts of channel.md 1.11 / 7.1: custom data without the default field values. */
final class Pipe implements Serializable {
    private static final long serialVersionUID = 1L;
    java.io.InputStream in;
    java.io.OutputStream out;
    transient boolean flag;
    transient int oid;

    private void writeObject(java.io.ObjectOutputStream os) throws java.io.IOException {
        os.writeBoolean(flag);
        os.writeInt(oid);
    }
}

final class RemoteInputStream extends java.io.InputStream implements Serializable {
    private static final long serialVersionUID = 1L;
    boolean autoUnexport;
    boolean greedy;
    transient Pipe pipe;

    public int read() {
        return -1;
    }

    private void writeObject(java.io.ObjectOutputStream os) throws java.io.IOException {
        os.writeBoolean(true);
        os.writeObject(pipe);
    }
}

final class RemoteOutputStream extends java.io.OutputStream implements Serializable {
    private static final long serialVersionUID = 1L;
    transient int oid;

    public void write(int b) {
    }

    private void writeObject(java.io.ObjectOutputStream os) throws java.io.IOException {
        os.writeInt(oid);
    }
}
