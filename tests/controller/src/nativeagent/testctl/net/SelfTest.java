package nativeagent.testctl.net;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Tests of the network half of the test controller, run by ctest without our C agent:
 * <ul>
 * <li>{@code golden}: what our stack writes, compared with the bytes of real remoting/Jenkins in
 *     ../shared/golden (protocol frame, ACK, headers, OK, capability, chunk framing, HTTP headers);</li>
 * <li>{@code jnlp4}: an in-process Java client against a live controller: handshake, refusal
 *     texts, cookie takeover, chunk framing both ways, the other TCP-port protocols;</li>
 * <li>{@code websocket}: upgrade checks and status codes, masking, fragmentation, ping/pong, close,
 *     also over HTTPS (wss);</li>
 * <li>{@code faults}: every --fault seen from the agent's side.</li>
 * </ul>
 * Usage: {@code java -Dgolden=DIR [-Dkeys=DIR] -cp CLASSES nativeagent.testctl.net.SelfTest [GROUP...]}
 */
public final class SelfTest {
    private static int failures;
    private static int checks;
    private static Path golden;
    private static Controller ctl;
    private static Config cfg;

    private SelfTest() {
    }

    private static final long START = System.nanoTime();

    static void check(boolean ok, String what) {
        checks++;
        String t = String.format("[%6.2f] ", (System.nanoTime() - START) / 1e9);
        if (ok) {
            System.err.println("ok   " + t + what);
        } else {
            failures++;
            System.err.println("FAIL " + t + what);
        }
    }

    static void checkEq(Object want, Object got, String what) {
        boolean ok = want == null ? got == null : want.equals(got);
        check(ok, what + (ok ? "" : ": want <" + want + "> got <" + got + ">"));
    }

    static void checkBytes(byte[] want, byte[] got, String what) {
        boolean ok = Arrays.equals(want, got);
        String detail = "";
        if (!ok) {
            int i = 0;
            while (i < Math.min(want.length, got.length) && want[i] == got[i]) {
                i++;
            }
            detail = ": differ at byte " + i + " (lengths " + want.length + "/" + got.length + ")";
        }
        check(ok, what + detail);
    }

    static byte[] gold(String name) throws IOException {
        return Files.readAllBytes(golden.resolve(name));
    }

    public static void main(String[] args) throws Exception {
        golden = Path.of(System.getProperty("golden", "../shared/golden"));
        List<String> groups = args.length > 0 ? Arrays.asList(args)
                : List.of("golden", "jnlp4", "websocket", "faults", "cli");
        if (groups.contains("golden")) {
            try {
                goldenOffline();
            } catch (IOException e) {
                e.printStackTrace();
                check(false, "golden: threw " + e);
            }
        }
        if (groups.contains("cli")) {
            try {
                cli();
            } catch (Exception e) {
                e.printStackTrace();
                check(false, "cli: threw " + e);
            }
        }
        if (groups.contains("jnlp4") || groups.contains("websocket") || groups.contains("faults")) {
            cfg = new Config();
            cfg.https = true;
            cfg.scenario = "echo";
            cfg.wsPingMs = 400;
            cfg.keysDir = System.getProperty("keys");
            ctl = new Controller(cfg, null);
            ctl.start();
            try {
                for (String g : groups) {
                    try {
                        switch (g) {
                            case "golden": goldenLive(); break;
                            case "jnlp4": jnlp4(); break;
                            case "websocket": websocket(); break;
                            case "faults": faults(); break;
                            case "cli": break;
                            default: check(false, "unknown group " + g);
                        }
                    } catch (Exception e) {
                        e.printStackTrace();
                        check(false, g + ": threw " + e);
                    }
                }
            } finally {
                ctl.stop();
            }
        }
        System.err.println((failures == 0 ? "PASS" : "FAIL") + ": " + (checks - failures) + "/" + checks + " checks");
        System.exit(failures == 0 ? 0 : 1);
    }

    /* ---------------------------------------------------------------- golden, offline */

    /** Split an application stream (capability frame, then chunks) into its commands. */
    static List<byte[]> commandsOf(byte[] app, int skip) throws IOException {
        List<byte[]> out = new ArrayList<>();
        InputStream in = new ByteArrayInputStream(app, skip, app.length - skip);
        byte[] c;
        while ((c = Wire.readCommand(in)) != null) {
            out.add(c);
        }
        return out;
    }

