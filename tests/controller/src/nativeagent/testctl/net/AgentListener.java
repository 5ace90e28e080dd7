package nativeagent.testctl.net;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLSocket;

/**
 * One connection to the TCP agent port (Jenkins' TcpSlaveAgentListener.ConnectionHandler), and
 * the server side of JNLP4-connect (JnlpProtocol4Handler + JnlpSlaveAgentProtocol4), step by step
 * as in transport.md 4.2-4.8:
 * <pre>
 *  agent                                   controller (this class)
 *  frame16("Protocol:JNLP4-connect")  -->   read 10 bytes, then readUTF
 *  frame16("ACK")                     -->   &lt;-- frame16("ACK")   (sent as soon as the name is read)
 *  TLS ClientHello ...               &lt;-->   TLS server, certificate = instance identity
 *  frame16(headers JSON)              -->   &lt;-- frame16({"JnlpAgentProtocol.cookie":"..."})
 *  frame16("OK")                      -->   &lt;-- frame16("OK") or frame16("ERROR: ...")
 *  frame16(capability)                -->   &lt;-- frame16(capability)
 *  chunks ...                        &lt;-->   chunks ...                 (Jnlp4Link)
 * </pre>
 */
final class AgentListener {
    /** ProtocolStack's fixed handshake timeout. */
    static final int HANDSHAKE_TIMEOUT_MS = 10_000;

    private final Controller ctl;
    private final Socket socket;
    private final String peer;

    AgentListener(Controller ctl, Socket socket, String peer) {
        this.ctl = ctl;
        this.socket = socket;
        this.peer = peer;
    }

    void run() {
        try {
            handle();
        } catch (IOException e) {
            log("connection failed: " + e);
        } catch (RuntimeException e) {
            log("connection failed (bug?): " + e);
        } finally {
            closeQuietly();
        }
    }

    private void log(String msg) {
        Log.info("TCP " + peer + ": " + msg);
    }

    private void handle() throws IOException {
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(60_000);
        InputStream raw = socket.getInputStream();
        OutputStream out = socket.getOutputStream();

        /* 1. Jenkins reads exactly 10 bytes first, to spot an HTTP request. */
        byte[] head = raw.readNBytes(10);
        if (head.length == 0) {
            log("empty connection closed at once: the agent's reachability probe; ignored");
            return;
        }
        if (head.length < 10) {
            log("closed after " + head.length + " byte(s) " + Wire.hex(head) + "; ignored");
            return;
        }
        String start = new String(head, StandardCharsets.ISO_8859_1);
        if (start.startsWith("GET ")) {
            diagnosticPage(start, out);
            return;
        }

        /* 2. Re-read from byte 0 as DataInputStream.readUTF: u16 length + text. */
        InputStream in = new SequenceInputStream(new ByteArrayInputStream(head), raw);
        String line = Wire.readFrame16(in);
        if (!line.startsWith("Protocol:")) {
            log("unrecognized protocol line \"" + line + "\"");
            refuseProtocol(out, "Unrecognized protocol: " + line + "\n");
            return;
        }
        String name = line.substring("Protocol:".length());
        if (!name.equals("JNLP4-connect") && !name.equals("Ping")) {
            /* Not an AgentProtocol of Jenkins core (JNLP4-connect-proxy is CloudBees-only). */
            log("protocol \"" + name + "\" is unknown here -> \"Unknown protocol:\"");
            refuseProtocol(out, "Unknown protocol:\n");
            return;
        }
        if (name.equals("JNLP4-connect") && !ctl.protocols.contains(name)) {
            /* Known but not enabled (Ping is required, so always enabled). */
            log("protocol \"" + name + "\" is disabled (--protocols) -> \"Disabled protocol:" + line + "\"");
            refuseProtocol(out, "Disabled protocol:" + line + "\n");
            return;
        }
        if (name.equals("Ping")) {
            log("Protocol:Ping -> \"Ping\\n\"");
            Wire.writeFlush(out, "Ping\n".getBytes(StandardCharsets.US_ASCII));
            return;
        }
        jnlp4(in, out);
    }

    /** TcpSlaveAgentListener.error: text + platform line separator ("\n"), shut down output, close. */
    private void refuseProtocol(OutputStream out, String text) throws IOException {
        Wire.writeFlush(out, text.getBytes(StandardCharsets.UTF_8));
        socket.shutdownOutput();
    }

