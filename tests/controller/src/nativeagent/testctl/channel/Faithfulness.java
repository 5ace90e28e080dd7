package nativeagent.testctl.channel;

import hudson.remoting.Command;
import hudson.remoting.Response;
import hudson.remoting.UserRequest;
import hudson.remoting.UserResponse;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectStreamClass;
import java.io.ObjectStreamField;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks the test controller's wire classes against bytes captured from real remoting
 * (shared/golden, INDEX.md). Run: {@code java -Dgolden=<shared>/golden -cp <classes>
 * nativeagent.testctl.channel.Faithfulness}.
 *
 * <ul>
 * <li>controller-to-agent commands (c2a): deserialized with our classes in the real packages,
 *     re-serialized with a plain ObjectOutputStream and compared byte for byte;</li>
 * <li>nested payloads (UserRequest.request, NormalResponse.response, ...): the captures were made
 *     with capability 0x1FE, so they are MultiClassLoaderSerializer streams; if every class in them is
 *     available they are round-tripped through our {@link Wire.MultiClassLoaderOutput} (same export
 *     oid) and compared byte for byte; otherwise (test-harness callables such as refpeer.*) they are
 *     parsed to the end by a JDK ObjectInputStream and checked structurally: every descriptor of a
 *     class we have equals our descriptor (name, serialVersionUID, fields) and every class annotation
 *     follows the tag rules our writer implements (-3 bootstrap; -2 oid, then the list index);</li>
 * <li>agent-to-controller commands (a2c): must be read without error.</li>
 * </ul>
 * Prints one line per file: identical / identical-with-stand-in (the payload names a class of the capture's
 * harness: a stand-in with the captured name, serialVersionUID and fields is compiled, and the payload
 * round-trips identically through our writer) / structurally identical / read / FAILING; exits 1 on any FAILING.
 */
public final class Faithfulness {
    private Faithfulness() {
    }

    private static final long GOLDEN_CAPABILITY = 0x1FE;

    public static void main(String[] args) throws Exception {
        String dir = System.getProperty("golden", args.length > 0 ? args[0] : null);
        if (dir == null) {
            System.err.println("usage: -Dgolden=<shared>/golden");
            System.exit(2);
        }
        File[] files = new File(dir).listFiles((d, n) -> n.matches("0[567]-.*-(c2a|a2c)-[0-9]+\\.bin"));
        if (files == null || files.length == 0) {
            System.err.println("no golden command files in " + dir);
            System.exit(2);
        }
        Arrays.sort(files);
        Map<String, Integer> verdicts = new LinkedHashMap<>();
        int failing = 0;
        for (File f : files) {
            byte[] g = Files.readAllBytes(f.toPath());
            String v;
            try {
                v = f.getName().contains("-c2a-") ? checkC2A(g) : checkA2C(g);
            } catch (Exception | AssertionError e) {
                v = "FAILING: " + e;
            }
            if (v.startsWith("FAILING")) {
                failing++;
            }
            String kind = v.replaceAll(" [(:].*", "");
            verdicts.merge(kind, 1, Integer::sum);
            System.out.println(f.getName() + ": " + v);
        }
        String spec = System.getProperty("spec", new File(dir).getParent() + "/spec");
        for (String tsv : new String[] {"remoting-classes.tsv", "jdk-classes.tsv"}) {
            String v = checkTsv(new File(spec, tsv));
            System.out.println(tsv + ": " + v);
            if (v.startsWith("FAILING")) {
                failing++;
            }
        }
        for (String v : checkSpecVectors(new File(spec, "channel.md"))) {
            System.out.println(v);
            if (v.contains(": FAILING")) {
                failing++;
            }
        }
        for (String v : checkGenerated(new File(dir))) {
            System.out.println(v);
            if (v.contains(": FAILING")) {
                failing++;
            }
        }
        for (String v : checkStreamForms()) {
            System.out.println(v);
            if (v.contains(": FAILING")) {
                failing++;
            }
        }
        String extra = selfCheck();
        System.out.println("self-check (our MultiClassLoaderOutput vs the golden rules): " + extra);
        if (extra.startsWith("FAILING")) {
            failing++;
        }
        deleteTempDirs();
        System.out.println("summary: " + verdicts + (failing == 0 ? "" : ", " + failing + " FAILING"));
        System.exit(failing == 0 ? 0 : 1);
    }