    static void goldenOffline() throws IOException {
        checkBytes(gold("00-protocol-a2c.bin"), Wire.frame16("Protocol:JNLP4-connect"),
                "golden 00: our protocol frame");
        checkBytes(Arrays.copyOf(gold("01-raw-c2a-head.bin"), 5), Wire.ACK, "golden 01 c2a: ACK prefix");
        checkBytes(Arrays.copyOf(gold("01-raw-a2c-head.bin"), 5), Wire.ACK, "golden 01 a2c: ACK prefix");
        checkBytes(gold("03-capability-c2a.bin"), Wire.frame16(Wire.capabilityToBase64(0x1FE)),
                "golden 03 c2a: our capability frame for mask 0x1fe");
        byte[] capA2c = gold("03-capability-a2c.bin");
        checkEq(0x1FEL, Wire.capabilityFromBase64(new String(capA2c, 2, capA2c.length - 2, StandardCharsets.US_ASCII)),
                "golden 03 a2c: capability decodes to 0x1fe");

        /* 02: headers frame, OK frame, capability frame, in that order, both directions. */
        byte[] c2a = gold("02-plain-c2a-head.bin");
        InputStream in = new ByteArrayInputStream(c2a);
        String hdr = Wire.readFrame16(in);
        Map<String, String> h = Wire.parseHeaders(hdr);
        checkEq(List.of("JnlpAgentProtocol.cookie"), new ArrayList<>(h.keySet()), "golden 02 c2a: controller header keys");
        checkEq(hdr, Wire.headersToJson(h), "golden 02 c2a: our JSON writer reproduces the controller headers");
        checkEq("OK", Wire.readFrame16(in), "golden 02 c2a: OK frame after the headers");
        byte[] a2c = gold("02-plain-a2c-head.bin");
        in = new ByteArrayInputStream(a2c);
        hdr = Wire.readFrame16(in);
        Map<String, String> ah = Wire.parseHeaders(hdr);
        Map<String, String> ordered = new LinkedHashMap<>();
        ordered.put("Node-Name", ah.get("Node-Name"));
        ordered.put("Secret-Key", ah.get("Secret-Key"));
        checkEq(hdr, Wire.headersToJson(ordered), "golden 02 a2c: our JSON writer reproduces the agent headers");
        checkEq("OK", Wire.readFrame16(in), "golden 02 a2c: OK frame after the headers");
        checkEq(0x1FEL, Wire.capabilityFromBase64(Wire.readFrame16(in)), "golden 02 a2c: capability after OK");

        /* 04: re-frame every command with our framer; the bytes must be identical. */
        for (String dir : new String[] {"c2a", "a2c"}) {
            byte[] app = gold("04-app-" + dir + "-head.bin");
            int capLen = gold("03-capability-" + dir + ".bin").length;
            checkBytes(gold("03-capability-" + dir + ".bin"), Arrays.copyOf(app, capLen),
                    "golden 04 " + dir + ": starts with the capability frame");
            List<byte[]> cmds = commandsOf(app, capLen);
            checkEq(16, cmds.size(), "golden 04 " + dir + ": 16 commands");
            ByteArrayOutputStream reframed = new ByteArrayOutputStream();
            reframed.write(app, 0, capLen);
            int multi = 0;
            for (int i = 0; i < cmds.size(); i++) {
                byte[] want = gold(String.format("05-cmd-%s-%03d.bin", dir, i));
                checkBytes(want, cmds.get(i), "golden 04/05 " + dir + ": command " + i + " reassembled");
                reframed.writeBytes(Wire.frameCommand(cmds.get(i)));
                multi += cmds.get(i).length > Wire.CHUNK_SIZE ? 1 : 0;
            }
            checkBytes(app, reframed.toByteArray(), "golden 04 " + dir + ": our chunk framing is byte-identical ("
                    + multi + " multi-chunk commands)");
        }
        /* The multi-chunk commands of 06 (8398 bytes = 8192 + 206). */
        byte[][] ch = Wire.chunks(gold("06-firstofclass-c2a-00139.bin"));
        check(ch.length == 2 && (ch[0][0] & 0xFF) == 0xA0 && ch[0][1] == 0 && ch[1][0] == 0
                && (ch[1][1] & 0xFF) == 206, "golden 06: 8398-byte command -> chunks a0 00 (8192) + 00 ce (206)");
    }

    /* ---------------------------------------------------------------- golden, live */

    static void goldenLive() throws IOException {
        /* The golden agent's request, verbatim (Host differs but is not used). */
        String req = Files.readString(golden.resolve("09-http-request.txt"), StandardCharsets.ISO_8859_1);
        TestAgent.Response r;
        try (Socket s = TestAgent.open(Integer.parseInt(ctl.httpUrl().replaceAll(".*:(\\d+)/", "$1")), null)) {
            Wire.writeFlush(s.getOutputStream(), req.getBytes(StandardCharsets.ISO_8859_1));
            r = TestAgent.readResponse(s.getInputStream());
        }
        List<String> lines = Files.readAllLines(golden.resolve("09-http-response.txt"), StandardCharsets.ISO_8859_1);
        checkEq(lines.get(0).trim(), r.statusLine, "golden 09: status line");
        List<String> wantNames = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            l = l.trim();
            if (l.isEmpty()) {
                break;
            }
            String name = l.substring(0, l.indexOf(':'));
            String value = l.substring(l.indexOf(':') + 1).trim();
            wantNames.add(name);
            switch (name) {
                case "X-Hudson-JNLP-Port":
                case "X-Jenkins-JNLP-Port":
                    checkEq(Integer.toString(ctl.agentPort()), r.header(name), "golden 09: " + name + " = our port");
                    break;
                case "X-Instance-Identity":
                    checkEq(ctl.identity.spkiBase64(), r.header(name), "golden 09: X-Instance-Identity = our key");
                    checkEq(value.length(), r.header(name).length(), "golden 09: identity length (RSA-2048 SPKI)");
                    break;
                case "X-Jenkins-Session":
                    break;
                default:
                    checkEq(value, r.header(name), "golden 09: " + name);
            }
        }
        List<String> gotNames = new ArrayList<>();
        r.headers.forEach(x -> gotNames.add(x[0]));
        checkEq(wantNames, gotNames, "golden 09: the same headers in the same order");
        checkEq("Jenkins", new String(r.body, StandardCharsets.UTF_8), "golden 09: body");

