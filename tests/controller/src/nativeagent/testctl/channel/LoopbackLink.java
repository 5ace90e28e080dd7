package nativeagent.testctl.channel;

import java.io.IOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import nativeagent.testctl.link.CommandLink;

/**
 * An in-memory pair of CommandLinks (no framing, no network) for self-tests: what one end sends,
 * the other receives. Closing either end gives EOF to both.
 */
public final class LoopbackLink implements CommandLink {
    private static final byte[] EOF = new byte[0];

    private final BlockingQueue<byte[]> in;
    private final BlockingQueue<byte[]> out;
    private final long peerCap;
    private final long ourCap;
    private final String name;
    private LoopbackLink other;
    private volatile boolean closed;

    private LoopbackLink(BlockingQueue<byte[]> in, BlockingQueue<byte[]> out, long peerCap, long ourCap, String name) {
        this.in = in;
        this.out = out;
        this.peerCap = peerCap;
        this.ourCap = ourCap;
        this.name = name;
    }

    /** [0] = the controller's end, [1] = the agent's end. */
    public static LoopbackLink[] pair(long agentCap, long controllerCap) {
        BlockingQueue<byte[]> c2a = new LinkedBlockingQueue<>();
        BlockingQueue<byte[]> a2c = new LinkedBlockingQueue<>();
        LoopbackLink ctl = new LoopbackLink(a2c, c2a, agentCap, controllerCap, "fake-agent");
        LoopbackLink agent = new LoopbackLink(c2a, a2c, controllerCap, agentCap, "controller");
        ctl.other = agent;
        agent.other = ctl;
        return new LoopbackLink[] {ctl, agent};
    }

    @Override
    public void send(byte[] command) throws IOException {
        if (closed) {
            throw new IOException("loopback link closed");
        }
        out.add(command.clone());
    }

    @Override
    public byte[] receive() throws IOException {
        try {
            byte[] b = in.take();
            if (b == EOF) {
                in.add(EOF);
                return null;
            }
            return b;
        } catch (InterruptedException e) {
            throw new java.io.InterruptedIOException();
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
        return "loopback";
    }

    @Override
    public String agentName() {
        return name;
    }

    @Override
    public void abort() {
        close();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            in.add(EOF);
            other.closed = true;
            out.add(EOF);
        }
    }
}
