/*
 * JosGen: writes Java Object Serialization streams of many shapes with the real
 * java.io.ObjectOutputStream (JDK 17), for the C decoder/encoder tests, and reads back what the C
 * encoder wrote with the real ObjectInputStream.
 *
 *   java JosGen write DIR    writes DIR/<shape>.bin (tests/unit/protocol/test_jos_java.c reads them)
 *   java JosGen verify DIR   reads DIR/c-*.bin written by the C test and checks every value
 */
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Externalizable;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInput;
import java.io.ObjectInputStream;
import java.io.ObjectOutput;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamConstants;
import java.io.Serializable;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

public class JosGen {
    static class Prims implements Serializable {
        private static final long serialVersionUID = 1L;
        byte b = -128;
        char c = '\u20ac';
        double d = -0.0;
        float f = Float.NaN;
        int i = Integer.MIN_VALUE;
        long j = Long.MAX_VALUE;
        short s = -2;
        boolean z = true;
    }

    static class Node implements Serializable {
        private static final long serialVersionUID = 2L;
        String name;
        Node next;
        int[] data;

        Node(String name) {
            this.name = name;
        }
    }

    enum Color {
        RED,
        GREEN {
            @Override
            public String toString() {
                return "g";
            }
        },
        BLUE
    }

    static class Handler implements InvocationHandler, Serializable {
        private static final long serialVersionUID = 3L;
        int id = 7;

        public Object invoke(Object proxy, Method m, Object[] args) {
            return null;
        }
    }

