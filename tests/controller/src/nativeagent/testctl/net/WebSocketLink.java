package nativeagent.testctl.net;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import nativeagent.testctl.link.CommandLink;

/**
 * The server end of an RFC 6455 connection carrying remoting chunks, as Jenkins (Jetty) does it:
 * each chunk is sent as one unmasked binary message; received binary messages (masked, possibly
 * fragmented) are one continuous byte stream for the chunk parser, so message boundaries carry no
 * meaning. Pings (empty payload) first after half the interval, then every interval; pongs
 * answer pings; an idle connection is closed (1001) after the idle timeout.
 */
final class WebSocketLink implements CommandLink {
    static final int OP_CONT = 0x0;
    static final int OP_TEXT = 0x1;
    static final int OP_BINARY = 0x2;
    static final int OP_CLOSE = 0x8;
    static final int OP_PING = 0x9;
    static final int OP_PONG = 0xA;
    /** Jetty's default max binary message size (believed 64 KiB); agents send at most 8194. */
    static final int MAX_MESSAGE = 64 * 1024;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final long peerCap;
    private final long ourCap;
    private final String agentName;
    private final String tag;
    private final ScheduledExecutorService pinger;
    private final MessageStream messages = new MessageStream();
    private volatile boolean closeSent;
    /** Send each chunk as two fragments, header then payload (--fault ws-fragmented). */
    volatile boolean fragmented;

