package nativeagent.testctl.channel;

import hudson.remoting.Capability;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import nativeagent.testctl.link.CommandLink;

/**
 * The AGENT end of a WebSocket connection to the test controller (java.net.http, JDK only), for the
 * channel half's end-to-end test: headers Node-Name, Secret-Key and X-Remoting-Capability (base64 of a
 * serialized hudson.remoting.Capability), then commands in 2-byte-header chunk frames (channel.md 2.1),
 * one frame per binary message, at most 8192 payload bytes each.
 */
final class WsAgentLink implements CommandLink, WebSocket.Listener {
    private static final byte[] EOF = new byte[0];

    private final BlockingQueue<byte[]> commands = new LinkedBlockingQueue<>();
    private final ByteArrayOutputStream rx = new ByteArrayOutputStream();
    private final ByteArrayOutputStream command = new ByteArrayOutputStream();
    private final long ourCap;
    private final String name;
    private WebSocket ws;

    private WsAgentLink(long ourCap, String name) {
        this.ourCap = ourCap;
        this.name = name;
    }

    static WsAgentLink connect(String wsUrl, String name, String secret, long cap) throws Exception {
        WsAgentLink l = new WsAgentLink(cap, name);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ObjectOutputStream oos = new ObjectOutputStream(bos)) {
            oos.writeObject(new Capability(cap));
        }
        l.ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .header("Node-Name", name)
                .header("Secret-Key", secret)
                .header("X-Remoting-Capability", Base64.getEncoder().encodeToString(bos.toByteArray()))
                .buildAsync(URI.create(wsUrl), l)
                .get(10, TimeUnit.SECONDS);
        return l;
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        webSocket.request(1);
    }

    @Override
    public synchronized CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        rx.write(b, 0, b.length);
        byte[] all = rx.toByteArray();
        int off = 0;
        while (all.length - off >= 2) {
            int h = ((all[off] & 0xff) << 8) | (all[off + 1] & 0xff);
            int len = h & 0x7fff;
            if (all.length - off - 2 < len) {
                break;
            }
            command.write(all, off + 2, len);
            off += 2 + len;
            if ((h & 0x8000) == 0) {
                commands.add(command.toByteArray());
                command.reset();
            }
        }
        rx.reset();
        rx.write(all, off, all.length - off);
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        commands.add(EOF);
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        commands.add(EOF);
    }

    @Override
    public synchronized void send(byte[] cmd) throws IOException {
        int off = 0;
        do {
            int n = Math.min(8192, cmd.length - off);
            boolean more = off + n < cmd.length;
            byte[] frame = new byte[2 + n];
            frame[0] = (byte) ((more ? 0x80 : 0) | (n >> 8));
            frame[1] = (byte) n;
            System.arraycopy(cmd, off, frame, 2, n);
            try {
                ws.sendBinary(ByteBuffer.wrap(frame), true).get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IOException("WebSocket send: " + e, e);
            }
            off += n;
        } while (off < cmd.length);
    }

    @Override
    public byte[] receive() throws IOException {
        try {
            byte[] b = commands.take();
            if (b == EOF) {
                commands.add(EOF);
                return null;
            }
            return Arrays.copyOf(b, b.length);
        } catch (InterruptedException e) {
            throw new java.io.InterruptedIOException();
        }
    }

    @Override
    public long peerCapability() {
        return WireContext.JAVA_DEFAULT;
    }

    @Override
    public long ourCapability() {
        return ourCap;
    }

    @Override
    public String transportName() {
        return "WebSocket (agent end)";
    }

    @Override
    public String agentName() {
        return name;
    }

    @Override
    public void abort() {
        ws.abort();
        commands.add(EOF);
    }

    @Override
    public void close() {
        try {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            ws.abort();
        }
        commands.add(EOF);
    }
}
