package nativeagent.testctl.net;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Key material. The JDK has no public API to make a certificate, so we run the JDK's own keytool
 * once per key into a PKCS12 key store (and reuse it when the directory already has one):
 * <ul>
 * <li>{@code identity.p12}: the controller's RSA-2048 <em>instance identity</em>, in a self-signed
 *     certificate. JNLP4 TLS uses it; agents pin its public key (X-Instance-Identity).</li>
 * <li>{@code https.p12}: the HTTPS/WSS server certificate, CN=127.0.0.1 with SAN ip:127.0.0.1,
 *     dns:localhost, self-signed; exported as PEM ({@code https.pem}) for agents to trust.</li>
 * </ul>
 */
public final class Keys {
    public static final char[] PASSWORD = "testctl".toCharArray();

    public final X509Certificate cert;
    public final SSLContext serverContext;

    private Keys(X509Certificate cert, SSLContext ctx) {
        this.cert = cert;
        this.serverContext = ctx;
    }

    /** Base64 (standard, padded) of the DER SubjectPublicKeyInfo: the X-Instance-Identity value. */
    public String spkiBase64() {
        return Base64.getEncoder().encodeToString(cert.getPublicKey().getEncoded());
    }

    public String pem() {
        try {
            return "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                            .encodeToString(cert.getEncoded())
                    + "\n-----END CERTIFICATE-----\n";
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Keys identity(Path dir) throws IOException {
        try (FileChannel lock = lock(dir, "identity")) {
            return load(dir.resolve("identity.p12"), "identity", "CN=testctl instance identity", null);
        }
    }

    public static Keys https(Path dir) throws IOException {
        try (FileChannel lock = lock(dir, "https")) {
            Keys k = load(dir.resolve("https.p12"), "https", "CN=127.0.0.1",
                    "SAN=ip:127.0.0.1,dns:localhost");
            Path pem = dir.resolve("https.pem");
            if (!Files.exists(pem) || !Files.readString(pem).equals(k.pem())) {
                Path tmp = Files.createTempFile(dir, "https", ".tmp");
                Files.writeString(tmp, k.pem());
                Files.move(tmp, pem, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            return k;
        }
    }

    /** An exclusive lock on DIR/NAME.lock, so that parallel tests share one key per directory. */
    private static FileChannel lock(Path dir, String name) throws IOException {
        FileChannel ch = FileChannel.open(dir.resolve(name + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        ch.lock();
        return ch;
    }

    private static Keys load(Path store, String alias, String dname, String ext) throws IOException {
        if (!Files.exists(store)) {
            generate(store, alias, dname, ext);
        }
        try (InputStream in = Files.newInputStream(store)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, PASSWORD);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, PASSWORD);
            SSLContext ctx = SSLContext.getInstance("TLS");
            /* Like Jenkins' JNLP4 server: accept any client certificate (agents send none). */
            ctx.init(kmf.getKeyManagers(), new TrustManager[] {trustAll()}, null);
            Certificate c = ks.getCertificate(alias);
            return new Keys((X509Certificate) c, ctx);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot load " + store + ": " + e, e);
        }
    }

    /** keytool -genkeypair into a temporary file, then an atomic rename (safe for parallel tests). */
    private static void generate(Path store, String alias, String dname, String ext) throws IOException {
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Path tmp = store.resolveSibling(store.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.deleteIfExists(tmp);
        List<String> cmd = new ArrayList<>(List.of(keytool.toString(), "-genkeypair", "-alias", alias,
                "-keyalg", "RSA", "-keysize", "2048", "-sigalg", "SHA256withRSA", "-validity", "3650",
                "-dname", dname, "-keystore", tmp.toString(), "-storetype", "PKCS12",
                "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD), "-noprompt"));
        if (ext != null) {
            cmd.add("-ext");
            cmd.add(ext);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IOException("keytool failed: " + out);
            }
        } catch (InterruptedException e) {
            throw new IOException("interrupted", e);
        }
        try {
            Files.move(tmp, store, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            if (!Files.exists(store)) {
                throw e;
            }
        }
    }

    public static X509TrustManager trustAll() {
        return new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
    }
}
