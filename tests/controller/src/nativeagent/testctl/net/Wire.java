package nativeagent.testctl.net;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/**
 * The byte formats of the remoting transport, written out by hand so that this file doubles as
 * documentation (transport.md sections 4.3-4.8, 6 and 7):
 * <ul>
 * <li>{@code frame16}: u16 big-endian byte length + UTF-8 text (protocol name, ACK, headers, OK,
 *     capability);</li>
 * <li>the flat JSON object of the connection headers;</li>
 * <li>the Java-serialised {@code hudson.remoting.Capability}, base64-encoded;</li>
 * <li>the 2-byte ChunkHeader framing of commands.</li>
 * </ul>
 */
public final class Wire {
    private Wire() {
    }

    /** {@code frame16("ACK")}, sent by both sides right after the protocol name. */
    public static final byte[] ACK = {0x00, 0x03, 'A', 'C', 'K'};
    /** {@code frame16("BYE")}, the confirmation of a received refusal. */
    public static final byte[] BYE = {0x00, 0x03, 'B', 'Y', 'E'};

    /** Largest chunk payload a sender puts in one chunk. */
    public static final int CHUNK_SIZE = 8192;
    /** Largest command we reassemble (a bound on peer input, not a protocol limit). */
    public static final int MAX_COMMAND = 64 * 1024 * 1024;

    /* ---------------------------------------------------------------- frame16 */