    WebSocketLink(Socket socket, InputStream in, OutputStream out, long peerCap, long ourCap,
            String agentName, long pingMs, long idleMs, String tag) throws IOException {
        this.socket = socket;
        this.in = in;
        this.out = out;
        this.peerCap = peerCap;
        this.ourCap = ourCap;
        this.agentName = agentName;
        this.tag = tag;
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, idleMs));
        pinger = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ws-ping");
            t.setDaemon(true);
            return t;
        });
        if (pingMs > 0) {
            pinger.scheduleAtFixedRate(this::ping, pingMs / 2, pingMs, TimeUnit.MILLISECONDS);
        }
    }

    private void ping() {
        try {
            Log.info(tag + ": sending WebSocket ping");
            writeFrame(OP_PING, new byte[0]);
        } catch (IOException e) {
            pinger.shutdown();
        }
    }

    /** Server frames are never masked. */
    void writeFrame(int opcode, byte[] payload) throws IOException {
        writeFrame(true, opcode, payload);
    }

    void writeFrame(boolean fin, int opcode, byte[] payload) throws IOException {
        ByteArrayOutputStream f = new ByteArrayOutputStream(payload.length + 10);
        f.write((fin ? 0x80 : 0) | opcode);
        if (payload.length < 126) {
            f.write(payload.length);
        } else if (payload.length <= 0xFFFF) {
            f.write(126);
            f.write(payload.length >> 8);
            f.write(payload.length);
        } else {
            f.write(127);
            for (int i = 7; i >= 0; i--) {
                f.write((int) ((long) payload.length >>> (8 * i)));
            }
        }
        f.write(payload, 0, payload.length);
        synchronized (out) {
            out.write(f.toByteArray());
            out.flush();
        }
    }

    @Override
    public void send(byte[] command) throws IOException {
        /* One chunk per message; the lock keeps a command's chunks contiguous. */
        synchronized (out) {
            for (byte[] chunk : Wire.chunks(command)) {
                if (fragmented) {
                    /* Older Jenkins: sendBinary(header, false) then sendBinary(data, true). */
                    writeFrame(false, OP_BINARY, java.util.Arrays.copyOf(chunk, 2));
                    writeFrame(true, OP_CONT, java.util.Arrays.copyOfRange(chunk, 2, chunk.length));
                } else {
                    writeFrame(OP_BINARY, chunk);
                }
            }
        }
    }

    @Override
    public byte[] receive() throws IOException {
        synchronized (messages) {
            return Wire.readCommand(messages);
        }
    }

    @Override
    public long peerCapability() {
        return peerCap;
    }

    @Override
    public long ourCapability() {
        return ourCap;
    }

    @Override
    public String transportName() {
        return "WebSocket";
    }

    @Override
    public String agentName() {
        return agentName;
    }

    /** Orderly: a close frame 1000; the socket is closed after the agent's reply or 1 s. */
    @Override
    public void close() throws IOException {
        pinger.shutdownNow();
        sendClose(1000, "");
        Controller.thread("ws-close", () -> {
            Controller.sleep(1000);
            abort();
        });
    }

    void sendClose(int code, String reason) {
        if (closeSent) {
            return;
        }
        closeSent = true;
        byte[] r = reason.getBytes(StandardCharsets.UTF_8);
        byte[] p = new byte[2 + r.length];
        p[0] = (byte) (code >> 8);
        p[1] = (byte) code;
        System.arraycopy(r, 0, p, 2, r.length);
        try {
            writeFrame(OP_CLOSE, p);
        } catch (IOException e) {
            /* the connection is gone */
        }
    }

    @Override
    public void abort() {
        pinger.shutdownNow();
        try {
            socket.setSoLinger(true, 0);
        } catch (IOException e) {
            /* closing anyway */
        }
        try {
            socket.close();
        } catch (IOException e) {
            /* ignore */
        }
    }

    /**
     * The payload bytes of all binary messages, in order, as one stream; control frames are handled
     * on the way. Ends (-1) when the agent sends a close frame.
     */
    private final class MessageStream extends InputStream {
        private byte[] cur = new byte[0];
        private int pos;
        private boolean inBinary;
        private boolean inText;
        private long messageSize;
        private boolean ended;

        @Override
        public int read() throws IOException {
            if (!fill()) {
                return -1;
            }
            return cur[pos++] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, cur.length - pos);
            System.arraycopy(cur, pos, b, off, n);
            pos += n;
            return n;
        }

        private boolean fill() throws IOException {
            while (pos == cur.length) {
                if (ended) {
                    return false;
                }
                nextFrame();
            }
            return true;
        }

        private int readByte() throws IOException {
            int b;
            try {
                b = in.read();
            } catch (SocketTimeoutException e) {
                Log.info(tag + ": idle timeout; closing (1001)");
                sendClose(1001, "Connection Idle Timeout");
                throw new IOException("WebSocket idle timeout");
            }
            if (b < 0) {
                throw new EOFException("connection closed without a WebSocket close frame");
            }
            return b;
        }

        private void protocolError(String why) throws IOException {
            Log.info(tag + ": protocol error: " + why + "; closing (1002)");
            sendClose(1002, why);
            throw new IOException("WebSocket protocol error: " + why);
        }

        /** Read one frame; a data frame's payload becomes cur. */
        private void nextFrame() throws IOException {
            int b0 = readByte();
            int b1 = readByte();
            boolean fin = (b0 & 0x80) != 0;
            int op = b0 & 0x0F;
            if ((b0 & 0x70) != 0) {
                protocolError("RSV bits set (no extension was negotiated)");
            }
            if ((b1 & 0x80) == 0) {
                protocolError("client frame not masked");
            }
            long len = b1 & 0x7F;
            if (len == 126) {
                len = (readByte() << 8) | readByte();
            } else if (len == 127) {
                len = 0;
                for (int i = 0; i < 8; i++) {
                    len = (len << 8) | readByte();
                }
            }
            if (len < 0) {
                protocolError("64-bit length with the top bit set");
            }
            if (op >= 0x8 && (len > 125 || !fin)) {
                protocolError("bad control frame");
            }
            if (len > MAX_MESSAGE) {
                Log.info(tag + ": frame of " + len + " bytes exceeds " + MAX_MESSAGE + "; closing (1009)");
                sendClose(1009, "Message too big");
                throw new IOException("WebSocket message too big");
            }
            byte[] mask = {(byte) readByte(), (byte) readByte(), (byte) readByte(), (byte) readByte()};
            byte[] payload;
            try {
                payload = Wire.readExactly(in, (int) len);
            } catch (SocketTimeoutException e) {
                throw new IOException("WebSocket idle timeout inside a frame");
            }
            for (int i = 0; i < payload.length; i++) {
                payload[i] ^= mask[i & 3];
            }
            switch (op) {
                case OP_BINARY:
                case OP_CONT:
                    if (op == OP_BINARY && (inBinary || inText)) {
                        protocolError("new message inside a fragmented one");
                    }
                    if (op == OP_CONT && !inBinary && !inText) {
                        protocolError("continuation frame without a message");
                    }
                    if (op == OP_BINARY) {
                        inBinary = true;
                        messageSize = 0;
                    }
                    messageSize += len;
                    if (messageSize > MAX_MESSAGE) {
                        Log.info(tag + ": message larger than " + MAX_MESSAGE + "; closing (1009)");
                        sendClose(1009, "Message too big");
                        throw new IOException("WebSocket message too big");
                    }
                    if (inText) {
                        inText = !fin;
                        return;
                    }
                    inBinary = !fin;
                    cur = payload;
                    pos = 0;
                    return;
                case OP_TEXT:
                    if (inBinary || inText) {
                        protocolError("new message inside a fragmented one");
                    }
                    Log.info(tag + ": unexpected text frame; ignored");
                    inText = !fin;
                    return;
                case OP_PING:
                    writeFrame(OP_PONG, payload);
                    return;
                case OP_PONG:
                    Log.info(tag + ": pong received (" + payload.length + " bytes)");
                    return;
                case OP_CLOSE:
                    int code = payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : 1005;
                    String reason = payload.length > 2
                            ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8) : "";
                    Log.info(tag + ": agent sent close " + code + (reason.isEmpty() ? "" : " \"" + reason + "\""));
                    sendClose(code == 1005 ? 1000 : code, "");
                    ended = true;
                    pinger.shutdownNow();
                    return;
                default:
                    protocolError("unknown opcode " + op);
            }
        }
    }
}
