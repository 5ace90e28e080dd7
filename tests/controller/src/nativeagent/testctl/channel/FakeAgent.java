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

    private final nativeagent.testctl.link.CommandLink link;
    private final Mode mode;
    private final long ourCap;
    private int nextIoId = 1;
    private int nextRequestId = 1000;

    /** What the fake agent saw go wrong on its side (checked by SelfTest). */
    final java.util.List<String> agentProblems = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    /** Acks received, and bytes received into "exports" of the fake agent (any oid), with EOFs. */
    final java.util.concurrent.atomic.AtomicInteger acks = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger chunksSent = new java.util.concurrent.atomic.AtomicInteger();
    final java.io.ByteArrayOutputStream sinkBytes = new java.io.ByteArrayOutputStream();
    volatile boolean sinkClosed;
    /** Our own requests to the controller: id -> what we expect ("null" or "error"). */
    private final java.util.Map<Integer, String> ownRequests = new java.util.concurrent.ConcurrentHashMap<>();
    /** The controller's class-loader oid from its first UserRequest (channel.md 4.7 option A). */
    private int controllerLoaderOid;

    /** Whether to send requests of our own after the first ping (channel checks only). */
    volatile boolean sendOwn;

    FakeAgent(nativeagent.testctl.link.CommandLink link, Mode mode) {
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
                } else if (c instanceof hudson.remoting.RemoteInvocationHandler.RPCRequest) {
                    hudson.remoting.RemoteInvocationHandler.RPCRequest r = (hudson.remoting.RemoteInvocationHandler.RPCRequest) c;
                    send(new Response(r.id, 0, greet(r), null));
                } else if (c instanceof ProxyOutputStream.Ack) {
                    acks.incrementAndGet();
                } else if (c instanceof ProxyOutputStream.Chunk) {
                    ProxyOutputStream.Chunk k = (ProxyOutputStream.Chunk) c;
                    synchronized (sinkBytes) {
                        sinkBytes.write(k.buf);
                    }
                    send(new ProxyOutputStream.Ack(k.oid, k.buf.length));
                } else if (c instanceof ProxyOutputStream.EOF) {
                    sinkClosed = true;
                } else if (c instanceof Response) {
                    checkOwnResponse((Response) c);
                }
            }
        } catch (Exception e) {
            System.err.println("fake agent: " + e);
            link.abort();
        }
    }

    private void send(Command c) throws IOException {
        link.send(Wire.writeCommand(c));
    }

    /**
     * Payloads follow OUR (the agent's) mask. With MULTI_CLASSLOADER an agent writes -3 for JDK classes
     * and "-1 oid" naming the controller's class loader for the others (channel.md 4.4).
     */
    private byte[] payload(Object o) throws IOException {
        java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
        boolean multi = (ourCap & WireContext.MULTI_CLASSLOADER) != 0;
        try (java.io.ObjectOutputStream oos = !multi ? new java.io.ObjectOutputStream(bos)
                : new java.io.ObjectOutputStream(bos) {
                    @Override
                    protected void annotateClass(Class<?> c) throws IOException {
                        if (c.getClassLoader() == null) {
                            writeInt(Wire.TAG_SYSTEMCLASSLOADER);
                        } else {
                            writeInt(Wire.TAG_LOCAL_CLASSLOADER);
                            writeInt(controllerLoaderOid);
                        }
                    }
                }) {
            oos.writeObject(o);
        }
        return bos.toByteArray();
    }

    /** The fake agent's only export: "greet(String)" on any oid. */
    private static String greet(hudson.remoting.RemoteInvocationHandler.RPCRequest r) {
        return "hi " + r.arguments[0] + " from " + r.declaringClassName + "." + r.methodName + "@" + r.oid;
    }

    /** Agent-initiated requests (channel.md 4.7): a ping with the controller's loader oid, and one with a stale oid. */
    private void sendOwnRequests() throws IOException {
        int ok = nextRequestId++;
        int stale = nextRequestId++;
        ownRequests.put(ok, "null");
        ownRequests.put(stale, "error");
        for (int id : new int[] {ok, stale}) {
            int oid = id == ok ? controllerLoaderOid : 999;
            UserRequest ur = new UserRequest(new hudson.remoting.RemoteClassLoader.RemoteIClassLoader(oid),
                    payload(new PingThread.Ping()), "agent ping");
            setId(ur, id);
            send(ur);
        }
    }

    private static void setId(hudson.remoting.Request r, int id) {
        try {
            java.lang.reflect.Field f = hudson.remoting.Request.class.getDeclaredField("id");
            f.setAccessible(true);
            f.set(r, id);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private void checkOwnResponse(Response r) {
        String want = ownRequests.remove(r.id);
        if (want == null) {
            agentProblems.add("Response for unknown id " + r.id);
            return;
        }
        boolean isError = r.exception != null || r.returnValue instanceof UserRequest.ExceptionResponse;
        if (want.equals("error") != isError) {
            agentProblems.add("agent request " + r.id + ": expected " + want + ", got " + Channel.describe(r));
        }
        if (!isError) {
            UserRequest.NormalResponse n = (UserRequest.NormalResponse) r.returnValue;
            if (!Arrays.equals(n.response, new byte[] {(byte) 0xac, (byte) 0xed, 0, 5, 0x70})) {
                agentProblems.add("agent ping result is not AC ED 00 05 70: " + Wire.hexHead(n.response, 32));
            }
        }
    }

    /** Requests of ours still unanswered. */
    int ownRequestsPending() {
        return ownRequests.size();
    }

    private void answer(UserRequest ur) throws Exception {
        if (controllerLoaderOid == 0) {
            hudson.remoting.RemoteInvocationHandler h = hudson.remoting.RemoteInvocationHandler.unwrap(ur.classLoaderProxy);
            if (h == null || h.userProxy || h.goingHome || h.recordCreatedAt) {
                agentProblems.add("classLoaderProxy is not Proxy+RemoteInvocationHandler{userProxy=0,goingHome=0}");
            } else {
                controllerLoaderOid = h.oid;
            }
        }
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
            if (sendOwn && ownRequests.isEmpty() && nextRequestId == 1000) {
                sendOwnRequests();
            }
            return;
        }
        if (callable instanceof hudson.remoting.RemoteInvocationHandler.RPCRequest) {
            String v = greet((hudson.remoting.RemoteInvocationHandler.RPCRequest) callable);
            send(new Response(ur.id, 0, new UserRequest.NormalResponse(payload(v)), null));
            return;
        }
        if (callable instanceof WriteToStream && mode == Mode.STREAMS) {
            WriteToStream w = (WriteToStream) callable;
            byte[] data = w.text.getBytes(StandardCharsets.UTF_8);
            for (int off = 0; off < data.length; off += 8192) {
                byte[] part = Arrays.copyOfRange(data, off, Math.min(data.length, off + 8192));
                send(new ProxyOutputStream.Chunk(nextIoId++, w.out.oid, ur.id, part));
                chunksSent.incrementAndGet();
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
