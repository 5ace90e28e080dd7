package nativeagent.testctl.channel;

import hudson.remoting.Command;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InvalidClassException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.OutputStream;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Java serialization as remoting does it (channel.md 2.1, 4.3, 4.4):
 * <ul>
 * <li>every command is its own plain {@code ObjectOutputStream} stream with one object;</li>
 * <li>callable payloads and results ({@code UserRequest.request}, {@code NormalResponse.response}, ...)
 *     are separate streams: plain if the agent lacks MULTI_CLASSLOADER (0x002), otherwise written with
 *     {@link MultiClassLoaderOutput}, which puts one class-loader int in every class annotation.</li>
 * </ul>
 */
public final class Wire {
    /** MultiClassLoaderSerializer tags. */
    public static final int TAG_LOCAL_CLASSLOADER = -1;
    public static final int TAG_EXPORTED_CLASSLOADER = -2;
    public static final int TAG_SYSTEMCLASSLOADER = -3;

    private Wire() {
    }

    /** Turns a class loader of ours into the oid of its IClassLoader export (adds one reference). */
    public interface LoaderExporter {
        int exportLoader(ClassLoader cl) throws IOException;
    }

    /** Resolves tags the agent wrote: -1 oid (our export) to a loader; -2 oid (agent loader) to something usable. */
    public interface LoaderResolver {
        ClassLoader ourLoader(int oid) throws IOException;

        ClassLoader agentLoader(int oid) throws IOException;
    }

    public static byte[] writeCommand(Command c) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ObjectOutputStream oos = new ObjectOutputStream(bos)) {
            oos.writeObject(c);
        }
        return bos.toByteArray();
    }

    public static Command readCommand(byte[] b) throws IOException, ClassNotFoundException {
        try (ObjectInputStream ois = new ObjectInputStream(new ByteArrayInputStream(b))) {
            Object o = ois.readObject();
            if (!(o instanceof Command)) {
                throw new IOException("not a hudson.remoting.Command: " + (o == null ? "null" : o.getClass().getName()));
            }
            if (ois.available() > 0 || ois.read() != -1) {
                throw new IOException("trailing bytes after the command object");
            }
            return (Command) o;
        }
    }

    /** Serialize a payload for a peer with capability {@code peerCap}. */
    public static byte[] writePayload(Object o, long peerCap, LoaderExporter exporter) throws IOException {
        long old = WireContext.setPeerCapability(peerCap);
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            ObjectOutputStream oos = (peerCap & WireContext.MULTI_CLASSLOADER) != 0
                    ? new MultiClassLoaderOutput(bos, exporter) : new ObjectOutputStream(bos);
            oos.writeObject(o);
            oos.close();
            return bos.toByteArray();
        } finally {
            WireContext.setPeerCapability(old);
        }
    }

    /** Deserialize a payload written by a peer with capability {@code peerCap}. */
    public static Object readPayload(byte[] b, long peerCap, LoaderResolver resolver)
            throws IOException, ClassNotFoundException {
        long old = WireContext.setPeerCapability(peerCap);
        try (ObjectInputStream ois = (peerCap & WireContext.MULTI_CLASSLOADER) != 0
                ? new MultiClassLoaderInput(new ByteArrayInputStream(b), resolver)
                : new ObjectInputStream(new ByteArrayInputStream(b))) {
            return ois.readObject();
        } finally {
            WireContext.setPeerCapability(old);
        }
    }

    /**
     * The writer side of remoting's MultiClassLoaderSerializer (channel.md 4.4): for every class
     * descriptor (and proxy class descriptor) one block-data int: -3 for bootstrap classes; for the
     * first class of a given loader -2 + the oid under which that loader is exported (a new index in
     * this stream's list); for later classes of the same loader its index. The test controller never
     * writes -1 (it never imports class loaders from the agent).
     */
    public static final class MultiClassLoaderOutput extends ObjectOutputStream {
        private final LoaderExporter exporter;
        private final Map<ClassLoader, Integer> indexes = new IdentityHashMap<>();

        public MultiClassLoaderOutput(OutputStream out, LoaderExporter exporter) throws IOException {
            super(out);
            this.exporter = exporter;
        }

        @Override
        protected void annotateClass(Class<?> c) throws IOException {
            ClassLoader cl = c.getClassLoader();
            if (cl == null) {
                writeInt(TAG_SYSTEMCLASSLOADER);
                return;
            }
            Integer idx = indexes.get(cl);
            if (idx != null) {
                writeInt(idx);
                return;
            }
            indexes.put(cl, indexes.size());
            writeInt(TAG_EXPORTED_CLASSLOADER);
            writeInt(exporter.exportLoader(cl));
        }

        @Override
        protected void annotateProxyClass(Class<?> c) throws IOException {
            annotateClass(c);
        }
    }

    /** The reader side of MultiClassLoaderSerializer: one int (or tag + oid) per class descriptor. */
    public static final class MultiClassLoaderInput extends ObjectInputStream {
        private final LoaderResolver resolver;
        private final List<ClassLoader> loaders = new ArrayList<>();

        public MultiClassLoaderInput(InputStream in, LoaderResolver resolver) throws IOException {
            super(in);
            this.resolver = resolver;
        }

        private ClassLoader readLoader() throws IOException {
            int code = readInt();
            switch (code) {
                case TAG_SYSTEMCLASSLOADER:
                    return null;
                case TAG_LOCAL_CLASSLOADER: {
                    ClassLoader cl = resolver.ourLoader(readInt());
                    loaders.add(cl);
                    return cl;
                }
                case TAG_EXPORTED_CLASSLOADER: {
                    ClassLoader cl = resolver.agentLoader(readInt());
                    loaders.add(cl);
                    return cl;
                }
                default:
                    if (code < 0 || code >= loaders.size()) {
                        throw new IOException("bad class-loader index " + code + " (have " + loaders.size() + ")");
                    }
                    return loaders.get(code);
            }
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            ClassLoader cl = readLoader();
            if (cl == null) {
                try {
                    return Class.forName(desc.getName(), false, null);
                } catch (ClassNotFoundException e) {
                    return super.resolveClass(desc); /* like remoting: fall back to the default loader */
                }
            }
            return Class.forName(desc.getName(), false, cl);
        }

        @Override
        protected Class<?> resolveProxyClass(String[] interfaces) throws IOException, ClassNotFoundException {
            ClassLoader cl = readLoader();
            if (cl == null) {
                cl = ClassLoader.getPlatformClassLoader();
            }
            Class<?>[] ifaces = new Class<?>[interfaces.length];
            for (int i = 0; i < interfaces.length; i++) {
                ifaces[i] = Class.forName(interfaces[i], false, cl);
            }
            try {
                return Proxy.getProxyClass(cl, ifaces);
            } catch (IllegalArgumentException e) {
                throw new InvalidClassException("proxy: " + e.getMessage());
            }
        }
    }

    /** First {@code n} bytes as hex, for messages. */
    public static String hexHead(byte[] b, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(n, b.length); i++) {
            sb.append(String.format("%02x", b[i] & 0xff));
        }
        return sb.append(b.length > n ? "..." : "").toString();
    }
}