    static class Custom implements Serializable {
        private static final long serialVersionUID = 4L;
        int x = 5;
        String label = "custom";

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
            out.writeInt(0x01020304);
            out.writeUTF("h\u00e9llo");
            out.writeObject(new Node("inner"));
            byte[] big = new byte[2000];
            for (int k = 0; k < big.length; k++) {
                big[k] = (byte) k;
            }
            out.write(big);
            out.writeLong(-1L);
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
        }
    }

    /* writeObject without defaultWriteObject: only object fields, so the C decoder's fallback applies. */
    static class NoDefault implements Serializable {
        private static final long serialVersionUID = 5L;
        Object a = "A";
        Object b = "B";

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.writeInt(42);
            out.writeObject(a);
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.readInt();
            a = in.readObject();
        }
    }

    public static class Ext implements Externalizable {
        private static final long serialVersionUID = 6L;
        int n = 9;
        String s = "ext";

        public Ext() {
        }

        public void writeExternal(ObjectOutput out) throws IOException {
            out.writeInt(n);
            out.writeUTF(s);
            out.writeObject(new int[] {1, 2, 3});
        }

        public void readExternal(ObjectInput in) throws IOException, ClassNotFoundException {
            n = in.readInt();
            s = in.readUTF();
            in.readObject();
        }
    }

    record Point(int x, String y) implements Serializable {
    }

    static class Holder implements Serializable {
        private static final long serialVersionUID = 8L;
        int before = 1;
        Object o = new Object(); /* not serializable: the writer aborts with TC_EXCEPTION */
    }

    interface Shape {
        void write(ObjectOutputStream out) throws IOException;
    }

    static void write(Path dir, String name, Shape shape) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        ObjectOutputStream out = new ObjectOutputStream(bos);
        try {
            shape.write(out);
        } catch (IOException e) {
            /* the aborted shape: the stream already holds TC_EXCEPTION */
        }
        out.close();
        Files.write(dir.resolve(name + ".bin"), bos.toByteArray());
    }

    static Object[] jdkValues() {
        List<Object> list = new ArrayList<>();
        list.add(Integer.valueOf(1));
        list.add("x");
        Map<String, String> map = new HashMap<>();
        map.put("k", "v");
        return new Object[] {Integer.valueOf(5), Long.valueOf(-1), Boolean.TRUE, "str",
            new String[] {"a", null}, new byte[] {1, 2}, TimeUnit.SECONDS, list, map};
    }

    static void writeAll(Path dir) throws Exception {
        Files.createDirectories(dir);
        write(dir, "prims", out -> out.writeObject(new Prims()));
        write(dir, "boxed", out -> out.writeObject(new Object[] {Byte.valueOf((byte) 1),
            Character.valueOf('c'), Double.valueOf(2.5), Float.valueOf(-1.5f), Integer.valueOf(3),
            Long.valueOf(4), Short.valueOf((short) 5), Boolean.FALSE}));
        write(dir, "strings", out -> out.writeObject(new String[] {"", "ascii", "nul\u0000byte",
            "\u00e9", "\u20ac", "emoji \uD83D\uDE00!", "lone \uD800 surrogate", "tab\tquote\"back\\"}));
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < 50000; k++) {
            sb.append(k % 2 == 0 ? 'x' : '\u00e9');
        }
        String longString = sb.toString();
        write(dir, "longstring", out -> out.writeObject(longString));
        write(dir, "arrays", out -> out.writeObject(new Object[] {new int[] {1, -1, Integer.MAX_VALUE},
            new long[] {Long.MIN_VALUE, 0}, new byte[] {-1, 0, 1}, new char[] {'a', '\u20ac'},
            new short[] {-300, 300}, new float[] {1.5f, Float.NEGATIVE_INFINITY},
            new double[] {Math.PI, Double.NaN}, new boolean[] {true, false}, new String[] {"s", null},
            new Object[0], new int[][] {{1}, {2, 3}}, new byte[0]}));
        Node a = new Node("a");
        a.data = new int[] {7, 8};
        a.next = new Node("b");
        write(dir, "nested", out -> out.writeObject(a));
        Node c1 = new Node("c1");
        Node c2 = new Node("c2");
        c1.next = c2;
        c2.next = c1;
        write(dir, "cycle", out -> out.writeObject(new Object[] {c1, c2, c1, "shared", "shared"}));
        write(dir, "enums", out -> out.writeObject(new Object[] {TimeUnit.SECONDS, Color.RED,
            Color.GREEN, Color.RED, Color.BLUE}));
        Object proxy = Proxy.newProxyInstance(JosGen.class.getClassLoader(),
            new Class<?>[] {Runnable.class, Comparable.class}, new Handler());
        write(dir, "proxy", out -> out.writeObject(proxy));
        write(dir, "writeobject", out -> out.writeObject(new Custom()));
        write(dir, "nodefault", out -> out.writeObject(new NoDefault()));
        write(dir, "externalizable", out -> out.writeObject(new Ext()));
        write(dir, "externalizable-v1", out -> {
            out.useProtocolVersion(ObjectStreamConstants.PROTOCOL_VERSION_1);
            out.writeObject(new Ext());
        });
        write(dir, "record", out -> out.writeObject(new Point(3, "y")));
        IOException ex = new IOException("boom", new IllegalStateException("inner"));
        ex.addSuppressed(new RuntimeException("suppressed"));
        write(dir, "exception", out -> out.writeObject(ex));
        List<Object> list = new ArrayList<>(List.of("one", 2));
        Map<String, Integer> hm = new HashMap<>();
        hm.put("h", 1);
        Map<String, Integer> tm = new TreeMap<>();
        tm.put("b", 2);
        tm.put("a", 1);
        Map<String, Integer> lhm = new LinkedHashMap<>();
        lhm.put("z", 26);
        lhm.put("y", 25);
        write(dir, "collections", out -> out.writeObject(new Object[] {list, hm, tm, lhm,
            Collections.emptyList(), List.of(1, 2), Collections.singletonMap("s", "t")}));
        Node r = new Node("r");
        write(dir, "reset", out -> {
            out.writeObject(r);
            out.writeInt(77); /* top-level block data */
            out.reset();
            out.writeObject(r);
            out.writeObject(null);
            out.writeObject(String.class);
        });
        write(dir, "aborted", out -> out.writeObject(new Holder()));
        write(dir, "jdkvalues", out -> out.writeObject(jdkValues()));
        /* Remoting commands through the stubs (hudson/remoting/Stubs.java). */
        write(dir, "capability", out -> out.writeObject(newStub("hudson.remoting.Capability",
            "mask", 0x1fcL)));
        byte[] payload = serialize("hello \u00e9\uD83D\uDE00");
        Object nr = newStub("hudson.remoting.UserRequest$NormalResponse", "response", payload);
        write(dir, "response", out -> out.writeObject(newStub("hudson.remoting.Response",
            "id", 42, "lastIoId", 7, "returnValue", nr)));
        byte[] buf = new byte[100];
        for (int k = 0; k < buf.length; k++) {
            buf[k] = (byte) (k * 3);
        }
        write(dir, "chunk", out -> out.writeObject(newStub("hudson.remoting.ProxyOutputStream$Chunk",
            "ioId", 1, "oid", 3, "requestId", 5, "buf", buf)));
        write(dir, "ack", out -> out.writeObject(newStub("hudson.remoting.ProxyOutputStream$Ack",
            "oid", 3, "size", 8192)));
        write(dir, "eof", out -> out.writeObject(newStub("hudson.remoting.ProxyOutputStream$EOF",
            "ioId", 2, "oid", 3, "requestId", 6)));
        write(dir, "close", out -> out.writeObject(newStub("hudson.remoting.Channel$CloseCommand")));
        Object pipe = newStub("hudson.remoting.Pipe", "flag", false, "oid", 12);
        write(dir, "streams", out -> out.writeObject(new Object[] {
            newStub("hudson.remoting.RemoteOutputStream", "oid", 9),
            newStub("hudson.remoting.RemoteInputStream", "pipe", pipe)}));
    }

    static byte[] serialize(Object o) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bos)) {
            out.writeObject(o);
        }
        return bos.toByteArray();
    }

    static Field field(Class<?> c, String name) throws NoSuchFieldException {
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            try {
                Field f = k.getDeclaredField(name);
                f.setAccessible(true);
                return f;
            } catch (NoSuchFieldException e) {
                /* try the superclass */
            }
        }
        throw new NoSuchFieldException(c.getName() + "." + name);
    }

    static Object newStub(String cls, Object... kv) throws IOException {
        try {
            java.lang.reflect.Constructor<?> k = Class.forName(cls).getDeclaredConstructor();
            k.setAccessible(true);
            Object o = k.newInstance();
            for (int i = 0; i < kv.length; i += 2) {
                field(o.getClass(), (String) kv[i]).set(o, kv[i + 1]);
            }
            return o;
        } catch (ReflectiveOperationException e) {
            throw new IOException(e);
        }
    }

    static Object get(Object o, String name) throws Exception {
        return field(o.getClass(), name).get(o);
    }

    static int failures;

    static void check(String what, boolean ok) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) {
            failures++;
        }
    }

    static Object read(Path dir, String name) throws Exception {
        try (InputStream in = Files.newInputStream(dir.resolve(name + ".bin"));
             ObjectInputStream ois = new ObjectInputStream(in)) {
            Object o = ois.readObject();
            check(name + ": nothing after the object", in.read() == -1);
            return o;
        }
    }

    static Object readBytes(byte[] b) throws Exception {
        try (ObjectInputStream ois = new ObjectInputStream(new ByteArrayInputStream(b))) {
            return ois.readObject();
        }
    }

    static void verifyAll(Path dir) throws Exception {
        Object r = read(dir, "c-response");
        check("response class", r.getClass().getName().equals("hudson.remoting.Response"));
        check("response id", get(r, "id").equals(42));
        check("response lastIoId", get(r, "lastIoId").equals(7));
        check("response createdAt", get(r, "createdAt") == null);
        Object nr = get(r, "returnValue");
        check("response payload", readBytes((byte[]) get(nr, "response"))
            .equals("hello \u00e9\uD83D\uDE00"));
        Object e = read(dir, "c-error");
        Throwable t = (Throwable) get(e, "exception");
        check("error class", t instanceof IOException && t.getMessage().equals("boom"));
        check("error trace", t.getStackTrace().length == 0 && t.getCause() == null);
        Object ch = read(dir, "c-chunk");
        byte[] buf = (byte[]) get(ch, "buf");
        check("chunk fields", get(ch, "oid").equals(3) && get(ch, "ioId").equals(1)
            && buf.length == 3000 && buf[2999] == (byte) (2999 * 7));
        check("ack", get(read(dir, "c-ack"), "size").equals(8192));
        check("eof", get(read(dir, "c-eof"), "requestId").equals(6));
        check("close", read(dir, "c-close").getClass().getName()
            .equals("hudson.remoting.Channel$CloseCommand"));
        check("capability", get(read(dir, "c-capability"), "mask").equals(0x1fcL));
        Object[] v = (Object[]) read(dir, "c-jdkvalues");
        Object[] w = jdkValues();
        check("jdk values", v.length == w.length && v[0].equals(5) && v[1].equals(-1L)
            && v[2].equals(true) && v[3].equals("str") && Arrays.equals((String[]) v[4], (String[]) w[4])
            && Arrays.equals((byte[]) v[5], (byte[]) w[5]) && v[6] == TimeUnit.SECONDS
            && v[7].equals(w[7]) && v[8].equals(w[8]));
        Object s = read(dir, "c-strings");
        check("strings", Arrays.equals((String[]) s, new String[] {"", "nul\u0000", "\u20ac",
            "emoji \uD83D\uDE00", "x".repeat(70000)}));
        if (failures > 0) {
            System.out.println(failures + " failures");
            System.exit(1);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("write")) {
            writeAll(Path.of(args[1]));
        } else if (args.length == 2 && args[0].equals("verify")) {
            verifyAll(Path.of(args[1]));
        } else {
            System.err.println("usage: JosGen write|verify DIR");
            System.exit(2);
        }
    }
}