        /* JNLP4 on the wire: ACK, then inside TLS headers + OK + capability as in golden 02/03. */
        TestAgent.Jnlp4 c = TestAgent.Jnlp4.connect(ctl.agentPort(), ctl.identity.spkiBase64(), cfg.name,
                cfg.secret, null, 0x1FE);
        checkBytes(Arrays.copyOf(gold("01-raw-c2a-head.bin"), 5), c.ack, "live vs golden 01: controller's ACK");
        byte[] got = c.in.seen.toByteArray();
        byte[] c2a = gold("02-plain-c2a-head.bin");
        InputStream gin = new ByteArrayInputStream(c2a);
        String goldenHdr = Wire.readFrame16(gin);
        String goldenCookie = Wire.parseHeaders(goldenHdr).get("JnlpAgentProtocol.cookie");
        String ourCookie = c.controllerHeaders.get("JnlpAgentProtocol.cookie");
        check(ourCookie != null && ourCookie.matches("[0-9a-f]{64}"), "live: cookie is 64 lowercase hex (Jenkins: 32 bytes)");
        byte[] want = Wire.concat(Wire.frame16(goldenHdr.replace(goldenCookie, String.valueOf(ourCookie))),
                Arrays.copyOfRange(c2a, 2 + goldenHdr.length(), 2 + goldenHdr.length() + 4 + 86));
        checkBytes(want, got, "live vs golden 02/03: headers frame (modulo cookie), OK frame, capability frame");
        c.close();
        waitSessions(1);
    }

    static void waitSessions(int n) {
        long end = System.currentTimeMillis() + 5000;
        while (ctl.sessionsEnded() < n && System.currentTimeMillis() < end) {
            Controller.sleep(20);
        }
    }

    /* ---------------------------------------------------------------- JNLP4 */

    static byte[] randomCommand(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        if (size >= 4) {
            b[0] = (byte) 0xac;
            b[1] = (byte) 0xed;
            b[2] = 0;
            b[3] = 5;
        }
        return b;
    }

    /** Read one command's raw chunks and check the sender's framing rules. */
    static byte[] readChunksChecked(InputStream in, String what) throws IOException {
        ByteArrayOutputStream cmd = new ByteArrayOutputStream();
        List<Integer> sizes = new ArrayList<>();
        while (true) {
            byte[] h = Wire.readExactly(in, 2);
            int header = ((h[0] & 0xFF) << 8) | (h[1] & 0xFF);
            int len = header & 0x7FFF;
            sizes.add(len);
            cmd.writeBytes(Wire.readExactly(in, len));
            if ((header & 0x8000) == 0) {
                break;
            }
        }
        boolean ok = true;
        for (int i = 0; i < sizes.size(); i++) {
            boolean last = i == sizes.size() - 1;
            ok &= last ? sizes.get(i) > 0 && sizes.get(i) <= 8192 : sizes.get(i) == 8192;
        }
        check(ok, what + ": chunks " + sizes + " (8192 each but the last, no empty final chunk)");
        return cmd.toByteArray();
    }

    static void jnlp4() throws Exception {
        int port = ctl.agentPort();
        String id = ctl.identity.spkiBase64();
        int base = ctl.sessionsEnded();

        /* A reachability probe first: an empty connection. */
        new Socket("127.0.0.1", port).close();

        TestAgent.Jnlp4 a = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FC);
        checkEq("OK", a.verdict, "jnlp4: handshake accepted");
        checkEq(0x1FEL, a.controllerCapability, "jnlp4: controller capability 0x1fe");

        /* Framing both ways through the echo scenario. */
        byte[] big = randomCommand(20000, 1);
        Wire.writeFlush(a.out, Wire.frameCommand(big));
        checkBytes(big, readChunksChecked(a.in, "jnlp4: 20000-byte command"), "jnlp4: 20000-byte command echoed");
        /* Odd but legal chunking from the agent: 1, 0, 100, rest. */
        byte[] odd = randomCommand(300, 2);
        ByteArrayOutputStream w = new ByteArrayOutputStream();
        int[][] parts = {{0, 1}, {1, 0}, {1, 100}, {101, 199}};
        for (int i = 0; i < parts.length; i++) {
            int len = parts[i][1];
            w.write((i < parts.length - 1 ? 0x80 : 0) | (len >> 8));
            w.write(len);
            w.write(odd, parts[i][0], len);
        }
        byte[] small = randomCommand(8192, 3);
        w.writeBytes(Wire.frameCommand(small));
        Wire.writeFlush(a.out, w.toByteArray());
        checkBytes(odd, readChunksChecked(a.in, "jnlp4: 300-byte command"), "jnlp4: chunks of 1, 0, 100, 199 reassembled");
        checkBytes(small, readChunksChecked(a.in, "jnlp4: 8192-byte command"), "jnlp4: exactly 8192 bytes = one chunk");

        /* Refusals, with Jenkins' texts. */
        TestAgent.Jnlp4 r = TestAgent.Jnlp4.connect(port, id, cfg.name, "00" + cfg.secret.substring(2), null, 0x1FE);
        checkEq("ERROR: Authorization failure", r.verdict, "jnlp4: wrong secret refused");
        r.close();
        r = TestAgent.Jnlp4.connect(port, id, "nobody", cfg.secret, null, 0x1FE);
        checkEq("ERROR: Unknown client name: nobody", r.verdict, "jnlp4: unknown node refused");
        r.close();
        r = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE);
        checkEq("ERROR: " + cfg.name + " is already connected to this controller. Rejecting this connection.",
                r.verdict, "jnlp4: second connection without cookie refused");
        r.close();
        r = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, Wire.newCookie(), 0x1FE);
        check(r.verdict != null && r.verdict.contains("already connected"), "jnlp4: wrong cookie refused");
        r.close();

        /*
         * Takeover. Jenkins stores as the channel's cookie the one the agent presented (none for
         * a): so the cookie a received does not take over a's session...
         */
        String cookieA = a.controllerHeaders.get("JnlpAgentProtocol.cookie");
        r = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, cookieA, 0x1FE);
        check(r.verdict != null && r.verdict.contains("already connected"),
                "jnlp4: the cookie we sent to a session that presented none does not take it over");
        r.close();
        a.close();
        waitSessions(base + 1);
        /* ... while a session that presented cookie X is taken over by a connection presenting X. */
        TestAgent.Jnlp4 b = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, cookieA, 0x1FE);
        checkEq("OK", b.verdict, "jnlp4: with no live session, any cookie is accepted");
        check(!cookieA.equals(b.controllerHeaders.get("JnlpAgentProtocol.cookie")), "jnlp4: a fresh cookie per connection");
        TestAgent.Jnlp4 c = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret,
                b.controllerHeaders.get("JnlpAgentProtocol.cookie"), 0x1FE);
        check(c.verdict != null && c.verdict.contains("already connected"),
                "jnlp4: presenting the newer controller cookie does not take over (Jenkins compares the presented one)");
        c.close();
        TestAgent.Jnlp4 d = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, cookieA, 0x1FE);
        checkEq("OK", d.verdict, "jnlp4: presenting the same cookie again takes over");
        check(isCut(b.in), "jnlp4: the old connection was cut");
        d.close();
        waitSessions(base + 3);
        checkEq(base + 3, ctl.sessionsEnded(), "jnlp4: all three sessions ended");

        /* Pinning: a client pinned to another key refuses the handshake. */
        String otherKey = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1ZvCf2TFkfG6M/Q2If5fW1T/p7u2zHVrOaXmP80qDfdwB7FiiLiNyhvKhjfFdJu5pBjWkYgrYRqq2yXBLp8VhRH3WSGILVJWK6hBm1Hy4Q7ZJoPMXo0JWUNn+8A+mRyJH5HyKDfqxKqf28NJ5Mms4VyFFPOb0HQtH+79UksV3FYSYpRMdRqvXF+M90zZFaCGqEA97BxdEVKmr5yEu0oVuwjaBVzn21bNn3hgfpEHGYhMM5kyDLdLgtY6ZJv0QaKr2i832+CEc5I6U9CCG/CB++6Gl6R71J/mR8cMaTvrYbNEpfwcdAHMYbCTb8ugiHJ0X1ItLmpZ4k63biyNAPAwlQIDAQAB";
        boolean refused = false;
        try {
            TestAgent.Jnlp4.connect(port, otherKey, cfg.name, cfg.secret, null, 0x1FE).close();
        } catch (IOException e) {
            refused = true;
        }
        check(refused, "jnlp4: TLS certificate is the instance identity (a client pinned to another key fails)");

        /* The other things the TCP port answers. */
        checkEq("Ping\n", tcpExchange(port, Wire.frame16("Protocol:Ping")), "tcp: Protocol:Ping -> \"Ping\\n\"");
        checkEq("Unknown protocol:\n", tcpExchange(port, Wire.frame16("Protocol:JNLP4-connect-proxy")),
                "tcp: Protocol:JNLP4-connect-proxy -> \"Unknown protocol:\\n\"");
        checkEq("Unknown protocol:\n", tcpExchange(port, Wire.frame16("Protocol:JNLP2-connect")),
                "tcp: Protocol:JNLP2-connect -> \"Unknown protocol:\\n\"");
        checkEq("Unrecognized protocol: Hello, world\n", tcpExchange(port, Wire.frame16("Hello, world")),
                "tcp: a line without Protocol: -> \"Unrecognized protocol: ...\"");
        cfg.protocols = "Ping";
        ctl.protocols.remove("JNLP4-connect");
        checkEq("Disabled protocol:Protocol:JNLP4-connect\n", tcpExchange(port, Wire.frame16("Protocol:JNLP4-connect")),
                "tcp: JNLP4-connect not in --protocols -> \"Disabled protocol:Protocol:JNLP4-connect\\n\"");
        cfg.protocols = "JNLP4-connect, Ping";
        ctl.protocols.add("JNLP4-connect");
        String diag = tcpExchange(port, "GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        check(diag.startsWith("HTTP/1.0 200 OK") && diag.contains("Jenkins-Agent-Protocols: JNLP4-connect, Ping"),
                "tcp: GET / on the agent port -> diagnostic page");
    }

    /** True if the stream ends (EOF or reset) before the socket's read timeout; data is skipped. */
    static boolean isCut(InputStream in) {
        try {
            while (in.read() >= 0) {
                /* a ping or data sent before the cut */
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    static String tcpExchange(int port, byte[] send) throws IOException {
        try (Socket s = TestAgent.open(port, null)) {
            Wire.writeFlush(s.getOutputStream(), send);
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /* ---------------------------------------------------------------- WebSocket */

    static int portOf(String url) {
        return Integer.parseInt(url.replaceAll(".*:(\\d+)/", "$1"));
    }

    static TestAgent.Response upgrade(Socket s, String... extra) throws IOException {
        List<String> h = new ArrayList<>(List.of("Upgrade: websocket", "Connection: Upgrade",
                "Sec-WebSocket-Key: " + TestAgent.wsKey(), "Sec-WebSocket-Version: 13"));
        h.addAll(Arrays.asList(extra));
        return TestAgent.request(s, "GET", "/wsagents/", h.toArray(new String[0]));
    }

    static void websocket() throws Exception {
        String cap = "X-Remoting-Capability: " + Wire.capabilityToBase64(0x1FC);
        String name = "Node-Name: " + cfg.name;
        String secret = "Secret-Key: " + cfg.secret;
        int http = portOf(ctl.httpUrl());
        int base = ctl.sessionsEnded();

        try (Socket s = TestAgent.open(http, null)) {
            TestAgent.Response r = upgrade(s, name, secret);
            checkEq(400, r.status, "ws: no X-Remoting-Capability -> 400");
            checkEq("This endpoint is only for use from agent.jar in WebSocket mode",
                    new String(r.body, StandardCharsets.UTF_8), "ws: ... with Jenkins' text");
        }
        try (Socket s = TestAgent.open(http, null)) {
            TestAgent.Response r = upgrade(s, "Node-Name: nobody", secret, cap);
            checkEq(400, r.status, "ws: unknown node -> 400");
            checkEq("no such agent", new String(r.body, StandardCharsets.UTF_8), "ws: ... \"no such agent\"");
        }
        try (Socket s = TestAgent.open(http, null)) {
            TestAgent.Response r = upgrade(s, name, "Secret-Key: 00" + cfg.secret.substring(2), cap);
            checkEq(403, r.status, "ws: wrong secret -> 403");
        }
        try (Socket s = TestAgent.open(http, null)) {
            TestAgent.Response r = TestAgent.request(s, "GET", "/wsagents/", name, secret, cap);
            checkEq(400, r.status, "ws: no Upgrade header -> 400");
            checkEq("only WS connections accepted here", new String(r.body, StandardCharsets.UTF_8),
                    "ws: ... \"only WS connections accepted here\"");
        }

        Socket s = TestAgent.open(http, null);
        TestAgent.Response r = upgrade(s, name, secret, cap);
        checkEq(101, r.status, "ws: upgrade -> 101");
        checkEq(Wire.capabilityToBase64(0x1FE), r.header("X-Remoting-Capability"), "ws: 101 X-Remoting-Capability (0x1fe)");
        checkEq(Config.JENKINS_MIN_VERSION, r.header("X-Remoting-Minimum-Version"), "ws: 101 X-Remoting-Minimum-Version");
        String cookie = r.header("Connection-Cookie");
        check(cookie != null && cookie.matches("[0-9a-f]{64}"), "ws: 101 Connection-Cookie is 64 hex");
        wsSession(s, "ws");

        /* Second upgrade while connected: refused unless it has the cookie. */
        try (Socket s2 = TestAgent.open(http, null)) {
            TestAgent.Response r2 = upgrade(s2, name, secret, cap);
            checkEq(400, r2.status, "ws: second connection without cookie -> 400");
            checkEq(cfg.name + " is already connected to this controller. Rejecting this connection.",
                    new String(r2.body, StandardCharsets.UTF_8), "ws: ... Jenkins' text");
        }
        Socket s3 = TestAgent.open(http, null);
        TestAgent.Response r3 = upgrade(s3, name, secret, cap, "Connection-Cookie: " + cookie.toUpperCase());
        checkEq(101, r3.status, "ws: reconnect with the cookie (upper case) -> 101");
        checkEq(cookie, r3.header("Connection-Cookie"), "ws: the cookie is normalised and reused");
        check(isCut(s.getInputStream()), "ws: the old connection was cut");
        s.close();
        wsClose(s3, "ws");
        waitSessions(base + 2);

        /* wss: the same over HTTPS, trusting only cert_file, with host name verification. */
        String pem = Files.readString(ctl.certFile());
        Socket t = TestAgent.open(portOf(ctl.httpsUrl()), TestAgent.pemContext(pem));
        TestAgent.Response rt = upgrade(t, name, secret, cap);
        checkEq(101, rt.status, "wss: upgrade over TLS (cert_file trusted, host 127.0.0.1 verified) -> 101");
        wsSession(t, "wss");
        wsClose(t, "wss");
        try (Socket h = TestAgent.open(portOf(ctl.httpsUrl()), TestAgent.pemContext(pem))) {
            checkEq(200, TestAgent.request(h, "GET", "/login").status, "https: GET /login -> 200");
        }
        waitSessions(base + 3);
        checkEq(base + 3, ctl.sessionsEnded(), "ws: three sessions ended");

        /* A second controller: --tcp-disabled --min-version none (WebSocket-only Jenkins). */
        Config c2 = new Config();
        c2.tcpDisabled = true;
        c2.minVersion = null;
        c2.scenario = "echo";
        c2.keysDir = ctl.keysDir.toString();
        c2.wsPingMs = 0;
        c2.wsIdleMs = 500;
        Controller ctl2 = new Controller(c2, null);
        ctl2.start();
        try {
            checkEq(-1, ctl2.agentPort(), "--tcp-disabled: no agent port");
            int http2 = portOf(ctl2.httpUrl());
            try (Socket s2 = TestAgent.open(http2, null)) {
                checkEq(404, TestAgent.request(s2, "GET", "/tcpSlaveAgentListener/", name).status,
                        "--tcp-disabled: /tcpSlaveAgentListener/ -> 404");
            }
            try (Socket s2 = TestAgent.open(http2, null)) {
                checkEq(200, TestAgent.request(s2, "GET", "/login").status, "--tcp-disabled: /login -> 200");
            }
            Socket s4 = TestAgent.open(http2, null);
            TestAgent.Response r4 = upgrade(s4, name, secret, cap);
            checkEq(101, r4.status, "--tcp-disabled: WebSocket still works");
            checkEq(null, r4.header("X-Remoting-Minimum-Version"), "--min-version none: no X-Remoting-Minimum-Version");
            /* --ws-ping-ms 0 --ws-idle-ms 500: silence, then a close 1001 from the controller. */
            TestAgent.Frame f = TestAgent.readFrame(s4.getInputStream());
            check(f.opcode == 8 && f.payload.length >= 2 && ((f.payload[0] & 0xFF) << 8 | (f.payload[1] & 0xFF)) == 1001,
                    "--ws-idle-ms: an idle connection is closed with 1001, no ping before (opcode " + f.opcode + ")");
            s4.close();
        } finally {
            ctl2.stop();
        }
    }

    /** Echo through a WebSocket session: fragmentation, masking, one chunk per message, ping/pong. */
    static void wsSession(Socket s, String what) throws IOException {
        InputStream in = s.getInputStream();
        var out = s.getOutputStream();
        byte[] cmd = randomCommand(20000, 4);
        byte[] framed = Wire.frameCommand(cmd);
        /* Message boundaries mean nothing on receive: send the chunk stream as 3 messages, the
         * second one fragmented, cutting through chunk headers. */
        ByteArrayOutputStream w = new ByteArrayOutputStream();
        w.writeBytes(TestAgent.clientFrame(true, 2, Arrays.copyOfRange(framed, 0, 8193)));
        w.writeBytes(TestAgent.clientFrame(false, 2, Arrays.copyOfRange(framed, 8193, 9000)));
        w.writeBytes(TestAgent.clientFrame(true, 9, "hi".getBytes(StandardCharsets.US_ASCII)));
        w.writeBytes(TestAgent.clientFrame(true, 0, Arrays.copyOfRange(framed, 9000, 15000)));
        w.writeBytes(TestAgent.clientFrame(true, 2, Arrays.copyOfRange(framed, 15000, framed.length)));
        Wire.writeFlush(out, w.toByteArray());
        ByteArrayOutputStream echoed = new ByteArrayOutputStream();
        List<Integer> messageSizes = new ArrayList<>();
        boolean pong = false;
        boolean ping = false;
        boolean unmasked = true;
        long end = System.currentTimeMillis() + 5000;
        while ((echoed.size() < framed.length || !ping || !pong) && System.currentTimeMillis() < end) {
            TestAgent.Frame f;
            try {
                f = TestAgent.readFrame(in);
            } catch (SocketTimeoutException e) {
                break;
            }
            unmasked &= !f.masked;
            if (f.opcode == 2) {
                messageSizes.add(f.payload.length);
                echoed.writeBytes(f.payload);
            } else if (f.opcode == 0xA) {
                pong = Arrays.equals(f.payload, "hi".getBytes(StandardCharsets.US_ASCII));
            } else if (f.opcode == 9) {
                ping = f.payload.length == 0;
                Wire.writeFlush(out, TestAgent.clientFrame(true, 0xA, f.payload));
            }
        }
        check(unmasked, what + ": server frames are not masked");
        check(pong, what + ": our ping answered with a pong carrying the same payload");
        check(ping, what + ": controller pings (empty payload) after --ws-ping-ms/2");
        checkEq(List.of(8194, 8194, 3618), messageSizes, what + ": one chunk per binary message");
        checkBytes(framed, echoed.toByteArray(), what + ": 20000-byte command echoed with standard chunking");
    }

    static void wsClose(Socket s, String what) throws IOException {
        Wire.writeFlush(s.getOutputStream(), TestAgent.clientFrame(true, 8, new byte[] {0x03, (byte) 0xE8}));
        InputStream in = s.getInputStream();
        TestAgent.Frame f;
        do {
            f = TestAgent.readFrame(in);
        } while (f.opcode != 8);
        check(f.payload.length >= 2 && f.payload[0] == 0x03 && f.payload[1] == (byte) 0xE8,
                what + ": close 1000 answered with close 1000");
        s.close();
    }

    /* ---------------------------------------------------------------- faults */

    static void withFault(String spec) {
        cfg.faults.clear();
        if (spec != null) {
            cfg.faults.add(spec);
        }
    }

    static int jdkStatus(String url) throws IOException {
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) new java.net.URL(url).openConnection(java.net.Proxy.NO_PROXY);
        try {
            return c.getResponseCode();
        } finally {
            c.disconnect();
        }
    }

    static void faults() throws Exception {
        int port = ctl.agentPort();
        String id = ctl.identity.spkiBase64();
        int http = portOf(ctl.httpUrl());

        withFault("garbage-http");
        try (Socket s = TestAgent.open(http, null)) {
            Wire.writeFlush(s.getOutputStream(), "GET /tcpSlaveAgentListener/ HTTP/1.1\r\nHost: x\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String got = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            check(!got.startsWith("HTTP/"), "fault garbage-http: the response is not HTTP");
        }

        withFault("http-status:503");
        cfg.faultCount = ctl.nextHttpRequest() + 1; /* the next HTTP request only */
        try (Socket s = TestAgent.open(http, null)) {
            checkEq(503, TestAgent.request(s, "GET", "/tcpSlaveAgentListener/").status, "fault http-status:503 (Jenkins starting up)");
        }
        try (Socket s = TestAgent.open(http, null)) {
            checkEq(200, TestAgent.request(s, "GET", "/tcpSlaveAgentListener/").status, "--fault-count: then 200 again");
        }
        cfg.faultCount = -1;

        /* --redirects, read by the JDK's own HttpURLConnection (what agent.jar's discovery
         * uses): same-scheme 301/302 are followed, http -> https and 308 are not, a loop stops
         * after 20. The C agent's rules (docs/connect.md) are checked against this. */
        withFault(null);
        cfg.redirects = true;
        try {
            String base = "http://127.0.0.1:" + http;
            checkEq(200, jdkStatus(base + "/abs/moved/tcpSlaveAgentListener/"), "--redirects: 301 then 302 followed");
            checkEq(301, jdkStatus(base + "/to-https/tcpSlaveAgentListener/"), "--redirects: http -> https not followed");
            checkEq(308, jdkStatus(base + "/perm/tcpSlaveAgentListener/"), "--redirects: 308 not followed by the JDK");
            try {
                jdkStatus(base + "/loop/tcpSlaveAgentListener/");
                check(false, "--redirects: the loop ended");
            } catch (java.net.ProtocolException e) {
                check(e.getMessage().contains("(20)"), "--redirects: the JDK stops after 20: " + e.getMessage());
            }
        } finally {
            cfg.redirects = false;
        }

        withFault("garbage-ack");
        TestAgent.Jnlp4 c = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE);
        check(!Arrays.equals(Wire.ACK, c.ack) && c.ack.length == 5, "fault garbage-ack: 5 bytes that are not ACK");
        c.close();

        withFault("close-after-ack");
        checkEq("\0\3ACK", tcpExchange(port, Wire.concat(Wire.frame16("Protocol:JNLP4-connect"), Wire.ACK)),
                "fault close-after-ack: ACK, then EOF");

        withFault("garbage-headers");
        c = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE);
        check(c.controllerHeaders == null && c.controllerHeadersText != null,
                "fault garbage-headers: the header frame is not JSON (\"" + c.controllerHeadersText + "\")");
        checkBytes(Wire.concat(Wire.frame16("OK"), Wire.BYE), c.in.readNBytes(9),
                "fault garbage-headers: the controller's verdict, then BYE for our ERROR");
        c.close();

        withFault("garbage-capability");
        boolean bad = false;
        try {
            TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE).close();
        } catch (IOException e) {
            bad = true;
        }
        check(bad, "fault garbage-capability: the capability frame does not decode");

        withFault("stall-after-headers");
        boolean stalled = false;
        try {
            TestAgent.Jnlp4 x = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE, 800);
            x.close();
        } catch (SocketTimeoutException e) {
            stalled = true;
        }
        check(stalled, "fault stall-after-headers: no verdict after the headers");

        withFault("refuse:go away");
        c = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE);
        checkEq("ERROR: go away", c.verdict, "fault refuse:TEXT");
        c.close();
        withFault("fatal:never");
        c = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE);
        checkEq("FATAL: never", c.verdict, "fault fatal:TEXT");
        c.close();

        withFault("kill-after-connected:200");
        int endedBefore = ctl.sessionsEnded();
        c = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE);
        checkEq("OK", c.verdict, "fault kill-after-connected: handshake completes");
        long t0 = System.nanoTime();
        boolean killed = isCut(c.in);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        check(killed && ms >= 100 && ms < 5000, "fault kill-after-connected:200: cut after " + ms + " ms");
        c.close();
        /* The node counts as connected until the controller has seen the cut session end; the
         * WebSocket upgrade below would otherwise be refused as "already connected". */
        waitSessions(endedBefore + 1);

        withFault("ws-fragmented");
        try (Socket s = TestAgent.open(http, null)) {
            TestAgent.Response r = upgrade(s, "Node-Name: " + cfg.name, "Secret-Key: " + cfg.secret,
                    "X-Remoting-Capability: " + Wire.capabilityToBase64(0x1FE));
            checkEq(101, r.status, "fault ws-fragmented: upgrade");
            byte[] cmd = randomCommand(9000, 5);
            Wire.writeFlush(s.getOutputStream(), TestAgent.clientFrame(true, 2, Wire.frameCommand(cmd)));
            List<String> frames = new ArrayList<>();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            while (frames.size() < 4) {
                TestAgent.Frame f = TestAgent.readFrame(s.getInputStream());
                if (f.opcode == 2 || f.opcode == 0) {
                    frames.add(f.opcode + (f.fin ? "F" : "-") + f.payload.length);
                    got.writeBytes(f.payload);
                }
            }
            checkEq(List.of("2-2", "0F8192", "2-2", "0F808"), frames, "fault ws-fragmented: header and payload fragments");
            checkBytes(Wire.frameCommand(cmd), got.toByteArray(), "fault ws-fragmented: same chunk stream");
            wsClose(s, "fault ws-fragmented");
        }

        /* --fault-count: only the first N connections. */
        withFault("garbage-ack");
        cfg.faultCount = ctl.nextConnection() + 1; /* faults on the next connection only */
        c = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE);
        check(!Arrays.equals(Wire.ACK, c.ack), "--fault-count: fault on connection N");
        c.close();
        c = TestAgent.Jnlp4.connect(port, id, cfg.name, cfg.secret, null, 0x1FE);
        checkEq("OK", c.verdict, "--fault-count: none on connection N+1");
        c.close();
        cfg.faultCount = -1;
        withFault(null);
    }

    /* ---------------------------------------------------------------- the CLI and the relay, as processes */

    static Process spawn(Path stderr, String cls, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), cls));
        cmd.addAll(Arrays.asList(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(stderr.toFile()).start();
    }

    static Map<String, String> readState(Path file, long timeoutMs) throws IOException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (!Files.exists(file) && System.currentTimeMillis() < end) {
            Controller.sleep(50);
        }
        Map<String, String> kv = new LinkedHashMap<>();
        if (Files.exists(file)) {
            for (String l : Files.readAllLines(file)) {
                int eq = l.indexOf('=');
                if (eq > 0) {
                    kv.put(l.substring(0, eq), l.substring(eq + 1));
                }
            }
        }
        return kv;
    }

    /** Write a relay command and wait until the relay's state file says it was applied. */
    static void control(Path file, Path relayState, String cmd) throws IOException {
        int before = Integer.parseInt(readState(relayState, 1000).get("commands"));
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, cmd + "\n");
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        long end = System.currentTimeMillis() + 10_000;
        while (Integer.parseInt(readState(relayState, 1000).get("commands")) <= before
                && System.currentTimeMillis() < end) {
            Controller.sleep(10);
        }
    }

    static void cli() throws Exception {
        Path dir = Files.createTempDirectory("testctl-cli");
        Path state = dir.resolve("state");
        List<String> args = new ArrayList<>(List.of("--state-file", state.toString(), "--sessions", "2", "--https", "--scenario", "raw-hold",
                "--hold-ms", "300", "--timeout-ms", "30000", "--log", dir.resolve("log").toString()));
        if (System.getProperty("keys") != null) {
            args.add("--keys-dir");
            args.add(System.getProperty("keys"));
        }
        Process ctlp = spawn(dir.resolve("stderr"), "nativeagent.testctl.Main", args.toArray(new String[0]));
        Process relay = null;
        try {
            Map<String, String> st = readState(state, 30000);
            checkEq(List.of("http_url", "https_url", "ws_url", "wss_url", "agent_port", "identity", "cert_file", "name",
                    "secret", "pid", "requests_file"), new ArrayList<>(st.keySet()), "cli: state file keys");
            checkEq(Long.toString(ctlp.pid()), st.get("pid"), "cli: state pid");
            check(Files.readString(Path.of(st.get("cert_file"))).startsWith("-----BEGIN CERTIFICATE-----"),
                    "cli: cert_file is a PEM certificate");
            int http = portOf(st.get("http_url"));
            try (Socket s = TestAgent.open(http, null)) {
                TestAgent.Response r = TestAgent.request(s, "GET", "/tcpSlaveAgentListener/", "Node-Name: cli-test");
                checkEq(st.get("agent_port"), r.header("X-Jenkins-JNLP-Port"), "cli: discovery gives agent_port");
                checkEq(st.get("identity"), r.header("X-Instance-Identity"), "cli: discovery gives identity");
            }
            check(Files.readString(Path.of(st.get("requests_file")), StandardCharsets.ISO_8859_1)
                    .contains("GET /tcpSlaveAgentListener/ HTTP/1.1\r\nHost: 127.0.0.1:" + http + "\r\nNode-Name: cli-test\r\n\r\n"),
                    "cli: requests_file has the request head verbatim");

            Path rstate = dir.resolve("relay-state");
            Path rctl = dir.resolve("relay-control");
            relay = spawn(dir.resolve("relay-stderr"), "nativeagent.testctl.net.Relay", "--state-file", rstate.toString(),
                    "--target", "127.0.0.1:" + st.get("agent_port"), "--control", rctl.toString());
            int rport = Integer.parseInt(readState(rstate, 20000).get("port"));

            /* freeze: the protocol frame goes nowhere until pass */
            control(rctl, rstate, "freeze");
            try (Socket s = TestAgent.open(rport, null)) {
                Wire.writeFlush(s.getOutputStream(), Wire.concat(Wire.frame16("Protocol:JNLP4-connect"), Wire.ACK));
                s.setSoTimeout(500);
                boolean stalled = false;
                try {
                    s.getInputStream().read();
                } catch (SocketTimeoutException e) {
                    stalled = true;
                }
                check(stalled, "relay freeze: nothing comes back");
                s.setSoTimeout(5000);
                control(rctl, rstate, "pass");
                checkBytes(Wire.ACK, s.getInputStream().readNBytes(5), "relay pass: the ACK arrives after thawing");
            }

            control(rctl, rstate, "refuse");
            try (Socket s = TestAgent.open(rport, null)) {
                check(isCut(s.getInputStream()), "relay refuse: a new connection is closed at once");
            }
            control(rctl, rstate, "pass");
            try (Socket s = TestAgent.open(rport, null)) {
                Wire.writeFlush(s.getOutputStream(), Wire.frame16("Protocol:Ping"));
                checkEq("Ping\n", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII),
                        "relay pass: Protocol:Ping through the relay");
            }

            /* session 1 through the relay: held for --hold-ms, then closed by the controller */
            TestAgent.Jnlp4 a = TestAgent.Jnlp4.connect(rport, st.get("identity"), st.get("name"), st.get("secret"), null, 0x1FE);
            checkEq("OK", a.verdict, "cli: JNLP4 through the relay accepted");
            long t0 = System.nanoTime();
            checkEq(-1, a.in.read(), "cli: --hold-ms closes the link (TLS close_notify, EOF)");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            check(ms >= 150 && ms < 10000, "cli: after about 300 ms (" + ms + " ms)");
            a.close();

            /* session 2: the relay drops it */
            TestAgent.Jnlp4 b = TestAgent.Jnlp4.connect(rport, st.get("identity"), st.get("name"), st.get("secret"),
                    a.controllerHeaders.get("JnlpAgentProtocol.cookie"), 0x1FE);
            checkEq("OK", b.verdict, "cli: second session accepted");
            control(rctl, rstate, "drop");
            check(isCut(b.in), "relay drop: the connection is cut");
            b.close();
            checkEq("5", readState(rstate, 1000).get("connections"), "relay: state counts 5 connections");


            check(ctlp.waitFor(20, java.util.concurrent.TimeUnit.SECONDS), "cli: exits after --sessions 2");
            checkEq(0, ctlp.exitValue(), "cli: exit status 0 when every session passed");
            String err = Files.readString(dir.resolve("stderr"));
            check(err.contains("testctl: PASS: 2 session(s)"), "cli: says PASS");
            check(Files.readString(dir.resolve("log")).contains("testctl: ready; state file"), "cli: --log file written");
        } finally {
            ctlp.destroyForcibly();
            if (relay != null) {
                relay.destroyForcibly();
            }
        }

        /* failures: an unknown scenario (no channel class knows it) or a bad option */
        Process bad = spawn(dir.resolve("bad"), "nativeagent.testctl.Main", "--state-file", dir.resolve("x").toString(),
                "--bogus", "1");
        check(bad.waitFor(20, java.util.concurrent.TimeUnit.SECONDS) && bad.exitValue() == 2, "cli: unknown option -> exit 2");
        Process timeout = spawn(dir.resolve("timeout"), "nativeagent.testctl.Main", "--state-file",
                dir.resolve("y").toString(), "--sessions", "1", "--timeout-ms", "500", "--keys-dir",
                System.getProperty("keys", dir.resolve("keys").toString()));
        check(timeout.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) && timeout.exitValue() == 1,
                "cli: --timeout-ms without sessions -> exit 1");
        check(Files.readString(dir.resolve("timeout")).contains("testctl: FAIL: timeout"), "cli: ... with testctl: FAIL:");
        if (failures == 0) {
            try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        } else {
            System.err.println("cli: logs kept in " + dir);
        }
    }
}
