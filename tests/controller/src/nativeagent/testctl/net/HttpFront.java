package nativeagent.testctl.net;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * One HTTP/1.1 connection on the HTTP or HTTPS port (one request, then close; or a WebSocket
 * upgrade). Routes, as Jenkins serves them to agents:
 * <ul>
 * <li>{@code GET /tcpSlaveAgentListener/}: the headers of core's TcpSlaveAgentListener/index.jelly,
 *     body {@code Jenkins}; 404 when the TCP port is disabled;</li>
 * <li>{@code GET /login}: 200 (the WebSocket pre-flight);</li>
 * <li>{@code GET /wsagents/}: WebSocketAgents.doIndex, the WebSocket transport;</li>
 * <li>with {@code --redirects} only, what a reverse proxy in front of a moved Jenkins answers:
 *     {@code /moved/X} 302 to {@code /X}, {@code /abs/X} 301 to {@code http://HOST/X},
 *     {@code /loop/X} 302 to itself, {@code /to-https/X} 301 to {@code https://HOST/X},
 *     {@code /perm/X} 308 to {@code /X};</li>
 * <li>anything else: 404.</li>
 * </ul>
 */
final class HttpFront {
    private static final int MAX_HEAD = 64 * 1024;

    private final Controller ctl;
    private final Socket socket;
    private final String peer;
    private final String kind;
    private String method;
    private String target;
    private final List<String[]> headers = new ArrayList<>();

    HttpFront(Controller ctl, Socket socket, String peer, String kind) {
        this.ctl = ctl;
        this.socket = socket;
        this.peer = peer;
        this.kind = kind;
    }

    void run() {
        boolean keep = false;
        try {
            keep = handle();
        } catch (IOException e) {
            Log.info(kind + " " + peer + ": " + e);
        } catch (RuntimeException e) {
            Log.info(kind + " " + peer + ": failed (bug?): " + e);
        } finally {
            if (!keep) {
                try {
                    socket.close();
                } catch (IOException e) {
                    /* ignore */
                }
            }
        }
    }

    /** First value of a header, case-insensitive name; null if absent. */
    String header(String name) {
        for (String[] h : headers) {
            if (h[0].equalsIgnoreCase(name)) {
                return h[1];
            }
        }
        return null;
    }

    private boolean handle() throws IOException {
        socket.setSoTimeout(30_000);
        InputStream in = new BufferedInputStream(socket.getInputStream());
        OutputStream out = socket.getOutputStream();
        String head = readHead(in);
        if (head == null) {
            return false;
        }
        ctl.recordRequest(head);
        String[] lines = head.split("\r\n");
        String[] req = lines[0].split(" ");
        if (req.length != 3 || !req[2].startsWith("HTTP/1.")) {
            Log.info(kind + " " + peer + ": bad request line \"" + lines[0] + "\" -> 400");
            respond(out, 400, "Bad Request", null, "text/plain;charset=UTF-8", "Bad Request");
            return false;
        }
        method = req[0];
        target = req[1];
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0) {
                headers.add(new String[] {lines[i].substring(0, c).trim(), lines[i].substring(c + 1).trim()});
            }
        }
        String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
        int n = ctl.nextHttpRequest();
        if (ctl.faultFor("garbage-http", n) != null) {
            Log.info(kind + " " + peer + ": " + method + " " + target + " -> fault garbage-http");
            Wire.writeFlush(out, "NOT-HTTP \u0001\u0002 garbage\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            return false;
        }
        String status = ctl.faultFor("http-status", n);
        if (status != null && (path.equals("/tcpSlaveAgentListener/") || path.equals("/login"))) {
            int code = Integer.parseInt(status);
            Log.info(kind + " " + peer + ": " + method + " " + target + " -> fault http-status: " + code);
            respond(out, code, "Fault", null, "text/plain;charset=UTF-8", "testctl fault http-status:" + code + "\n");
            return false;
        }
        if (ctl.cfg.redirects && redirect(out, path)) {
            return false;
        }
        if (path.equals("/tcpSlaveAgentListener/") && (method.equals("GET") || method.equals("HEAD"))) {
            tcpSlaveAgentListener(out);
            return false;
        }
        if (path.equals("/login") && method.equals("GET")) {
            Log.info(kind + " " + peer + ": GET " + target + " -> 200 (login page)");
            respond(out, 200, "OK", null, "text/html;charset=utf-8",
                    "<html><head><title>Sign in [Jenkins]</title></head><body>testctl</body></html>\n");
            return false;
        }
        if (path.equals("/wsagents/") || path.equals("/wsagents")) {
            return new WebSocketAgents(ctl, this, socket, in, out, peer, kind).upgrade();
        }
        Log.info(kind + " " + peer + ": " + method + " " + target + " -> 404");
        respond(out, 404, "Not Found", null, "text/plain;charset=UTF-8", "Not Found\n");
        return false;
    }

    /** The --redirects paths; false when path is not one of them. */
    private boolean redirect(OutputStream out, String path) throws IOException {
        String host = header("Host") != null ? header("Host") : "127.0.0.1";
        String[][] routes = {
            {"/moved/", "302", "Found", "/"},
            {"/abs/", "301", "Moved Permanently", "http://" + host + "/"},
            {"/loop/", "302", "Found", "/loop/"},
            {"/to-https/", "301", "Moved Permanently", "https://" + host + "/"},
            {"/perm/", "308", "Permanent Redirect", "/"},
        };
        for (String[] r : routes) {
            if (path.startsWith(r[0])) {
                String rest = target.substring(r[0].length());
                String loc = r[3] + rest;
                Log.info(kind + " " + peer + ": " + method + " " + target + " -> " + r[1] + " " + loc);
                respond(out, Integer.parseInt(r[1]), r[2], "Location: " + loc + "\r\n",
                        "text/html;charset=utf-8", "<html><body>moved</body></html>\n");
                return true;
            }
        }
        return false;
    }

    /** Read up to and including the empty line; null if the peer closed before sending a request. */
    private String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c;
            try {
                c = in.read();
            } catch (javax.net.ssl.SSLException e) {
                Log.info(kind + " " + peer + ": TLS failed: " + e.getMessage());
                return null;
            }
            if (c < 0) {
                if (b.size() > 0) {
                    Log.info(kind + " " + peer + ": closed inside the request head");
                }
                return null;
            }
            b.write(c);
            if (b.size() > MAX_HEAD) {
                throw new IOException("request head larger than " + MAX_HEAD + " bytes");
            }
            state = (c == (state % 2 == 0 ? '\r' : '\n')) ? state + 1 : (c == '\r' ? 1 : 0);
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    /** core/src/main/resources/hudson/TcpSlaveAgentListener/index.jelly, header by header. */
    private void tcpSlaveAgentListener(OutputStream out) throws IOException {
        String who = header("Node-Name") != null ? " (Node-Name: " + header("Node-Name") + ")" : "";
        if (ctl.agentPort() < 0) {
            Log.info(kind + " " + peer + ": GET " + target + who + " -> 404 (TCP agent port disabled)");
            respond(out, 404, "Not Found", null, "text/plain;charset=UTF-8", "Not Found\n");
            return;
        }
        String port = Integer.toString(ctl.agentPort());
        StringBuilder h = new StringBuilder();
        h.append("X-Content-Type-Options: nosniff\r\n");
        h.append("X-Jenkins: 2.579\r\n");
        h.append("X-Jenkins-Session: testctl\r\n");
        h.append("X-Hudson-JNLP-Port: ").append(port).append("\r\n");
        h.append("X-Jenkins-JNLP-Port: ").append(port).append("\r\n");
        h.append("X-Instance-Identity: ").append(ctl.identity.spkiBase64()).append("\r\n");
        h.append("X-Jenkins-Agent-Protocols: ").append(ctl.cfg.protocols).append("\r\n");
        if (ctl.cfg.minVersion != null) {
            h.append("X-Remoting-Minimum-Version: ").append(ctl.cfg.minVersion).append("\r\n");
        }
        Log.info(kind + " " + peer + ": GET " + target + who + " -> 200, agent port " + port
                + ", protocols \"" + ctl.cfg.protocols + "\"");
        respond(out, 200, "OK", h.toString(), "text/plain;charset=UTF-8",
                method.equals("HEAD") ? null : "Jenkins");
    }

    /** A complete response with Content-Length and Connection: close. */
    static void respond(OutputStream out, int code, String reason, String extraHeaders, String type,
            String body) throws IOException {
        byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        StringBuilder r = new StringBuilder();
        r.append("HTTP/1.1 ").append(code).append(' ').append(reason).append("\r\n");
        if (type != null) {
            r.append("Content-Type: ").append(type).append("\r\n");
        }
        if (extraHeaders != null) {
            r.append(extraHeaders);
        }
        r.append("Content-Length: ").append(body == null ? 0 : b.length).append("\r\n");
        r.append("Connection: close\r\n\r\n");
        out.write(r.toString().getBytes(StandardCharsets.UTF_8));
        out.write(b);
        out.flush();
    }

    static String wsAccept(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            byte[] d = sha1.digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                    .getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    String method() {
        return method;
    }

    String target() {
        return target;
    }

    static boolean hasToken(String value, String token) {
        if (value == null) {
            return false;
        }
        for (String t : value.split(",")) {
            if (t.trim().toLowerCase(Locale.ROOT).equals(token)) {
                return true;
            }
        }
        return false;
    }
}