    /** What Jenkins answers to an HTTP GET on the agent port (a plain-text diagnostic). */
    private void diagnosticPage(String start, OutputStream out) throws IOException {
        String resp;
        if (start.startsWith("GET / ")) {
            log("HTTP GET / on the agent port -> diagnostic page");
            resp = "HTTP/1.0 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n"
                    + "Jenkins-Agent-Protocols: " + String.join(", ", new java.util.TreeSet<>(ctl.protocols)) + "\r\n"
                    + "Jenkins-Version: 2.579\r\n"
                    + "Jenkins-Session: testctl\r\n"
                    + "Client: " + socket.getInetAddress().getHostAddress() + "\r\n"
                    + "Server: " + socket.getLocalAddress().getHostAddress() + "\r\n"
                    + "Remoting-Minimum-Version: "
                    + (ctl.cfg.minVersion != null ? ctl.cfg.minVersion : Config.JENKINS_MIN_VERSION) + "\r\n";
        } else {
            log("HTTP GET (not /) on the agent port -> 404");
            resp = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\nNot Found\r\n";
        }
        Wire.writeFlush(out, resp.getBytes(StandardCharsets.UTF_8));
        socket.shutdownOutput();
        socket.getInputStream().transferTo(OutputStream.nullOutputStream());
    }

    private void jnlp4(InputStream in, OutputStream out) throws IOException {
        int n = ctl.nextConnection();
        String tag = "JNLP4 #" + n + " " + peer;
        socket.setSoTimeout(HANDSHAKE_TIMEOUT_MS);

        /* 3. ACK both ways. Ours goes out at once; the agent's must be exactly 00 03 'A' 'C' 'K'. */
        if (ctl.faultFor("garbage-ack", n) != null) {
            Log.info(tag + ": fault garbage-ack: sending 5 bytes that are not ACK");
            Wire.writeFlush(out, new byte[] {'G', 'A', 'R', 'B', '!'});
        } else {
            Log.info(tag + ": Protocol:JNLP4-connect; sending ACK");
            Wire.writeFlush(out, Wire.ACK);
        }
        byte[] ack = new byte[5];
        for (int i = 0; i < 5; i++) {
            int b;
            try {
                b = in.read();
            } catch (SocketTimeoutException e) {
                Log.info(tag + ": Timeout waiting for ACK");
                return;
            }
            if (b < 0) {
                Log.info(tag + ": connection closed while waiting for ACK");
                return;
            }
            ack[i] = (byte) b;
            if (ack[i] != Wire.ACK[i]) {
                Log.info(tag + ": Incorrect acknowledgement sequence, expected 0x000341434b got 0x"
                        + Wire.hex(java.util.Arrays.copyOf(ack, i + 1)));
                return;
            }
        }

        if (ctl.faultFor("close-after-ack", n) != null) {
            Log.info(tag + ": fault close-after-ack: closing instead of starting TLS");
            return;
        }

        /* 4. TLS, we are the server; the agent pins our certificate's public key. */
        SSLSocket tls = (SSLSocket) ctl.identity.serverContext.getSocketFactory()
                .createSocket(socket, null, true);
        tls.setUseClientMode(false);
        tls.setWantClientAuth(true);
        try {
            tls.startHandshake();
            afterTls(tag, n, tls);
        } finally {
            tls.close(); /* close_notify, then TCP close */
        }
    }

    private void afterTls(String tag, int n, SSLSocket tls) throws IOException {
        Log.info(tag + ": ACK exchanged; TLS up (" + tls.getSession().getProtocol() + ", "
                + tls.getSession().getCipherSuite() + ")");
        InputStream tin = new BufferedInputStream(tls.getInputStream());
        OutputStream tout = new BufferedOutputStream(tls.getOutputStream());

        /* 5. Our headers go out unconditionally: a fresh 32-byte cookie. */
        String cookie = Wire.newCookie();
        Map<String, String> ours = new LinkedHashMap<>();
        ours.put("JnlpAgentProtocol.cookie", cookie);
        if (ctl.faultFor("garbage-headers", n) != null) {
            Log.info(tag + ": fault garbage-headers: sending a header frame that is not JSON");
            Wire.writeFlush(tout, Wire.frame16("this is not a JSON object"));
        } else {
            Wire.writeFlush(tout, Wire.frame16(Wire.headersToJson(ours)));
        }
        if (ctl.faultFor("stall-after-headers", n) != null) {
            Log.info(tag + ": fault stall-after-headers: sending nothing more");
            socket.setSoTimeout(0);
            while (tin.read() >= 0) {
                /* discard until the agent gives up */
            }
            Log.info(tag + ": agent closed the stalled connection");
            return;
        }

        /* 6. The agent's headers, then our verdict. */
        Map<String, String> theirs;
        String verdict;
        String text;
        try {
            text = Wire.readFrame16(tin);
        } catch (EOFException e) {
            Log.info(tag + ": agent closed before sending its headers");
            return;
        }
        try {
            theirs = Wire.parseHeaders(text);
            Log.info(tag + ": agent headers " + redact(theirs));
            verdict = verdict(theirs, tag, n);
        } catch (IOException e) {
            Log.info(tag + ": malformed headers (" + e.getMessage() + "): " + text);
            theirs = null;
            verdict = "ERROR: Malformed connection header";
        }
        if (verdict == null) {
            /* Jenkins dereferences the secret without a null check. */
            Log.info(tag + ": no Secret-Key header: Jenkins throws a NullPointerException here; aborting");
            return;
        }
        Controller.Session session = null;
        if (verdict.equals("OK")) {
            /*
             * Jenkins keeps, as the channel's cookie, the cookie the agent PRESENTED on this
             * connection (the receiver sees the agent's headers), not the one we just sent. A later
             * connection takes over only if it presents that same value again.
             */
            String presented = theirs.get("JnlpAgentProtocol.cookie");
            session = new Controller.Session(presented, n);
            String refusal = ctl.claim(theirs.get("Node-Name"), presented, session);
            if (refusal != null) {
                verdict = "ERROR: " + refusal;
                session = null;
            }
        }
        Wire.writeFlush(tout, Wire.frame16(verdict));
        if (!verdict.equals("OK")) {
            Log.info(tag + ": refused: " + verdict);
            awaitAbortConfirmation(tin, tag);
            return;
        }
        Log.info(tag + ": accepted \"" + theirs.get("Node-Name") + "\" -> OK");
        try {
            afterVerdict(tag, n, tls, tin, tout, session, theirs.get("Node-Name"));
        } finally {
            ctl.release(session);
        }
    }

