package nativeagent.testctl.net;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * A minimal Java agent for SelfTest: the client side of JNLP4-connect (with public-key pinning,
 * like agent.jar) and of the WebSocket transport (masked frames). It records the bytes it
 * receives so that tests can compare them with the golden captures.
 */
final class TestAgent {
    private TestAgent() {
    }

    /** An InputStream that keeps a copy of every byte read through it. */
    static final class Recorder extends FilterInputStream {
        final ByteArrayOutputStream seen = new ByteArrayOutputStream();

        Recorder(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                seen.write(b);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                seen.write(b, off, n);
            }
            return n;
        }
    }

    /** The client end of one JNLP4-connect attempt. */
    static final class Jnlp4 {
        Socket raw;
        SSLSocket tls;
        Recorder in;
        OutputStream out;
        byte[] ack;
        String controllerHeadersText;
        Map<String, String> controllerHeaders;
        String verdict;
        long controllerCapability = -1;

        /**
         * Connect and run the handshake as far as it goes. Stops (without throwing) after a bad
         * ACK or a refusal; the fields show how far it got.
         */
        static Jnlp4 connect(int port, String identityB64, String name, String secret, String cookie,
                long ourCap) throws IOException {
            return connect(port, identityB64, name, secret, cookie, ourCap, 5000);
        }

        static Jnlp4 connect(int port, String identityB64, String name, String secret, String cookie,
                long ourCap, int readTimeoutMs) throws IOException {
            Jnlp4 c = new Jnlp4();
            c.raw = new Socket(InetAddress.getLoopbackAddress(), port);
            try {
                c.handshake(port, identityB64, name, secret, cookie, ourCap, readTimeoutMs);
            } catch (IOException e) {
                c.raw.close();
                throw e;
            }
            return c;
        }

        private void handshake(int port, String identityB64, String name, String secret, String cookie,
                long ourCap, int readTimeoutMs) throws IOException {
            Jnlp4 c = this;
            c.raw.setSoTimeout(5000);
            OutputStream rawOut = c.raw.getOutputStream();
            rawOut.write(Wire.concat(Wire.frame16("Protocol:JNLP4-connect"), Wire.ACK));
            rawOut.flush();
            c.ack = c.raw.getInputStream().readNBytes(5);
            if (!java.util.Arrays.equals(c.ack, Wire.ACK)) {
                return;
            }
            c.tls = (SSLSocket) pinnedContext(identityB64).getSocketFactory()
                    .createSocket(c.raw, "127.0.0.1", port, true);
            c.tls.setUseClientMode(true);
            c.tls.startHandshake();
            c.tls.setSoTimeout(readTimeoutMs);
            c.in = new Recorder(new BufferedInputStream(c.tls.getInputStream()));
            c.out = c.tls.getOutputStream();
            Map<String, String> h = new LinkedHashMap<>();
            if (cookie != null) {
                h.put("JnlpAgentProtocol.cookie", cookie);
            }
            h.put("Node-Name", name);
            h.put("Secret-Key", secret);
            Wire.writeFlush(c.out, Wire.frame16(Wire.headersToJson(h)));
            c.controllerHeadersText = Wire.readFrame16(c.in);
            try {
                c.controllerHeaders = Wire.parseHeaders(c.controllerHeadersText);
            } catch (IOException e) {
                Wire.writeFlush(c.out, Wire.frame16("ERROR: Malformed connection header"));
                return;
            }
            Wire.writeFlush(c.out, Wire.frame16("OK"));
            c.verdict = Wire.readFrame16(c.in);
            if (!c.verdict.equals("OK")) {
                Wire.writeFlush(c.out, Wire.BYE);
                return;
            }
            Wire.writeFlush(c.out, Wire.frame16(Wire.capabilityToBase64(ourCap)));
            c.controllerCapability = Wire.capabilityFromBase64(Wire.readFrame16(c.in));
            return;
        }

        void close() {
            try {
                if (tls != null) {
                    tls.close();
                } else {
                    raw.close();
                }
            } catch (IOException e) {
                /* ignore */
            }
        }
    }

    /** TLS client context that accepts exactly the server key published as the instance identity. */
    static SSLContext pinnedContext(String identityB64) {
        byte[] pinned = Base64.getDecoder().decode(identityB64);
        X509TrustManager tm = new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType)
                    throws CertificateException {
                if (!MessageDigest.isEqual(chain[0].getPublicKey().getEncoded(), pinned)) {
                    throw new CertificateException("Public key of the first certificate in chain (subject: "
                            + chain[0].getSubjectX500Principal() + ") is not in the list of trusted keys");
                }
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {tm}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** TLS client context trusting only the given PEM certificate, with hostname verification. */
    static SSLContext pemContext(String pem) throws IOException {
        try {
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new java.io.ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setCertificateEntry("ca", cert);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    /** Open a TCP (or TLS, when ctx != null, verifying the host name) connection to 127.0.0.1. */
    static Socket open(int port, SSLContext ctx) throws IOException {
        Socket s;
        if (ctx == null) {
            s = new Socket(InetAddress.getLoopbackAddress(), port);
        } else {
            SSLSocket t = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
            SSLParameters p = t.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            t.setSSLParameters(p);
            t.startHandshake();
            s = t;
        }
        s.setSoTimeout(5000);
        return s;
    }

    /** An HTTP response: status line, headers in order, body. */
    static final class Response {
        String statusLine;
        int status;
        final List<String[]> headers = new ArrayList<>();
        byte[] body;

        String header(String name) {
            for (String[] h : headers) {
                if (h[0].equalsIgnoreCase(name)) {
                    return h[1];
                }
            }
            return null;
        }
    }

    /** Read a response head (and, unless it is 101, the body up to Content-Length or EOF). */
    static Response readResponse(InputStream in) throws IOException {
        Response r = new Response();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        List<String> lines = new ArrayList<>();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("EOF in response head");
            }
            if (c == '\n') {
                String l = line.toString(StandardCharsets.ISO_8859_1);
                if (l.endsWith("\r")) {
                    l = l.substring(0, l.length() - 1);
                }
                line.reset();
                if (l.isEmpty()) {
                    break;
                }
                lines.add(l);
            } else {
                line.write(c);
            }
        }
        r.statusLine = lines.get(0);
        String[] parts = r.statusLine.split(" ", 3);
        r.status = parts.length > 1 ? Integer.parseInt(parts[1]) : -1;
        for (int i = 1; i < lines.size(); i++) {
            int colon = lines.get(i).indexOf(':');
            if (colon > 0) {
                r.headers.add(new String[] {lines.get(i).substring(0, colon), lines.get(i).substring(colon + 1).trim()});
            } else {
                r.headers.add(new String[] {lines.get(i), null});
            }
        }
        if (r.status == 101) {
            r.body = new byte[0];
        } else if (r.header("Content-Length") != null) {
            r.body = Wire.readExactly(in, Integer.parseInt(r.header("Content-Length")));
        } else {
            r.body = in.readAllBytes();
        }
        return r;
    }

    /** A raw HTTP request; returns the parsed response. The socket stays open for a 101. */
    static Response request(Socket s, String method, String path, String... headerLines) throws IOException {
        StringBuilder sb = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:"
                + s.getPort() + "\r\n");
        for (String h : headerLines) {
            sb.append(h).append("\r\n");
        }
        sb.append("\r\n");
        Wire.writeFlush(s.getOutputStream(), sb.toString().getBytes(StandardCharsets.UTF_8));
        return readResponse(s.getInputStream());
    }

    /* ---------------------------------------------------------------- WebSocket client frames */

    private static final SecureRandom RANDOM = new SecureRandom();

    static String wsKey() {
        byte[] k = new byte[16];
        RANDOM.nextBytes(k);
        return Base64.getEncoder().encodeToString(k);
    }

    /** One masked client frame. */
    static byte[] clientFrame(boolean fin, int opcode, byte[] payload) {
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        f.write((fin ? 0x80 : 0) | opcode);
        if (payload.length < 126) {
            f.write(0x80 | payload.length);
        } else if (payload.length <= 0xFFFF) {
            f.write(0x80 | 126);
            f.write(payload.length >> 8);
            f.write(payload.length);
        } else {
            f.write(0x80 | 127);
            for (int i = 7; i >= 0; i--) {
                f.write((int) ((long) payload.length >>> (8 * i)));
            }
        }
        byte[] mask = new byte[4];
        RANDOM.nextBytes(mask);
        f.write(mask, 0, 4);
        for (int i = 0; i < payload.length; i++) {
            f.write(payload[i] ^ mask[i & 3]);
        }
        return f.toByteArray();
    }

    /** A server frame: opcode, fin, payload. Server frames must not be masked. */
    static final class Frame {
        int opcode;
        boolean fin;
        boolean masked;
        byte[] payload;
    }

    static Frame readFrame(InputStream in) throws IOException {
        Frame f = new Frame();
        byte[] h = Wire.readExactly(in, 2);
        f.fin = (h[0] & 0x80) != 0;
        f.opcode = h[0] & 0x0F;
        f.masked = (h[1] & 0x80) != 0;
        long len = h[1] & 0x7F;
        if (len == 126) {
            byte[] l = Wire.readExactly(in, 2);
            len = ((l[0] & 0xFF) << 8) | (l[1] & 0xFF);
        } else if (len == 127) {
            byte[] l = Wire.readExactly(in, 8);
            len = 0;
            for (byte b : l) {
                len = (len << 8) | (b & 0xFF);
            }
        }
        byte[] mask = f.masked ? Wire.readExactly(in, 4) : null;
        f.payload = Wire.readExactly(in, (int) len);
        if (mask != null) {
            for (int i = 0; i < f.payload.length; i++) {
                f.payload[i] ^= mask[i & 3];
            }
        }
        return f;
    }
}
