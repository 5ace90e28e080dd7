package nativeagent.testctl.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * {@code GET /wsagents/}: Jenkins' WebSocketAgents.doIndex followed by the RFC 6455 upgrade
 * (transport.md 5.1 step 4). The checks, in Jenkins' order:
 * <ol>
 * <li>Node-Name, Secret-Key or X-Remoting-Capability missing: 400
 *     "This endpoint is only for use from agent.jar in WebSocket mode";</li>
 * <li>unknown node: 400 "no such agent";</li>
 * <li>wrong secret: 403;</li>
 * <li>refused by the receiver (already connected without the right Connection-Cookie): 400 text;</li>
 * <li>no "Upgrade: websocket": 400 "only WS connections accepted here";</li>
 * <li>otherwise 101 with X-Remoting-Capability, X-Remoting-Minimum-Version, Connection-Cookie.</li>
 * </ol>
 */
final class WebSocketAgents {
    private final Controller ctl;
    private final HttpFront req;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String who;

    WebSocketAgents(Controller ctl, HttpFront req, Socket socket, InputStream in, OutputStream out,
            String peer, String kind) {
        this.ctl = ctl;
        this.req = req;
        this.socket = socket;
        this.in = in;
        this.out = out;
        this.who = (kind.equals("HTTPS") ? "WSS " : "WS ") + peer;
    }

    private void fail(int code, String reason, String body) throws IOException {
        Log.info(who + ": " + req.method() + " " + req.target() + " -> " + code
                + (body != null ? " \"" + body + "\"" : ""));
        HttpFront.respond(out, code, reason, null, body != null ? "text/plain;charset=UTF-8" : null, body);
    }

    /** Returns true when the socket now belongs to a WebSocket session (it was closed there). */
    boolean upgrade() throws IOException {
        String name = req.header("Node-Name");
        String secret = req.header("Secret-Key");
        String capText = req.header("X-Remoting-Capability");
        if (name == null || secret == null || capText == null) {
            fail(400, "Bad Request", "This endpoint is only for use from agent.jar in WebSocket mode");
            return false;
        }
        if (!ctl.knownNode(name)) {
            fail(400, "Bad Request", "no such agent");
            return false;
        }
        if (!MessageDigest.isEqual(secret.getBytes(StandardCharsets.US_ASCII),
                ctl.cfg.secret.getBytes(StandardCharsets.US_ASCII))) {
            fail(403, "Forbidden", null);
            return false;
        }
        int n = ctl.nextConnection();
        String tag = "WebSocket #" + n + " " + who;
        Log.info(tag + ": upgrade request from \"" + name + "\", secret ok");
        String refuse = ctl.faultFor("refuse", n);
        if (refuse != null) {
            fail(400, "Bad Request", refuse);
            return false;
        }

        /* The cookie: the agent's, normalised (hex decode + lowercase re-encode), or a new one. */
        String presented = req.header("Connection-Cookie");
        String cookie;
        if (presented != null) {
            byte[] raw = Wire.unhex(presented);
            if (raw == null) {
                fail(500, "Server Error", "invalid Connection-Cookie (UNCONFIRMED status)");
                return false;
            }
            cookie = Wire.hex(raw);
        } else {
            cookie = Wire.newCookie();
        }
        Controller.Session session = new Controller.Session(cookie, n);
        String refusal = ctl.claim(name, presented != null ? cookie : null, session);
        if (refusal != null) {
            fail(400, "Bad Request", refusal);
            return false;
        }
        boolean handedOver = false;
        try {
            long peerCap;
            try {
                peerCap = Wire.capabilityFromBase64(capText);
            } catch (IOException e) {
                fail(500, "Server Error", "bad X-Remoting-Capability (UNCONFIRMED status)");
                return false;
            }
            if (!HttpFront.hasToken(req.header("Upgrade"), "websocket")) {
                fail(400, "Bad Request", "only WS connections accepted here");
                return false;
            }
            String key = req.header("Sec-WebSocket-Key");
            if (key == null || !"13".equals(req.header("Sec-WebSocket-Version"))
                    || !req.method().equals("GET")) {
                fail(400, "Bad Request", "bad WebSocket upgrade (Sec-WebSocket-Key/Version 13 required)");
                return false;
            }
            if (ctl.faultFor("stall-after-headers", n) != null) {
                Log.info(tag + ": fault stall-after-headers: never answering the upgrade");
                socket.setSoTimeout(0);
                while (in.read() >= 0) {
                    /* discard until the agent gives up */
                }
                return false;
            }
            StringBuilder r = new StringBuilder("HTTP/1.1 101 Switching Protocols\r\n");
            r.append("Upgrade: websocket\r\n");
            r.append("Connection: Upgrade\r\n");
            r.append("Sec-WebSocket-Accept: ").append(HttpFront.wsAccept(key)).append("\r\n");
            if (ctl.faultFor("garbage-headers", n) != null) {
                Log.info(tag + ": fault garbage-headers: a broken header line in the 101 response");
                r.append("this line is not a header\r\n");
            }
            String ourCap = Wire.capabilityToBase64(ctl.cfg.capability);
            if (ctl.faultFor("garbage-capability", n) != null) {
                Log.info(tag + ": fault garbage-capability");
                ourCap = "Z2FyYmFnZSBjYXBhYmlsaXR5";
            }
            r.append("X-Remoting-Capability: ").append(ourCap).append("\r\n");
            if (ctl.cfg.minVersion != null) {
                r.append("X-Remoting-Minimum-Version: ").append(ctl.cfg.minVersion).append("\r\n");
            }
            r.append("Connection-Cookie: ").append(cookie).append("\r\n\r\n");
            Wire.writeFlush(out, r.toString().getBytes(StandardCharsets.UTF_8));
            Log.info(tag + ": 101 Switching Protocols; agent capability 0x" + Long.toHexString(peerCap));
            WebSocketLink link = new WebSocketLink(socket, in, out, peerCap, ctl.cfg.capability, name,
                    ctl.cfg.wsPingMs, ctl.cfg.wsIdleMs, tag);
            if (ctl.faultFor("ws-fragmented", n) != null) {
                Log.info(tag + ": fault ws-fragmented: each chunk as two fragments (header, payload), as older Jenkins");
                link.fragmented = true;
            }
            handedOver = true;
            ctl.runSession(session, link);
            return true;
        } finally {
            if (!handedOver) {
                ctl.release(session);
            }
        }
    }
}