    private void afterVerdict(String tag, int n, SSLSocket tls, InputStream tin, OutputStream tout,
            Controller.Session session, String agentName) throws IOException {
        /* 7. The agent's verdict on our headers. */
        String theirVerdict;
        try {
            theirVerdict = Wire.readFrame16(tin);
        } catch (EOFException e) {
            Log.info(tag + ": agent closed before answering our headers");
            return;
        }
        if (theirVerdict.startsWith("ERROR:") || theirVerdict.startsWith("FATAL:")) {
            Log.info(tag + ": agent refused our headers: " + theirVerdict + "; sending BYE");
            Wire.writeFlush(tout, Wire.BYE);
            /* Then abort: send nothing more, close once the agent closes or after 10 s. */
            try {
                tin.transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                /* timeout or reset: close anyway */
            }
            return;
        }
        if (!theirVerdict.equals("OK")) {
            Log.info(tag + ": agent answered neither OK nor ERROR/FATAL: \"" + theirVerdict + "\"");
            return;
        }

        /* 8. Capabilities both ways, then the chunked command stream. */
        if (ctl.faultFor("garbage-capability", n) != null) {
            Log.info(tag + ": fault garbage-capability: sending a capability that is not one");
            Wire.writeFlush(tout, Wire.frame16("Z2FyYmFnZSBjYXBhYmlsaXR5"));
        } else {
            Wire.writeFlush(tout, Wire.frame16(Wire.capabilityToBase64(ctl.cfg.capability)));
        }
        String capText;
        try {
            capText = Wire.readFrame16(tin);
        } catch (EOFException e) {
            Log.info(tag + ": agent closed before sending its capability");
            return;
        }
        long peerCap;
        try {
            peerCap = Wire.capabilityFromBase64(capText);
        } catch (IOException e) {
            Log.info(tag + ": bad agent capability \"" + capText + "\": " + e.getMessage());
            return;
        }
        socket.setSoTimeout(0);
        Jnlp4Link link = new Jnlp4Link(socket, tls, tin, tout, peerCap, ctl.cfg.capability, agentName);
        ctl.runSession(session, link);
    }

    /** Refusal sent: wait for any 5 bytes (the agent's OK/BYE) or 10 s, then close. */
    private void awaitAbortConfirmation(InputStream tin, String tag) {
        try {
            byte[] b = tin.readNBytes(5);
            Log.info(tag + ": abort confirmation " + Wire.hex(b) + "; closing");
        } catch (IOException e) {
            Log.info(tag + ": no abort confirmation (" + e.getMessage() + "); closing");
        }
    }

    /**
     * Validate the agent's headers in Jenkins' order. Returns "OK", an "ERROR: ..." text, or null for
     * the case where Jenkins itself would crash (no Secret-Key).
     */
    private String verdict(Map<String, String> h, String tag, int n) {
        String name = h.get("Node-Name");
        if (name == null || !ctl.knownNode(name)) {
            return "ERROR: Unknown client name: " + name;
        }
        String secret = h.get("Secret-Key");
        if (secret == null) {
            return null;
        }
        if (!ctl.secretMatches(secret)) {
            return "ERROR: Authorization failure";
        }
        String refuse = ctl.faultFor("refuse", n);
        if (refuse != null) {
            Log.info(tag + ": fault refuse");
            return "ERROR: " + refuse;
        }
        String fatal = ctl.faultFor("fatal", n);
        if (fatal != null) {
            Log.info(tag + ": fault fatal");
            return "FATAL: " + fatal;
        }
        return "OK";
    }

    static Map<String, String> redact(Map<String, String> h) {
        Map<String, String> m = new LinkedHashMap<>(h);
        if (m.get("Secret-Key") != null) {
            m.put("Secret-Key", "<" + m.get("Secret-Key").length() + " chars>");
        }
        return m;
    }

    private void closeQuietly() {
        /* A link that reached runSession was closed there; this is for refused connections. */
        try {
            socket.close();
        } catch (IOException e) {
            /* ignore */
        }
    }
}