    /* ------------------------------------------------------------------ c2a: exact round trip */

    static String checkC2A(byte[] g) throws Exception {
        Command c = Wire.readCommand(g);
        byte[] again = Wire.writeCommand(c);
        String name = c.getClass().getName();
        if (!Arrays.equals(g, again)) {
            return "FAILING: " + name + " re-serialized differs at offset " + mismatch(g, again)
                    + " (golden " + g.length + " bytes, ours " + again.length + ")";
        }
        List<String> notes = new ArrayList<>();
        String verdict = "identical";
        for (Map.Entry<String, byte[]> p : payloads(c).entrySet()) {
            String r = checkPayload(p.getValue());
            notes.add(p.getKey() + " " + r);
            if (r.startsWith("FAILING")) {
                return "FAILING: " + name + " outer identical, but " + p.getKey() + " " + r;
            }
            if (r.startsWith("structurally")) {
                verdict = "structurally identical";
            } else if (r.startsWith("identical-with-stand-in") && verdict.equals("identical")) {
                verdict = "identical-with-stand-in";
            }
        }
        String tail = notes.isEmpty() ? "" : "; " + String.join("; ", notes);
        return verdict + (verdict.equals("identical") ? " (" : " (outer bytes identical, ")
                + name + ", " + g.length + " bytes" + tail + ")";
    }

