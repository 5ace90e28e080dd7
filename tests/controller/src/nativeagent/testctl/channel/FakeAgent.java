package nativeagent.testctl.channel;

import hudson.remoting.Channel.CloseCommand;
import hudson.remoting.Command;
import hudson.remoting.PingThread;
import hudson.remoting.ProxyOutputStream;
import hudson.remoting.Response;
import hudson.remoting.UserRequest;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import nativeagent.testctl.callables.WriteToStream;

/**
 * A tiny agent used only to test the test controller itself (SelfTest): it behaves like the C agent
 * is meant to (channel.md 0.1), or misbehaves on purpose, so each scenario's PASS and FAIL paths run
 * in ctest without a real agent.
 */
final class FakeAgent implements Runnable {
    /** How the fake agent behaves. */
    enum Mode {
        /** Answers pings, rejects unknown callables naming them, answers CloseCommand. */
        GOOD,
        /** Like GOOD and also implements WriteToStream (Chunks + EOF before the Response). */
        STREAMS,
        /** Reads everything, answers nothing. */
        MUTE,
        /** Like GOOD but never sends its CloseCommand. */
        NO_CLOSE,
        /** Like GOOD but its errors do not name the callable class. */
        VAGUE_ERRORS,
    }

    private final LoopbackLink link;
    private final Mode mode;
    private final long ourCap;
    private int nextIoId = 1;

    FakeAgent(LoopbackLink link, Mode mode) {
        this.link = link;
        this.mode = mode;
        this.ourCap = link.ourCapability();
    }

    @Override
    public void run() {
        try {
            byte[] b;
            while ((b = link.receive()) != null) {
                Command c = Wire.readCommand(b);
                if (mode == Mode.MUTE) {
                    continue;
                }
                if (c instanceof CloseCommand) {
                    if (mode != Mode.NO_CLOSE) {
                        send(new CloseCommand(null));
                        link.close();
                    }
                    return;
                }
                if (c instanceof UserRequest) {
                    answer((UserRequest) c);
                }
            }
        } catch (Exception e) {
            System.err.println("fake agent: " + e);
            link.close();
        }
    }

    private void send(Command c) throws IOException {
        link.send(Wire.writeCommand(c));
    }

    /** Payloads follow OUR (the agent's) mask; -1 tags would name controller loaders, none needed here. */
    private byte[] payload(Object o) throws IOException {
        return Wire.writePayload(o, ourCap & ~WireContext.MULTI_CLASSLOADER, cl -> {
            throw new IOException("fake agent never exports class loaders");
        });
    }

    private void answer(UserRequest ur) throws Exception {
        Object callable = Wire.readPayload(ur.request, ourCap, new Wire.LoaderResolver() {
            @Override
            public ClassLoader ourLoader(int oid) {
                return FakeAgent.class.getClassLoader();
            }

            @Override
            public ClassLoader agentLoader(int oid) {
                return FakeAgent.class.getClassLoader();
            }
        });
        if (callable instanceof PingThread.Ping) {
            send(new Response(ur.id, 0, new UserRequest.NormalResponse(payload(null)), null));
            return;
        }
        if (callable instanceof WriteToStream && mode == Mode.STREAMS) {
            WriteToStream w = (WriteToStream) callable;
            byte[] data = w.text.getBytes(StandardCharsets.UTF_8);
            for (int off = 0; off < data.length; off += 8192) {
                byte[] part = Arrays.copyOfRange(data, off, Math.min(data.length, off + 8192));
                send(new ProxyOutputStream.Chunk(nextIoId++, w.out.oid, ur.id, part));
            }
            send(new ProxyOutputStream.Flush(nextIoId++, w.out.oid, ur.id));
            int last = nextIoId++;
            send(new ProxyOutputStream.EOF(last, w.out.oid, ur.id, null));
            send(new Response(ur.id, last, new UserRequest.NormalResponse(payload(null)), null));
            return;
        }
        String msg = mode == Mode.VAGUE_ERRORS ? "no"
                : callable.getClass().getName() + " is not supported by this agent";
        send(new Response(ur.id, 0, (Serializable) null, new IOException(msg)));
    }
}