    public static byte[] frame16(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) {
            throw new IllegalArgumentException("frame16 text too long: " + b.length);
        }
        byte[] f = new byte[2 + b.length];
        f[0] = (byte) (b.length >> 8);
        f[1] = (byte) b.length;
        System.arraycopy(b, 0, f, 2, b.length);
        return f;
    }

    /** Read one frame16; EOFException if the stream ends before it is complete. */
    public static String readFrame16(InputStream in) throws IOException {
        byte[] len = readExactly(in, 2);
        int n = ((len[0] & 0xFF) << 8) | (len[1] & 0xFF);
        return new String(readExactly(in, n), StandardCharsets.UTF_8);
    }

    public static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new EOFException("connection closed after " + b.length + " of " + n + " bytes");
        }
        return b;
    }

    /* ---------------------------------------------------------------- connection headers (JSON) */

    /** Write a header map like remoting's ConnectionHeaders.toString: no whitespace, in map order. */
    public static String headersToJson(Map<String, String> headers) {
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, String> e : headers.entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            jsonString(sb, e.getKey());
            sb.append(':');
            if (e.getValue() == null) {
                sb.append("null");
            } else {
                jsonString(sb, e.getValue());
            }
        }
        return sb.append('}').toString();
    }

    private static void jsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\b': sb.append("\\b"); break;
                case '\t': sb.append("\\t"); break;
                case '\f': sb.append("\\f"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                default:
                    if (c <= 0x1F) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }

    /**
     * Parse a flat JSON object of string (or null) values, with the rules of remoting's
     * ConnectionHeaders.fromString: whitespace is space, \t, \n, \r, \f, \b; no numbers, booleans or
     * nesting; the last duplicate wins; nothing but whitespace after the closing brace.
     */
    public static Map<String, String> parseHeaders(String s) throws IOException {
        Map<String, String> map = new TreeMap<>();
        int[] pos = {0};
        skipWs(s, pos);
        expect(s, pos, '{');
        skipWs(s, pos);
        if (peek(s, pos) == '}') {
            pos[0]++;
        } else {
            while (true) {
                skipWs(s, pos);
                String key = parseString(s, pos);
                skipWs(s, pos);
                expect(s, pos, ':');
                skipWs(s, pos);
                String value;
                if (s.startsWith("null", pos[0])) {
                    pos[0] += 4;
                    value = null;
                } else {
                    value = parseString(s, pos);
                }
                map.put(key, value);
                skipWs(s, pos);
                char c = next(s, pos);
                if (c == '}') {
                    break;
                }
                if (c != ',') {
                    throw new IOException("expected , or } at offset " + (pos[0] - 1));
                }
            }
        }
        skipWs(s, pos);
        if (pos[0] != s.length()) {
            throw new IOException("trailing characters at offset " + pos[0]);
        }
        return map;
    }

    private static boolean isWs(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\b';
    }

    private static void skipWs(String s, int[] pos) {
        while (pos[0] < s.length() && isWs(s.charAt(pos[0]))) {
            pos[0]++;
        }
    }

    private static char peek(String s, int[] pos) throws IOException {
        if (pos[0] >= s.length()) {
            throw new IOException("unexpected end of header text");
        }
        return s.charAt(pos[0]);
    }

    private static char next(String s, int[] pos) throws IOException {
        char c = peek(s, pos);
        pos[0]++;
        return c;
    }

    private static void expect(String s, int[] pos, char want) throws IOException {
        char c = next(s, pos);
        if (c != want) {
            throw new IOException("expected '" + want + "' at offset " + (pos[0] - 1));
        }
    }

    private static String parseString(String s, int[] pos) throws IOException {
        expect(s, pos, '"');
        StringBuilder sb = new StringBuilder();
        while (true) {
            char c = next(s, pos);
            if (c == '"') {
                return sb.toString();
            }
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = next(s, pos);
            switch (e) {
                case '"': sb.append('"'); break;
                case '\\': sb.append('\\'); break;
                case '/': sb.append('/'); break;
                case 'b': sb.append('\b'); break;
                case 'f': sb.append('\f'); break;
                case 'n': sb.append('\n'); break;
                case 'r': sb.append('\r'); break;
                case 't': sb.append('\t'); break;
                case 'u':
                    if (pos[0] + 4 > s.length()) {
                        throw new IOException("truncated \\u escape");
                    }
                    try {
                        sb.append((char) Integer.parseInt(s.substring(pos[0], pos[0] + 4), 16));
                    } catch (NumberFormatException ex) {
                        throw new IOException("bad \\u escape");
                    }
                    pos[0] += 4;
                    break;
                default:
                    throw new IOException("bad escape \\" + e);
            }
        }
    }

    /* ---------------------------------------------------------------- capability */

    /**
     * The Java serialisation of {@code hudson.remoting.Capability} up to its mask: magic,
     * TC_OBJECT, TC_CLASSDESC "hudson.remoting.Capability" serialVersionUID 1, flags
     * SC_SERIALIZABLE, one field {@code long mask}, TC_ENDBLOCKDATA, TC_NULL. The 8 mask bytes
     * (big-endian) follow. 54 + 8 = 62 bytes.
     */
    private static final byte[] CAPABILITY_PREFIX = concat(
            new byte[] {(byte) 0xac, (byte) 0xed, 0x00, 0x05, 0x73, 0x72, 0x00, 0x1a},
            "hudson.remoting.Capability".getBytes(StandardCharsets.US_ASCII),
            new byte[] {0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0x00, 0x01, 'J', 0x00, 0x04},
            "mask".getBytes(StandardCharsets.US_ASCII),
            new byte[] {0x78, 0x70});

    /** What Jenkins advertises (bits 1-8). */
    public static final long JENKINS_CAPABILITY = 0x1FE;

    public static String capabilityToBase64(long mask) {
        byte[] b = Arrays.copyOf(CAPABILITY_PREFIX, CAPABILITY_PREFIX.length + 8);
        for (int i = 0; i < 8; i++) {
            b[CAPABILITY_PREFIX.length + i] = (byte) (mask >>> (56 - 8 * i));
        }
        return Base64.getEncoder().encodeToString(b);
    }

    /**
     * Decode a peer's capability. Only the canonical 62-byte form is understood (the form every
     * remoting version and our C agent write); anything else is an IOException, as a Java peer
     * that cannot deserialise it would fail the connection.
     */
    public static long capabilityFromBase64(String text) throws IOException {
        byte[] b;
        try {
            b = Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new IOException("capability is not base64: " + e.getMessage());
        }
        if (b.length != CAPABILITY_PREFIX.length + 8
                || !Arrays.equals(Arrays.copyOf(b, CAPABILITY_PREFIX.length), CAPABILITY_PREFIX)) {
            throw new IOException("not a serialised hudson.remoting.Capability: " + hex(b));
        }
        long mask = 0;
        for (int i = 0; i < 8; i++) {
            mask = (mask << 8) | (b[CAPABILITY_PREFIX.length + i] & 0xFF);
        }
        return mask;
    }

    /* ---------------------------------------------------------------- chunk framing */

    /**
     * Frame one command as remoting's ByteBuffer transports do: chunks of min(8192, remaining)
     * bytes, header bit 0x8000 on every chunk but the last, never a zero-length chunk (an empty
     * command, which remoting never sends, becomes one empty final chunk).
     */
    public static byte[] frameCommand(byte[] command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(command.length + 2 + command.length / 4096);
        for (byte[] chunk : chunks(command)) {
            out.write(chunk, 0, chunk.length);
        }
        return out.toByteArray();
    }

    /** The chunks of one command, each with its 2-byte header (one WebSocket message each). */
    public static byte[][] chunks(byte[] command) {
        int n = Math.max(1, (command.length + CHUNK_SIZE - 1) / CHUNK_SIZE);
        byte[][] out = new byte[n][];
        for (int i = 0; i < n; i++) {
            int off = i * CHUNK_SIZE;
            int len = Math.min(CHUNK_SIZE, command.length - off);
            boolean more = i < n - 1;
            byte[] c = new byte[2 + len];
            c[0] = (byte) ((more ? 0x80 : 0) | (len >> 8));
            c[1] = (byte) len;
            System.arraycopy(command, off, c, 2, len);
            out[i] = c;
        }
        return out;
    }

    /**
     * Read one command: chunk payloads concatenated until a chunk without 0x8000. Any chunk length
     * 0..32767 is accepted. Returns null at EOF on a command boundary; EOFException inside one.
     */
    public static byte[] readCommand(InputStream in) throws IOException {
        ByteArrayOutputStream cmd = new ByteArrayOutputStream();
        boolean first = true;
        while (true) {
            int b0 = in.read();
            if (b0 < 0) {
                if (first) {
                    return null;
                }
                throw new EOFException("connection closed in the middle of a command ("
                        + cmd.size() + " bytes so far)");
            }
            first = false;
            int b1 = in.read();
            if (b1 < 0) {
                throw new EOFException("connection closed inside a chunk header");
            }
            int header = (b0 << 8) | b1;
            int len = header & 0x7FFF;
            if (cmd.size() + len > MAX_COMMAND) {
                throw new IOException("command larger than " + MAX_COMMAND + " bytes");
            }
            cmd.write(readExactly(in, len), 0, len);
            if ((header & 0x8000) == 0) {
                return cmd.toByteArray();
            }
        }
    }

    /* ---------------------------------------------------------------- small helpers */

    private static final SecureRandom RANDOM = new SecureRandom();

    /** A Jenkins connection cookie: 32 random bytes as lowercase hex (JnlpAgentReceiver.generateCookie). */
    public static String newCookie() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return hex(b);
    }

    public static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return sb.toString();
    }

    /** Decode even-length hex; null if it is not. */
    public static byte[] unhex(String s) {
        if (s.length() % 2 != 0) {
            return null;
        }
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            int hi = Character.digit(s.charAt(2 * i), 16);
            int lo = Character.digit(s.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) {
                return null;
            }
            b[i] = (byte) ((hi << 4) | lo);
        }
        return b;
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }

    public static void writeFlush(OutputStream out, byte[] b) throws IOException {
        out.write(b);
        out.flush();
    }
}