    /** The nested streams of a command (channel.md 1.12). */
    static Map<String, byte[]> payloads(Command c) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        if (c instanceof UserRequest) {
            m.put("request", ((UserRequest) c).request);
        } else if (c instanceof Response) {
            Object rv = ((Response) c).returnValue;
            if (rv instanceof UserRequest.NormalResponse) {
                m.put("NormalResponse.response", ((UserRequest.NormalResponse) rv).response);
            } else if (rv instanceof UserRequest.ExceptionResponse) {
                m.put("ExceptionResponse.proxyResponse", ((UserRequest.ExceptionResponse) rv).proxyResponse);
                if (((UserRequest.ExceptionResponse) rv).rawResponse != null) {
                    m.put("ExceptionResponse.rawResponse", ((UserRequest.ExceptionResponse) rv).rawResponse);
                }
            } else if (rv instanceof UserResponse) {
                m.put("UserResponse.response", ((UserResponse) rv).response);
            }
        }
        return m;
    }

    /** A MultiClassLoaderSerializer payload: exact round trip if we have its classes, else structural. */
    static String checkPayload(byte[] p) throws Exception {
        Capture cap = new Capture(new ByteArrayInputStream(p));
        Object o;
        try {
            o = cap.readObject();
        } catch (ClassNotFoundException e) {
            String s = cap.structural();
            if (s != null) {
                return "FAILING (" + s + ")";
            }
            String standIn = roundTripWithStandIns(p, cap);
            if (standIn != null) {
                return standIn;
            }
            return "structurally identical (" + p.length + " bytes; has class " + e.getMessage()
                    + " we do not have; descriptors " + cap.descNames() + ", annotations " + cap.tags
                    + ", ours compared: " + cap.compared + ")";
        }
        String s = cap.structural();
        if (s != null) {
            return "FAILING (" + s + ")";
        }
        Integer oid = cap.firstExportOid;
        byte[] again = Wire.writePayload(o, GOLDEN_CAPABILITY, cl -> {
            if (oid == null) {
                throw new IOException("payload had no -2 tag but we wrote one");
            }
            return oid;
        });
        if (!Arrays.equals(p, again)) {
            return "FAILING (payload re-serialized differs at offset " + mismatch(p, again) + ")";
        }
        return "identical (" + p.length + " bytes, annotations " + cap.tags + ")";
    }

    private static final Map<String, ClassLoader> STAND_INS = new java.util.HashMap<>();
    private static final List<java.nio.file.Path> TEMP_DIRS = new ArrayList<>();

    private static void deleteTempDirs() {
        for (java.nio.file.Path d : TEMP_DIRS) {
            try (java.util.stream.Stream<java.nio.file.Path> w = Files.walk(d)) {
                w.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
            } catch (IOException e) {
                System.err.println("could not delete " + d + ": " + e);
            }
        }
    }

    /**
     * For a payload naming classes of the capture's own harness (refpeer.*): compile stand-ins with
     * exactly the captured name, serialVersionUID and fields, load them together with our wire classes
     * in one class loader (as the capture had one loader), and round-trip the payload through our
     * MultiClassLoaderOutput. Returns the verdict if the bytes are identical, else null (structural only).
     */
    static String roundTripWithStandIns(byte[] p, Capture cap) {
        try {
            StringBuilder key = new StringBuilder();
            Map<String, String> sources = new LinkedHashMap<>();
            for (ObjectStreamClass d : cap.descs) {
                String n = d.getName();
                try {
                    Class.forName(n, false, Faithfulness.class.getClassLoader());
                    continue;
                } catch (ClassNotFoundException e) {
                    /* needs a stand-in */
                }
                if (n.contains("$") || !n.contains(".") || n.startsWith("[")) {
                    return null;
                }
                StringBuilder src = new StringBuilder();
                src.append("package ").append(n, 0, n.lastIndexOf('.')).append(";\n")
                        .append("public class ").append(n.substring(n.lastIndexOf('.') + 1))
                        .append(" implements java.io.Serializable {\n")
                        .append("    private static final long serialVersionUID = ").append(d.getSerialVersionUID()).append("L;\n");
                for (ObjectStreamField f : d.getFields()) {
                    src.append("    public ").append(javaType(f)).append(' ').append(f.getName()).append(";\n");
                }
                sources.put(n, src.append("}\n").toString());
                key.append(n).append(';');
            }
            if (sources.isEmpty()) {
                return null;
            }
            ClassLoader loader = STAND_INS.get(key.toString());
            if (loader == null) {
                loader = compileStandIns(sources);
                if (loader == null) {
                    return null;
                }
                STAND_INS.put(key.toString(), loader);
            }
            final ClassLoader cl = loader;
            Wire.LoaderResolver r = new Wire.LoaderResolver() {
                @Override
                public ClassLoader ourLoader(int oid) {
                    return cl;
                }

                @Override
                public ClassLoader agentLoader(int oid) {
                    return cl;
                }
            };
            Object o;
            try (ObjectInputStream in = new Wire.MultiClassLoaderInput(new ByteArrayInputStream(p), r)) {
                o = in.readObject();
            }
            Integer oid = cap.firstExportOid;
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try (Wire.MultiClassLoaderOutput out = new Wire.MultiClassLoaderOutput(bos, c -> oid)) {
                out.writeObject(o);
            }
            if (!Arrays.equals(p, bos.toByteArray())) {
                return null;
            }
            return "identical-with-stand-in (" + p.length + " bytes; " + String.join(", ", sources.keySet())
                    + " rebuilt from the captured descriptor, payload re-serialized identically; annotations " + cap.tags + ")";
        } catch (Exception | LinkageError e) {
            return null;
        }
    }

    private static String javaType(ObjectStreamField f) {
        String t = f.isPrimitive() ? String.valueOf(f.getTypeCode()) : f.getTypeString();
        int dims = 0;
        while (t.startsWith("[")) {
            dims++;
            t = t.substring(1);
        }
        String base;
        switch (t.charAt(0)) {
            case 'B': base = "byte"; break;
            case 'C': base = "char"; break;
            case 'D': base = "double"; break;
            case 'F': base = "float"; break;
            case 'I': base = "int"; break;
            case 'J': base = "long"; break;
            case 'S': base = "short"; break;
            case 'Z': base = "boolean"; break;
            default: base = t.substring(1, t.length() - 1).replace('/', '.').replace('$', '.');
        }
        return base + "[]".repeat(dims);
    }

    /** Compile the stand-ins; load them and our wire classes child-first in one loader. Null without a compiler. */
    private static ClassLoader compileStandIns(Map<String, String> sources) throws IOException {
        javax.tools.JavaCompiler javac = javax.tools.ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            return null;
        }
        java.nio.file.Path dir = Files.createTempDirectory("testctl-standins");
        TEMP_DIRS.add(dir);
        List<String> args = new ArrayList<>(List.of("--release", "17", "-nowarn", "-d", dir.toString(),
                "-cp", System.getProperty("java.class.path")));
        for (Map.Entry<String, String> e : sources.entrySet()) {
            java.nio.file.Path src = dir.resolve(e.getKey().replace('.', '/') + ".java");
            Files.createDirectories(src.getParent());
            Files.writeString(src, e.getValue());
            args.add(src.toString());
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        if (javac.run(null, err, err, args.toArray(new String[0])) != 0) {
            return null;
        }
        List<java.net.URL> urls = new ArrayList<>();
        urls.add(dir.toUri().toURL());
        for (String cp : System.getProperty("java.class.path").split(File.pathSeparator)) {
            urls.add(new File(cp).toURI().toURL());
        }
        return new java.net.URLClassLoader(urls.toArray(new java.net.URL[0]), ClassLoader.getPlatformClassLoader());
    }

    /**
     * A MultiClassLoaderSerializer reader that records each descriptor and its annotation; classes
     * we do not have stay unresolved (the JDK reader still parses their data to the end).
     */
    static final class Capture extends ObjectInputStream {
        final List<ObjectStreamClass> descs = new ArrayList<>();
        final List<String> tags = new ArrayList<>();
        final List<String> violations = new ArrayList<>();
        final List<String> compared = new ArrayList<>();
        Integer firstExportOid;
        int listSize;

        List<String> descNames() {
            List<String> n = new ArrayList<>();
            for (ObjectStreamClass d : descs) {
                n.add(d.getName());
            }
            return n;
        }

        Capture(InputStream in) throws IOException {
            super(in);
        }

        /** Check one annotation: JDK classes -3; others -2 oid the first time, then index 0. */
        private void tag(String name) throws IOException {
            int t = readInt();
            boolean jdk = isBootstrap(name);
            if (t == Wire.TAG_EXPORTED_CLASSLOADER) {
                int oid = readInt();
                tags.add("-2/" + oid);
                if (firstExportOid == null) {
                    firstExportOid = oid;
                } else {
                    violations.add("second -2 tag for " + name + " (one loader in the capture)");
                }
                listSize++;
                if (jdk) {
                    violations.add("-2 for bootstrap class " + name);
                }
            } else if (t == Wire.TAG_SYSTEMCLASSLOADER) {
                tags.add("-3");
                if (!jdk) {
                    violations.add("-3 for non-JDK class " + name);
                }
            } else if (t == Wire.TAG_LOCAL_CLASSLOADER) {
                tags.add("-1/" + readInt());
                listSize++;
                violations.add("-1 (controller never imports agent loaders) for " + name);
            } else {
                tags.add(Integer.toString(t));
                if (t < 0 || t >= listSize || jdk) {
                    violations.add("index " + t + " for " + name);
                }
            }
        }

        @Override
        protected ObjectStreamClass readClassDescriptor() throws IOException, ClassNotFoundException {
            ObjectStreamClass d = super.readClassDescriptor();
            descs.add(d);
            return d;
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            tag(desc.getName());
            return super.resolveClass(desc);
        }

        @Override
        protected Class<?> resolveProxyClass(String[] interfaces) throws IOException, ClassNotFoundException {
            tag(interfaces[0]);
            return super.resolveProxyClass(interfaces);
        }

        /** Null if fine, else what is wrong: descriptors of classes we have must equal ours. */
        String structural() {
            List<String> bad = new ArrayList<>(violations);
            for (ObjectStreamClass d : descs) {
                Class<?> local;
                try {
                    local = Class.forName(d.getName(), false, Faithfulness.class.getClassLoader());
                } catch (ClassNotFoundException e) {
                    continue;
                }
                ObjectStreamClass ours = ObjectStreamClass.lookupAny(local);
                compared.add(d.getName());
                String diff = compareDesc(d, ours);
                if (diff != null) {
                    bad.add(diff);
                }
            }
            return bad.isEmpty() ? null : String.join("; ", bad);
        }
    }

    static boolean isBootstrap(String name) {
        String n = name.replaceFirst("^\\[+L?", "");
        return n.length() <= 1 || n.startsWith("java.") || n.startsWith("javax.") || n.startsWith("jdk.");
    }

    static String compareDesc(ObjectStreamClass golden, ObjectStreamClass ours) {
        if (golden.getSerialVersionUID() != ours.getSerialVersionUID()) {
            return golden.getName() + ": serialVersionUID " + golden.getSerialVersionUID() + " vs ours " + ours.getSerialVersionUID();
        }
        ObjectStreamField[] a = golden.getFields();
        ObjectStreamField[] b = ours.getFields();
        StringBuilder sa = new StringBuilder();
        StringBuilder sb = new StringBuilder();
        for (ObjectStreamField f : a) {
            sa.append(f.getName()).append(':').append(f.getTypeString() == null ? "" + f.getTypeCode() : f.getTypeString()).append(',');
        }
        for (ObjectStreamField f : b) {
            sb.append(f.getName()).append(':').append(f.getTypeString() == null ? "" + f.getTypeCode() : f.getTypeString()).append(',');
        }
        if (!sa.toString().equals(sb.toString())) {
            return golden.getName() + ": fields " + sa + " vs ours " + sb;
        }
        return null;
    }

    /* ------------------------------------------------------------------ a2c: must be readable */

    static String checkA2C(byte[] g) throws Exception {
        Command c = Wire.readCommand(g);
        List<String> notes = new ArrayList<>();
        for (Map.Entry<String, byte[]> p : payloads(c).entrySet()) {
            Capture cap = new Capture(new ByteArrayInputStream(p.getValue()));
            try {
                Object o = cap.readObject();
                notes.add(p.getKey() + " = " + (o == null ? "null" : o.getClass().getName()));
            } catch (ClassNotFoundException e) {
                notes.add(p.getKey() + " parsed (class " + e.getMessage() + " not available)");
            }
        }
        byte[] again = Wire.writeCommand(c);
        String rt = Arrays.equals(g, again) ? ", re-serializes identically" : "";
        return "read (" + Channel.describe(c) + rt + (notes.isEmpty() ? "" : "; " + String.join("; ", notes)) + ")";
    }

    /* ------------------------------------------------------------------ what our Channel generates */

    /**
     * Commands built by our {@link Channel} (not round-tripped): a Ping UserRequest (agent 0x1FE, as in
     * the capture) against 07-lastcmd-c2a-00301.bin and the Response to an agent's Ping against
     * 07-lastcmd-a2c-00315.bin (same class and form in both directions). Only the request id, the
     * toString hash and the createdAt stack trace may differ: those are copied from the golden object
     * before comparing the bytes.
     */
    static List<String> checkGenerated(File dir) throws Exception {
        List<String> out = new ArrayList<>();
        LoopbackLink[] pair = LoopbackLink.pair(GOLDEN_CAPABILITY, GOLDEN_CAPABILITY);
        Channel ch = new Channel(pair[0], new java.io.PrintStream(new ByteArrayOutputStream()));
        ch.setTrace(false);
        ch.start();
        try {
            ch.callAsync(new hudson.remoting.PingThread.Ping());
            byte[] mine = pair[1].receive();
            byte[] golden = Files.readAllBytes(new File(dir, "07-lastcmd-c2a-00301.bin").toPath());
            out.add("generated Ping UserRequest vs 07-lastcmd-c2a-00301.bin: " + compareGenerated(mine, golden));

            UserRequest ping = (UserRequest) Wire.readCommand(golden);
            pair[1].send(golden);
            byte[] reply = pair[1].receive();
            byte[] goldenReply = Files.readAllBytes(new File(dir, "07-lastcmd-a2c-00315.bin").toPath());
            Response r = (Response) Wire.readCommand(reply);
            String idNote = r.id == ping.id ? "" : " (id " + r.id + " != request " + ping.id + ")";
            out.add("generated Response(NormalResponse null) vs 07-lastcmd-a2c-00315.bin: "
                    + compareGenerated(reply, goldenReply) + idNote);

            /* a direct RPCRequest (proxy with userProxy=false), as the controller sends IClassLoader.getName() */
            byte[] goldenRpc = Files.readAllBytes(new File(dir, "06-firstofclass-c2a-00288.bin").toPath());
            hudson.remoting.RemoteInvocationHandler.RPCRequest g =
                    (hudson.remoting.RemoteInvocationHandler.RPCRequest) Wire.readCommand(goldenRpc);
            java.util.concurrent.CompletableFuture<Object> rpc = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return ch.rpc(g.oid, g.declaringClassName, g.methodName, new String[0], new Object[0], false, false, 5000);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            byte[] mineRpc = pair[1].receive();
            out.add("generated RPCRequest (direct, IClassLoader.getName) vs 06-firstofclass-c2a-00288.bin: "
                    + compareGenerated(mineRpc, goldenRpc));
            int rpcId = ((hudson.remoting.Request) Wire.readCommand(mineRpc)).id;
            pair[1].send(Wire.writeCommand(new Response(rpcId, 0, "name", null)));
            Object name = rpc.get(5, java.util.concurrent.TimeUnit.SECONDS);
            if (!"name".equals(name)) {
                out.add("generated RPCRequest: FAILING (raw result " + name + ")");
            }
        } finally {
            pair[1].close();
            ch.awaitTermination(2000);
        }
        return out;
    }

    private static String compareGenerated(byte[] mineBytes, byte[] goldenBytes) throws Exception {
        Command mine = Wire.readCommand(mineBytes);
        Command golden = Wire.readCommand(goldenBytes);
        if (mine.getClass() != golden.getClass()) {
            return "FAILING (class " + mine.getClass().getName() + " vs " + golden.getClass().getName() + ")";
        }
        /* transplant the diagnostics and ids, which legitimately differ */
        Exception src = golden.createdAt;
        set(mine, Command.class, "createdAt", src);
        if (src instanceof Command.Source) {
            set(src, Command.Source.class, "this$0", mine);
        }
        if (mine instanceof hudson.remoting.Request) {
            set(mine, hudson.remoting.Request.class, "id", ((hudson.remoting.Request) golden).id);
        }
        if (mine instanceof Response) {
            set(mine, Response.class, "id", ((Response) golden).id);
        }
        if (mine instanceof UserRequest) {
            set(mine, UserRequest.class, "toString", ((UserRequest) golden).toString);
        }
        byte[] again = Wire.writeCommand(mine);
        if (Arrays.equals(again, goldenBytes)) {
            return "identical (after copying id, toString and createdAt from the capture)";
        }
        return "FAILING (differs at offset " + mismatch(again, goldenBytes) + ": ours "
                + region(again, mismatch(again, goldenBytes), 24) + " golden "
                + region(goldenBytes, mismatch(again, goldenBytes), 24) + ")";
    }

    private static void set(Object o, Class<?> c, String field, Object v) throws ReflectiveOperationException {
        java.lang.reflect.Field f = c.getDeclaredField(field);
        f.setAccessible(true);
        f.set(o, v);
    }

    /* ------------------------------------------------------------------ channel.md 7.1 stream objects */

    /** Hex of a modified-UTF-8 string with its u2 length (ASCII only here). */
    private static String utf(String s) {
        StringBuilder b = new StringBuilder(String.format("%04x", s.length()));
        for (char c : s.toCharArray()) {
            b.append(String.format("%02x", (int) c));
        }
        return b.toString();
    }

    /**
     * The plain-mode bytes channel.md 7.1 gives for RemoteOutputStream, RemoteWriter, RemoteInputStream
     * (with and without the reader's GREEDY bit, greedy and not) and Pipe, against what our classes write.
     */
    static List<String> checkStreamForms() throws IOException, ClassNotFoundException {
        String one = "0000000000000001";
        String ros = "7372" + utf("hudson.remoting.RemoteOutputStream") + one + "03" + "0000" + "7870" + "7704" + "00000005" + "78";
        String rw = "7372" + utf("hudson.remoting.RemoteWriter") + one + "03" + "0000" + "7870" + "7704" + "00000005" + "78";
        String risDesc = "7372" + utf("hudson.remoting.RemoteInputStream") + one + "03" + "0002"
                + "5a" + utf("autoUnexport") + "5a" + utf("greedy") + "7870";
        String pipe = "7372" + utf("hudson.remoting.Pipe") + one + "03" + "0002"
                + "4c" + utf("in") + "74" + utf("Ljava/io/InputStream;")
                + "4c" + utf("out") + "74" + utf("Ljava/io/OutputStream;") + "7870";
        Object[][] cases = {
            {"RemoteOutputStream(oid 5)", new hudson.remoting.RemoteOutputStream(5), 0x1FCL, ros},
            {"RemoteWriter(oid 5)", new hudson.remoting.RemoteWriter(5), 0x1FCL, rw},
            {"RemoteInputStream(oid 5), reader has GREEDY", new hudson.remoting.RemoteInputStream(5), 0x1FCL,
                risDesc + "7705" + "00" + "00000005" + "78"},
            {"RemoteInputStream(oid 5), reader lacks GREEDY", new hudson.remoting.RemoteInputStream(5), 0x1DCL,
                risDesc + "7704" + "00000005" + "78"},
            {"RemoteInputStream(greedy, Pipe flag 0 oid 6)",
                new hudson.remoting.RemoteInputStream(new hudson.remoting.Pipe(false, 6)), 0x1FCL,
                risDesc + "770101" + pipe + "7705" + "00" + "00000006" + "78" + "78"},
            {"Pipe(flag 1 = remote writes, oid 7)", new hudson.remoting.Pipe(true, 7), 0x1FCL,
                pipe + "7705" + "01" + "00000007" + "78"},
        };
        List<String> out = new ArrayList<>();
        for (Object[] c : cases) {
            byte[] b = Wire.writePayload(c[1], (Long) c[2], cl -> {
                throw new IOException("plain mode");
            });
            String got = Wire.hexHead(b, 4096).substring(8); /* drop AC ED 00 05 */
            String want = (String) c[3];
            String v = got.equals(want) ? "identical" : "FAILING (ours " + got + ", spec " + want + ")";
            if (got.equals(want)) {
                Object back = Wire.readPayload(b, (Long) c[2], null);
                byte[] again = Wire.writePayload(back, (Long) c[2], cl -> {
                    throw new IOException("plain mode");
                });
                if (!Arrays.equals(b, again)) {
                    v = "FAILING (does not survive read + write)";
                }
            }
            out.add("channel.md 7.1 form " + c[0] + ": " + v);
        }
        return out;
    }

    /* ------------------------------------------------------------------ our writer, checked by the same rules */

    /** Our payload for a test callable and for a Ping must pass the same annotation rules. */
    static String selfCheck() throws Exception {
        Object[] samples = {
            new hudson.remoting.PingThread.Ping(),
            new nativeagent.testctl.callables.Echo("x"),
            new nativeagent.testctl.callables.WriteToStream(new hudson.remoting.RemoteOutputStream(7), "t"),
            new java.io.IOException("boom"),
        };
        List<String> out = new ArrayList<>();
        for (Object s : samples) {
            byte[] p = Wire.writePayload(s, GOLDEN_CAPABILITY, cl -> 2);
            Capture cap = new Capture(new ByteArrayInputStream(p));
            cap.readObject();
            String bad = cap.structural();
            if (bad != null) {
                return "FAILING (" + s.getClass().getName() + ": " + bad + ")";
            }
            out.add(s.getClass().getSimpleName() + " " + cap.tags);
        }
        byte[] plain = Wire.writePayload(new hudson.remoting.PingThread.Ping(), 0x1FC, cl -> {
            throw new IOException("plain payloads must not export loaders");
        });
        String pingHex = Wire.hexHead(plain, 200);
        String want = "aced00057372001f687564736f6e2e72656d6f74696e672e50696e675468726561642450696e67"
                + "00000000000000010200007870";
        if (!pingHex.equals(want)) {
            return "FAILING (plain Ping payload " + pingHex + ")";
        }
        return "ok (" + String.join(", ", out) + "; plain 0x1FC Ping payload = channel.md 12 bytes)";
    }

    /* ------------------------------------------------------------------ descriptor tables and spec vectors */

    /**
     * Every row of a descriptor table (spec/README.md) whose class is on our class path must match what
     * this JVM writes for our class: serialVersionUID, flags byte, fields, serializable superclass.
     */
    static String checkTsv(File tsv) throws IOException {
        if (!tsv.isFile()) {
            return "FAILING (missing " + tsv + ")";
        }
        List<String> lines = Files.readAllLines(tsv.toPath());
        List<String> bad = new ArrayList<>();
        int checked = 0;
        int absent = 0;
        for (String line : lines.subList(1, lines.size())) {
            String[] c = line.split("\t");
            if (c.length < 7) {
                continue;
            }
            Class<?> cls;
            try {
                cls = Class.forName(c[0], false, Faithfulness.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                absent++;
                continue;
            }
            checked++;
            String got = describeClass(cls);
            String want = c[0] + " " + c[1] + " " + c[2] + " " + c[4] + " " + c[6];
            if (!got.equals(want)) {
                bad.add("want [" + want + "] got [" + got + "]");
            }
        }
        if (!bad.isEmpty()) {
            return "FAILING (" + String.join("; ", bad) + ")";
        }
        return "identical (" + checked + " classes match: serialVersionUID, flags, fields, superclass; "
                + absent + " rows name classes the test controller does not need)";
    }

    /** "name suid flags fields super" as this JVM writes our class (flags read from a written TC_CLASS). */
    static String describeClass(Class<?> cls) throws IOException {
        ObjectStreamClass d = ObjectStreamClass.lookup(cls);
        if (d == null) {
            return cls.getName() + " not Serializable";
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (java.io.ObjectOutputStream oos = new java.io.ObjectOutputStream(bos)) {
            oos.writeObject(cls);
        }
        byte[] b = bos.toByteArray();
        int nameLen = ((b[6] & 0xff) << 8) | (b[7] & 0xff);
        int flags = b[8 + nameLen + 8] & 0xff;
        StringBuilder f = new StringBuilder();
        for (ObjectStreamField x : d.getFields()) {
            f.append(f.length() == 0 ? "" : ",").append(x.getName()).append(':')
                    .append(x.isPrimitive() ? String.valueOf(x.getTypeCode()) : x.getTypeString());
        }
        Class<?> sup = cls.getSuperclass();
        String superDesc = sup != null && ObjectStreamClass.lookup(sup) != null ? sup.getName() : "TC_NULL";
        return cls.getName() + " " + d.getSerialVersionUID() + " " + String.format("0x%02x", flags) + " "
                + (f.length() == 0 ? "-" : f) + " " + superDesc;
    }

    /** The agent-style test vectors of channel.md section 12: read with our classes, re-serialize identically. */
    static List<String> checkSpecVectors(File md) throws IOException {
        List<String> out = new ArrayList<>();
        if (!md.isFile()) {
            out.add("channel.md: FAILING (missing " + md + ")");
            return out;
        }
        String text = new String(Files.readAllBytes(md.toPath()), java.nio.charset.StandardCharsets.UTF_8);
        int from = text.indexOf("## 12.");
        int to = text.indexOf("## 13.", from);
        if (from < 0 || to < 0) {
            out.add("channel.md: FAILING (no section 12)");
            return out;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("\\* (.+?) \u2014 (\\d+) bytes\\s*```\\s*([0-9a-f\\s]+?)```")
                .matcher(text.substring(from, to));
        while (m.find()) {
            String name = m.group(1).trim();
            byte[] v = unhex(m.group(3));
            String verdict;
            try {
                if (v.length != Integer.parseInt(m.group(2))) {
                    verdict = "FAILING (hex is " + v.length + " bytes)";
                } else {
                    Command c = Wire.readCommand(v);
                    byte[] again = Wire.writeCommand(c);
                    int at = mismatch(v, again);
                    if (Arrays.equals(v, again)) {
                        verdict = "identical";
                    } else if (at < again.length && at < v.length && again[at] == 0x71 && v[at] == 0x74
                            && Arrays.equals(Wire.writeCommand(Wire.readCommand(again)), again)) {
                        verdict = "equivalent (hand-assembled without back references: at offset " + at
                                + " the vector repeats a string that the JDK writes as TC_REFERENCE)";
                    } else {
                        verdict = "FAILING (differs at offset " + at + ")";
                    }
                }
            } catch (Exception e) {
                verdict = "FAILING (" + e + ")";
            }
            out.add("channel.md 12 vector " + name + ": " + verdict);
        }
        if (out.isEmpty()) {
            out.add("channel.md: FAILING (no vectors found in section 12)");
        }
        return out;
    }

    static byte[] unhex(String s) {
        String h = s.replaceAll("\\s", "");
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    static int mismatch(byte[] a, byte[] b) {
        int n = Math.min(a.length, b.length);
        for (int i = 0; i < n; i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return n;
    }

    /** For debugging: hex of a region. */
    static String region(byte[] b, int off, int len) {
        ByteArrayOutputStream x = new ByteArrayOutputStream();
        x.write(b, Math.max(0, off), Math.max(0, Math.min(len, b.length - off)));
        return Wire.hexHead(x.toByteArray(), len);
    }
}
