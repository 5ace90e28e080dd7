package hudson.remoting;

import java.io.IOException;
import java.io.Serializable;

/**
 * Holder for the class-loader related wire classes of remoting's {@code hudson.remoting.RemoteClassLoader}
 * (the real class is a ClassLoader; only its nested types matter on the wire).
 */
public final class RemoteClassLoader {
    private RemoteClassLoader() {
    }

    /**
     * {@code hudson.remoting.RemoteClassLoader$IClassLoader}: the remote interface of an exported
     * class loader. Only {@code getName()} is declared here: the controller never serves classes
     * (Jenkins refuses to load classes from agents and a native agent never asks).
     */
    public interface IClassLoader {
        String getName() throws IOException;
    }

    /**
     * {@code hudson.remoting.RemoteClassLoader$RemoteIClassLoader}: SUID 1, flags 0x02, field {@code oid:I}.
     * "The class loader that you, the reader, exported as oid" (channel.md 4.7).
     */
    public static final class RemoteIClassLoader implements IClassLoader, Serializable {
        private static final long serialVersionUID = 1L;

        public final int oid;

        public RemoteIClassLoader(int oid) {
            this.oid = oid;
        }

        @Override
        public String getName() {
            return "RemoteIClassLoader(" + oid + ")";
        }
    }

    /** {@code hudson.remoting.RemoteClassLoader$ClassFile}: SUID 1, fields {@code classLoader:I, classImage:[B}. */
    public static final class ClassFile implements Serializable {
        private static final long serialVersionUID = 1L;

        public int classLoader;
        public byte[] classImage;
    }

    /** {@code hudson.remoting.RemoteClassLoader$ResourceFile}: SUID 1, field {@code image:Lhudson/remoting/ResourceImageRef;}. */
    public static class ResourceFile implements Serializable {
        private static final long serialVersionUID = 1L;

        public ResourceImageRef image;
    }

    /**
     * {@code hudson.remoting.RemoteClassLoader$ClassFile2}: SUID 1, fields
     * {@code classLoader:I, referer:Lhudson/remoting/RemoteClassLoader$ClassFile2;}, super ResourceFile.
     */
    public static final class ClassFile2 extends ResourceFile {
        private static final long serialVersionUID = 1L;

        public int classLoader;
        public ClassFile2 referer;
    }
}
