package nativeagent.testctl.channel;

import hudson.remoting.Channel.CloseCommand;
import hudson.remoting.Channel.IOSyncer;
import hudson.remoting.Command;
import hudson.remoting.GCCommand;
import hudson.remoting.IChannel;
import hudson.remoting.PingThread;
import hudson.remoting.Pipe;
import hudson.remoting.ProxyException;
import hudson.remoting.ProxyInputStream;
import hudson.remoting.ProxyOutputStream;
import hudson.remoting.ProxyWriter;
import hudson.remoting.RemoteClassLoader;
import hudson.remoting.RemoteInvocationHandler;
import hudson.remoting.RemoteInvocationHandler.RPCRequest;
import hudson.remoting.RemoteInvocationHandler.UserRPCRequest;
import hudson.remoting.RemoteOutputStream;
import hudson.remoting.Request;
import hudson.remoting.RequestAbortedException;
import hudson.remoting.Response;
import hudson.remoting.UnexportCommand;
import hudson.remoting.UserRequest;
import hudson.remoting.UserResponse;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import nativeagent.testctl.link.CommandLink;

/**
 * The controller side of a remoting channel, written from channel.md (not remoting's code).
 *
 * <p>Threads: one reader takes commands from the {@link CommandLink} in arrival order and
 * dispatches them (channel.md 2.4): Responses complete pending calls at once; requests from the
 * agent (UserRequest, RPCRequest, ProxyInputStream$Chunk) run on a worker pool; pipe I/O
 * (ProxyOutputStream $Chunk/$Flush/$EOF/$Unexport, Pipe$ConnectCommand) runs on one FIFO I/O lane;
 * everything else runs inline. Sending is serialized by one lock.
 *
 * <p>Strictness: anything the agent does that real remoting would log as an error or that breaks
 * the protocol is recorded in {@link #problems()}; scenarios fail when that list is not empty.
 */
public final class Channel implements Closeable {
    /** Default pipe window (hudson.remoting.Channel.pipeWindowSize): 1 MiB. */
    public static final int PIPE_WINDOW = 1024 * 1024;

    private final CommandLink link;
    private final PrintStream log;
    private final long peerCap;
    private final ExportTable exports = new ExportTable();
    private final Map<ClassLoader, LoaderExport> loaderExports = new IdentityHashMap<>();

    /** Requests we sent, by our id. */
    private final Map<Integer, CompletableFuture<Response>> pending = new ConcurrentHashMap<>();
    /** Requests from the agent we are running, by the agent's id (for Request$Cancel). */
    private final Map<Integer, Future<?>> executing = new ConcurrentHashMap<>();
    /** Incoming I/O commands not yet completed, by the agent's ioId. Absent = completed. */
    private final Map<Integer, Future<?>> pendingIo = new ConcurrentHashMap<>();
    /** Flow-control windows of our writes into agent-exported sinks, by the agent's oid. */
    private final Map<Integer, Window> windows = new ConcurrentHashMap<>();

    private final ExecutorService ioLane = Executors.newSingleThreadExecutor(r -> daemon(r, "testctl-io"));
    private final ExecutorService workers = Executors.newCachedThreadPool(r -> daemon(r, "testctl-worker"));
    private final AtomicInteger nextIoId = new AtomicInteger(1);
    private final ThreadLocal<Integer> lastIoIdSent = ThreadLocal.withInitial(() -> 0);

    private final Object sendLock = new Object();
    private boolean closeSent;
    private boolean linkAborted; /* abortLink() was called; guarded by sendLock */
    private volatile boolean closeReceived;
    private final CompletableFuture<String> terminated = new CompletableFuture<>();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Integer> receivedByClass = new TreeMap<>();
    private final AtomicInteger commandsIn = new AtomicInteger();
    private final AtomicInteger commandsOut = new AtomicInteger();
    private volatile boolean trace = true;
    private Thread reader;

    /**
     * Fault for tests of a controller that stops answering while the link works: with system
     * property {@code testctl.answerAgentPings=N}, the first channel of this process answers the
     * agent's first N {@code PingThread$Ping} requests, then never answers another (everything
     * else, our own pings included, goes on). Later channels answer all of them.
     */
    private static final int ANSWER_AGENT_PINGS = Integer.getInteger("testctl.answerAgentPings", -1);
    private static final AtomicInteger CHANNELS = new AtomicInteger();
    private final boolean limitAgentPings = ANSWER_AGENT_PINGS >= 0 && CHANNELS.incrementAndGet() == 1;
    private final AtomicInteger agentPings = new AtomicInteger();

    public Channel(CommandLink link, PrintStream log) {
        this.link = link;
        this.log = log;
        this.peerCap = link.peerCapability();
        int oid = exports.export(new ChannelExport(), IChannel.class);
        if (oid != 1) {
            throw new IllegalStateException("the channel must be export #1");
        }
    }

    /** Start the reader thread. */
    public Channel start() {
        log("channel up: agent " + link.agentName() + " over " + link.transportName()
                + ", agent capability " + WireContext.describe(peerCap)
                + ", ours " + WireContext.describe(link.ourCapability()));
        reader = daemon(this::readerLoop, "testctl-reader");
        reader.start();
        return this;
    }

    public long peerCapability() {
        return peerCap;
    }

    public void setTrace(boolean on) {
        trace = on;
    }

    /* ------------------------------------------------------------------ API for scenarios */

    /** Run a callable on the agent; returns its result or throws {@link RemoteError} / IOException / TimeoutException. */
    public Object call(Serializable callable, long timeoutMs) throws Exception {
        CompletableFuture<Object> f = callAsync(callable);
        try {
            return f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Exception) {
                throw (Exception) c;
            }
            throw e;
        } catch (TimeoutException e) {
            f.cancel(false);
            throw new TimeoutException("no response to " + callable.getClass().getName() + " within " + timeoutMs + " ms");
        }
    }

    /** Send a UserRequest carrying {@code callable} (channel.md 4.3); the future completes with the decoded result. */
    public CompletableFuture<Object> callAsync(Serializable callable) throws IOException {
        ClassLoader cl = callable.getClass().getClassLoader();
        int loaderOid = exportLoader(cl);
        RemoteInvocationHandler h = new RemoteInvocationHandler(loaderOid, false, false, false, false, null);
        RemoteClassLoader.IClassLoader proxy =
                (RemoteClassLoader.IClassLoader) RemoteInvocationHandler.wrap(RemoteClassLoader.IClassLoader.class, h);
        byte[] payload = Wire.writePayload(callable, peerCap, this::exportLoader);
        UserRequest req = new UserRequest(proxy, payload, callable.toString());
        return sendRequest(req).thenApplyAsync(this::decodeUserResult, workers);
    }

    /**
     * Call method {@code method} of the agent's export {@code oid} (channel.md 6.3). With
     * {@code userProxy} (what the agent's own exports normally are) a UserRequest wrapping a
     * UserRPCRequest/RPCRequest is sent, else the RPCRequest itself is the command.
     */
    public Object rpc(int oid, String iface, String method, String[] types, Object[] args,
            boolean userProxy, boolean userSpace, long timeoutMs) throws Exception {
        RPCRequest r = userSpace
                ? new UserRPCRequest(oid, iface, method, types, args, false)
                : new RPCRequest(oid, iface, method, types, args, false);
        if (userProxy) {
            return call(r, timeoutMs);
        }
        CompletableFuture<Response> f = sendRequest(r);
        Response resp;
        try {
            resp = f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
        if (resp.exception != null) {
            throw new RemoteError("Response.exception", resp.exception);
        }
        return resp.returnValue;
    }

    /** Export {@code sink} so the agent can write to it; returns its oid. */
    public int exportOutputStream(OutputStream sink) {
        return exports.export(sink, OutputStream.class);
    }

    /** Export {@code sink} and return the wire object that names it (for callable fields). */
    public RemoteOutputStream remoteOutputStream(OutputStream sink) {
        return new RemoteOutputStream(exportOutputStream(sink));
    }

    /** Export an InputStream the agent may pull from with ProxyInputStream$Chunk. */
    public int exportInputStream(InputStream source) {
        return exports.export(source, InputStream.class);
    }

    public ExportTable exports() {
        return exports;
    }

    /**
     * An OutputStream writing into the agent's export {@code oid} (ProxyOutputStream$Chunk/$Flush/$EOF),
     * with a 1 MiB window when the agent advertised PIPE_THROTTLING (channel.md 7.3).
     */
    public OutputStream openAgentSink(int oid) {
        Window w = windows.computeIfAbsent(oid, k -> new Window((peerCap & WireContext.PIPE_THROTTLING) != 0));
        return new AgentSink(oid, w);
    }

    /** A background pinger like Jenkins' PingThread (channel.md 8); see {@link #startPinger}. */
    public final class Pinger {
        private final Thread thread;
        private final AtomicInteger ok = new AtomicInteger();
        private volatile long worstMicros;
        private volatile boolean stop;
        private final long intervalMs;

        Pinger(long intervalMs, long timeoutMs) {
            thread = daemon(() -> loop(intervalMs, timeoutMs), "testctl-pinger");
            this.intervalMs = intervalMs;
            thread.start();
        }

        private void loop(long intervalMs, long timeoutMs) {
            while (!stop && !terminated.isDone()) {
                long start = System.currentTimeMillis();
                long t0 = System.nanoTime();
                try {
                    Object r = call(new PingThread.Ping(), timeoutMs);
                    if (r != null) {
                        problem("ping " + (ok.get() + 1) + " returned " + r + " instead of null");
                        return;
                    }
                    worstMicros = Math.max(worstMicros, (System.nanoTime() - t0) / 1000);
                    ok.incrementAndGet();
                } catch (RequestAbortedException e) {
                    return; /* orderly shutdown: like PingThread, not a failure */
                } catch (Exception e) {
                    if (!terminated.isDone()) {
                        problem("ping " + (ok.get() + 1) + " failed: " + e);
                    }
                    return;
                }
                while (!stop && System.currentTimeMillis() < start + intervalMs) {
                    if (awaitTermination(Math.min(50, Math.max(1, start + intervalMs - System.currentTimeMillis()))) != null) {
                        return;
                    }
                }
            }
        }

        /** Pings answered so far. */
        public int count() {
            return ok.get();
        }

        public long worstMicros() {
            return worstMicros;
        }

        /** Stop after the ping in flight (if any) has been answered or has timed out. */
        public void stop() throws InterruptedException {
            stop = true;
            thread.join();
        }
    }

    /**
     * Ping the agent now and then every {@code intervalMs} (from the start of the previous ping),
     * each with {@code timeoutMs}; a timeout or an error is recorded as a problem and stops the pinger.
     */
    public Pinger startPinger(long intervalMs, long timeoutMs) {
        return new Pinger(intervalMs, timeoutMs);
    }

    /**
     * Cut the link without CloseCommand (fault injection: a network failure). Replies and Acks that
     * can no longer be sent afterwards are not problems.
     */
    public void abortLink() {
        synchronized (sendLock) {
            linkAborted = true;
        }
        link.abort();
    }

    /** Orderly close (channel.md 9): send CloseCommand, wait up to {@code timeoutMs} for the agent's or EOF. */
    public void close(long timeoutMs) {
        try {
            send(new CloseCommand(null));
        } catch (IOException e) {
            log("could not send CloseCommand: " + e);
        }
        awaitTermination(timeoutMs);
        terminate("closed by controller");
    }

    @Override
    public void close() {
        close(10_000);
    }

    /** Wait until the channel is terminated; returns the reason, or null on timeout. */
    public String awaitTermination(long timeoutMs) {
        try {
            return terminated.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException e) {
            return "error: " + e.getCause();
        }
    }

    /**
     * Whether the channel is terminated or terminates within {@code ms}, even on a thread that
     * terminate() interrupts (it cancels the requests it finds executing).
     */
    private boolean endsWithin(long ms) {
        long end = System.nanoTime() + ms * 1_000_000;
        boolean interrupted = false;
        while (!terminated.isDone() && System.nanoTime() < end) {
            try {
                terminated.get(Math.max(1, (end - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException | TimeoutException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return terminated.isDone();
    }

    public boolean isTerminated() {
        return terminated.isDone();
    }

    public boolean closeReceived() {
        return closeReceived;
    }

    public List<String> problems() {
        synchronized (problems) {
            return new ArrayList<>(problems);
        }
    }

    public Map<String, Integer> receivedByClass() {
        synchronized (receivedByClass) {
            return new TreeMap<>(receivedByClass);
        }
    }

    public int commandsIn() {
        return commandsIn.get();
    }

    public int commandsOut() {
        return commandsOut.get();
    }

    /** Record a protocol problem (makes the scenario fail). */
    public void problem(String what) {
        problems.add(what);
        log("PROBLEM: " + what);
    }

    public void log(String msg) {
        synchronized (log) {
            log.println("testctl: " + msg);
            log.flush();
        }
    }

    /* ------------------------------------------------------------------ sending */

    /** Send one command as its own serialization stream; nothing may follow our CloseCommand. */
    public void send(Command c) throws IOException {
        byte[] b = Wire.writeCommand(c);
        synchronized (sendLock) {
            if (closeSent) {
                throw new IOException("channel is closing; not sending " + describe(c));
            }
            if (terminated.isDone()) {
                throw new IOException("channel is terminated; not sending " + describe(c));
            }
            if (c instanceof CloseCommand) {
                closeSent = true;
            }
            if (trace) {
                log("c2a " + describe(c) + " (" + b.length + " bytes)");
            }
            link.send(b);
            commandsOut.incrementAndGet();
        }
    }

    private CompletableFuture<Response> sendRequest(Request req) throws IOException {
        req.lastIoId = lastIoIdSent.get();
        CompletableFuture<Response> f = new CompletableFuture<>();
        pending.put(req.id, f);
        try {
            send(req);
        } catch (IOException e) {
            pending.remove(req.id);
            throw e;
        }
        return f;
    }

    private int newIoId() {
        int id = nextIoId.getAndIncrement();
        lastIoIdSent.set(id);
        return id;
    }

    /**
     * The next outgoing ioId, for a scenario that builds its own pipe I/O commands; this thread's
     * next request then carries it as lastIoId (channel.md 4.2).
     */
    public int nextIoIdForScenario() {
        return newIoId();
    }

    synchronized int exportLoader(ClassLoader cl) {
        LoaderExport e = loaderExports.computeIfAbsent(cl, LoaderExport::new);
        return exports.export(e, RemoteClassLoader.IClassLoader.class);
    }

    /* ------------------------------------------------------------------ receiving */

    private void readerLoop() {
        String reason;
        try {
            while (true) {
                byte[] b = link.receive();
                if (b == null) {
                    reason = closeReceived ? "closed" : "EOF from agent";
                    break;
                }
                commandsIn.incrementAndGet();
                Command c;
                try {
                    c = Wire.readCommand(b);
                } catch (Exception e) {
                    problem("undecodable command (" + b.length + " bytes, " + Wire.hexHead(b, 48) + "): " + e);
                    continue;
                }
                synchronized (receivedByClass) {
                    receivedByClass.merge(c.getClass().getName(), 1, Integer::sum);
                }
                if (trace) {
                    log("a2c " + describe(c) + " (" + b.length + " bytes)");
                }
                try {
                    dispatch(c);
                } catch (Exception e) {
                    problem("failed to execute " + describe(c) + ": " + e);
                }
                if (c instanceof CloseCommand) {
                    reason = "closed by agent's CloseCommand";
                    break;
                }
            }
        } catch (IOException e) {
            reason = "link failed: " + e;
        }
        terminate(reason);
    }

    private void dispatch(Command c) throws IOException {
        if (c instanceof Response) {
            Response r = (Response) c;
            CompletableFuture<Response> f = pending.remove(r.id);
            if (f == null) {
                log("note: Response for unknown request id " + r.id + " (ignored, as remoting does)");
            } else {
                f.complete(r);
            }
        } else if (c instanceof UserRequest) {
            UserRequest ur = (UserRequest) c;
            startRequest(ur, () -> executeUserRequest(ur));
        } else if (c instanceof RPCRequest) {
            RPCRequest r = (RPCRequest) c;
            startRequest(r, () -> executeRpcCommand(r));
        } else if (c instanceof ProxyInputStream.Chunk) {
            ProxyInputStream.Chunk r = (ProxyInputStream.Chunk) c;
            startRequest(r, () -> executeInputChunk(r));
        } else if (c instanceof ProxyOutputStream.Chunk) {
            ProxyOutputStream.Chunk k = (ProxyOutputStream.Chunk) c;
            io(k.ioId, () -> writeChunk(k));
        } else if (c instanceof ProxyOutputStream.Flush) {
            ProxyOutputStream.Flush k = (ProxyOutputStream.Flush) c;
            io(k.ioId, () -> {
                OutputStream os = sink(k.oid, "Flush");
                if (os != null) {
                    os.flush();
                }
            });
        } else if (c instanceof ProxyOutputStream.EOF) {
            ProxyOutputStream.EOF k = (ProxyOutputStream.EOF) c;
            io(k.ioId, () -> eof(k));
        } else if (c instanceof ProxyOutputStream.Unexport) {
            ProxyOutputStream.Unexport k = (ProxyOutputStream.Unexport) c;
            io(k.ioId, () -> exports.unexport(k.oid));
        } else if (c instanceof Pipe.ConnectCommand) {
            Pipe.ConnectCommand k = (Pipe.ConnectCommand) c;
            io(0, () -> problem("Pipe$ConnectCommand(oidPos=" + k.oidPos + ", oidRos=" + k.oidRos
                    + "): the test controller never sends local-to-remote pipes"));
        } else if (c instanceof ProxyOutputStream.Ack) {
            ProxyOutputStream.Ack a = (ProxyOutputStream.Ack) c;
            Window w = windows.get(a.oid);
            if (w == null) {
                log("note: Ack for oid " + a.oid + " we never wrote to");
            } else {
                w.ack(a.size);
            }
        } else if (c instanceof ProxyOutputStream.NotifyDeadWriter) {
            ProxyOutputStream.NotifyDeadWriter d = (ProxyOutputStream.NotifyDeadWriter) c;
            Window w = windows.get(d.oid);
            if (w != null) {
                w.dead(d.createdAt == null ? null : d.createdAt.getCause());
            }
        } else if (c instanceof Request.Cancel) {
            Future<?> f = executing.get(((Request.Cancel) c).id);
            if (f != null) {
                f.cancel(true);
            }
        } else if (c instanceof UnexportCommand) {
            int oid = ((UnexportCommand) c).oid;
            if (exports.get(oid) == null) {
                log("note: UnexportCommand for unknown oid " + oid);
            } else if (oid == 1) {
                problem("UnexportCommand(1) would release the controller's IChannel export");
            } else {
                exports.unexport(oid);
            }
        } else if (c instanceof GCCommand) {
            log("note: GCCommand ignored");
        } else if (c instanceof ProxyInputStream.EOF) {
            ExportTable.Entry e = exports.unexport(((ProxyInputStream.EOF) c).oid);
            if (e != null && e.object instanceof InputStream) {
                ((InputStream) e.object).close();
            }
        } else if (c instanceof CloseCommand) {
            closeReceived = true;
            synchronized (sendLock) {
                if (closeSent) {
                    return;
                }
            }
            send(new CloseCommand(null));
        } else if (c.getClass().getEnclosingClass() == ProxyWriter.class) {
            problem(describe(c) + ": the test controller never exports Writers");
        } else {
            problem("unexpected command " + c.getClass().getName());
        }
    }

    /** A request from the agent: wait for its lastIoId (channel.md 4.2), run it on a worker, send its Response. */
    private void startRequest(Request r, java.util.concurrent.Callable<Response> body) {
        FutureTask<Void> task = new FutureTask<>(() -> {
            try {
                waitIo(r.lastIoId);
                Response resp = body.call();
                if (resp != null) { /* null: deliberately left unanswered */
                    send(resp);
                }
            } catch (InterruptedException e) {
                log("request " + r.id + " cancelled");
            } catch (Exception e) {
                boolean closing;
                synchronized (sendLock) {
                    closing = closeSent || linkAborted;
                }
                if (closing || terminated.isDone()) {
                    log("note: " + describe(r) + " not answered, the channel is closing");
                } else if (e instanceof IOException && endsWithin(2000)) {
                    /* The link failed under the reply (the agent died): remoting only logs a WARNING,
                     * and the end of the channel is the scenario's business. */
                    log("note: " + describe(r) + " not answered, the link failed: " + e);
                } else {
                    problem("could not answer " + describe(r) + ": " + e);
                }
            } finally {
                executing.remove(r.id);
            }
            return null;
        });
        executing.put(r.id, task);
        workers.execute(task);
    }

    private Response executeUserRequest(UserRequest ur) {
        Object callable;
        try {
            checkClassLoaderProxy(ur.classLoaderProxy);
            callable = Wire.readPayload(ur.request, peerCap, resolver);
        } catch (Exception e) {
            log("cannot decode the agent's callable (" + ur.toString + "): " + e);
            return userResult(ur.id, null, e);
        }
        if (callable instanceof PingThread.Ping && limitAgentPings
                && agentPings.incrementAndGet() > ANSWER_AGENT_PINGS) {
            log("fault: not answering the agent's ping " + agentPings.get() + " (request " + ur.id
                    + "; testctl.answerAgentPings=" + ANSWER_AGENT_PINGS + ")");
            return null;
        }
        try {
            return userResult(ur.id, runCallable(callable), null);
        } catch (Throwable t) {
            return userResult(ur.id, null, t);
        }
    }

    /** What the test controller runs for the agent: remoting's internal callables only (like CallableDirectionChecker). */
    private Object runCallable(Object callable) throws Throwable {
        if (callable instanceof PingThread.Ping) {
            return null;
        }
        if (callable instanceof IOSyncer) {
            FutureTask<Void> marker = new FutureTask<>(() -> null);
            ioLane.execute(marker);
            marker.get();
            return null;
        }
        if (callable instanceof RPCRequest) {
            return invokeExport((RPCRequest) callable);
        }
        throw new SecurityException("test controller refuses to run " + callable.getClass().getName());
    }

    /** The agent's classLoaderProxy must name a loader we can resolve without calling back (channel.md 4.7). */
    private void checkClassLoaderProxy(Object clp) throws IOException {
        if (clp == null) {
            throw new NullPointerException("UserRequest.classLoaderProxy is null");
        }
        int oid;
        if (clp instanceof RemoteClassLoader.RemoteIClassLoader) {
            oid = ((RemoteClassLoader.RemoteIClassLoader) clp).oid;
        } else {
            RemoteInvocationHandler h = RemoteInvocationHandler.unwrap(clp);
            if (h == null) {
                throw new IOException("classLoaderProxy is neither a proxy nor a RemoteIClassLoader: " + clp.getClass());
            }
            if (!h.goingHome) {
                log("note: agent exported its own class loader as oid " + h.oid + "; not calling getName()");
                return;
            }
            oid = h.oid;
        }
        ExportTable.Entry e = exports.get(oid);
        if (e == null || !(e.object instanceof LoaderExport)) {
            throw new IllegalArgumentException("not a proxy instance: class-loader oid " + oid + " is not exported");
        }
    }

    /** Reply to a UserRequest in the form the agent can read (channel.md 4.5). */
    private Response userResult(int id, Object result, Throwable error) {
        boolean fallback = (peerCap & WireContext.PROXY_EXCEPTION_FALLBACK) != 0;
        try {
            Serializable rv;
            if (error == null) {
                byte[] p = Wire.writePayload(result, peerCap, this::exportLoader);
                rv = fallback ? new UserRequest.NormalResponse(p) : new UserResponse(p, false);
            } else {
                byte[] raw;
                try {
                    raw = Wire.writePayload(error, peerCap, this::exportLoader);
                } catch (IOException e) {
                    raw = null;
                }
                if (fallback) {
                    byte[] proxy = Wire.writePayload(new ProxyException(error.toString()), peerCap, this::exportLoader);
                    rv = new UserRequest.ExceptionResponse(raw, proxy);
                } else {
                    rv = new UserResponse(raw, true);
                }
            }
            return new Response(id, 0, rv, null);
        } catch (IOException e) {
            return new Response(id, 0, null, e);
        }
    }

    private Response executeRpcCommand(RPCRequest r) {
        try {
            Object v = invokeExport(r);
            return new Response(r.id, 0, (Serializable) v, null);
        } catch (Throwable t) {
            return new Response(r.id, 0, null, t);
        }
    }

    /** Pick the method by name and parameter type names among the export's interfaces (channel.md 6.3). */
    private Object invokeExport(RPCRequest r) throws Throwable {
        ExportTable.Entry e = exports.get(r.oid);
        if (e == null) {
            throw new ExecutionException("Invalid object ID " + r.oid + " iota=" + exports.iota(), null);
        }
        String[] types = r.types == null ? new String[0] : r.types;
        for (Class<?> iface : e.interfaces) {
            for (Method m : iface.getMethods()) {
                if (!m.getName().equals(r.methodName) || m.getParameterCount() != types.length) {
                    continue;
                }
                Class<?>[] p = m.getParameterTypes();
                boolean same = true;
                for (int i = 0; i < p.length; i++) {
                    same &= p[i].getName().equals(types[i]);
                }
                if (!same) {
                    continue;
                }
                try {
                    return m.invoke(e.object, r.arguments == null ? new Object[0] : r.arguments);
                } catch (InvocationTargetException ite) {
                    throw ite.getCause();
                }
            }
        }
        throw new IllegalStateException("export " + r.oid + " has no method " + r.methodName + Arrays.toString(types));
    }

    private Response executeInputChunk(ProxyInputStream.Chunk r) throws IOException {
        ExportTable.Entry e = exports.get(r.oid);
        if (e == null || !(e.object instanceof InputStream)) {
            return new Response(r.id, 0, null, new IOException("no exported InputStream " + r.oid));
        }
        byte[] buf = new byte[Math.max(0, Math.min(r.len, 1 << 20))];
        int n = ((InputStream) e.object).read(buf);
        return new Response(r.id, 0, new ProxyInputStream.Buffer(n, n <= 0 ? new byte[0] : Arrays.copyOf(buf, n)), null);
    }

    /* ------------------------------------------------------------------ incoming pipe I/O */

    private interface IoTask {
        void run() throws Exception;
    }

    /** Queue an I/O command on the FIFO lane under its ioId. */
    private void io(int ioId, IoTask t) {
        FutureTask<Void> task = new FutureTask<>(() -> {
            try {
                t.run();
            } catch (Exception e) {
                problem("I/O command #" + ioId + " failed: " + e);
            } finally {
                if (ioId != 0) {
                    pendingIo.remove(ioId);
                }
            }
            return null;
        });
        if (ioId != 0) {
            pendingIo.put(ioId, task);
        }
        try {
            ioLane.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            pendingIo.remove(ioId);
        }
    }

    /** Wait until the agent's I/O command {@code ioId} has been applied locally. */
    private void waitIo(int ioId) throws InterruptedException, ExecutionException {
        if (ioId == 0) {
            return;
        }
        Future<?> f = pendingIo.get(ioId);
        if (f != null) {
            f.get();
        }
    }

    private OutputStream sink(int oid, String what) {
        ExportTable.Entry e = exports.get(oid);
        if (e == null || !(e.object instanceof OutputStream)) {
            problem("ProxyOutputStream$" + what + " for oid " + oid + ", which is not an exported OutputStream");
            return null;
        }
        return (OutputStream) e.object;
    }

    private void writeChunk(ProxyOutputStream.Chunk k) throws IOException {
        OutputStream os = sink(k.oid, "Chunk");
        if (os == null) {
            return; /* remoting logs and sends nothing */
        }
        try {
            os.write(k.buf);
        } catch (IOException e) {
            sendFromPipe(new ProxyOutputStream.NotifyDeadWriter(e, k.oid));
        }
        if ((peerCap & WireContext.PIPE_THROTTLING) != 0) {
            sendFromPipe(new ProxyOutputStream.Ack(k.oid, k.buf.length));
        }
    }

    /**
     * Send an Ack or NotifyDeadWriter from the pipe lane as ProxyOutputStream$Chunk does: once the
     * channel is closing (our CloseCommand went out, or it ended) remoting stays silent
     * (ChannelClosedException); any other send failure it only logs as a WARNING, and the link's
     * failure ends the channel anyway.
     */
    private void sendFromPipe(Command c) {
        try {
            send(c);
        } catch (IOException e) {
            boolean closing;
            synchronized (sendLock) {
                closing = closeSent || linkAborted || terminated.isDone();
            }
            if (!closing) {
                log("note: could not send " + describe(c) + " (remoting logs a WARNING): " + e);
            }
        }
    }

    private void eof(ProxyOutputStream.EOF k) throws IOException {
        ExportTable.Entry e = exports.get(k.oid);
        if (e == null || !(e.object instanceof OutputStream)) {
            log("note: EOF for oid " + k.oid + " that is not exported (ignored)");
            return;
        }
        exports.unexport(k.oid);
        if (k.error != null) {
            log("EOF for oid " + k.oid + " carries an error: " + k.error);
        }
        ((OutputStream) e.object).close();
    }

    /* ------------------------------------------------------------------ results of our calls */

    private Object decodeUserResult(Response r) {
        try {
            waitIo(r.lastIoId);
            if (r.exception != null) {
                throw new RemoteError("Response.exception", r.exception);
            }
            Object rv = r.returnValue;
            if (rv instanceof UserRequest.NormalResponse) {
                return readResult(((UserRequest.NormalResponse) rv).response, "NormalResponse");
            }
            if (rv instanceof UserRequest.ExceptionResponse) {
                UserRequest.ExceptionResponse er = (UserRequest.ExceptionResponse) rv;
                if (er.rawResponse != null) {
                    try {
                        throw new RemoteError("ExceptionResponse.rawResponse",
                                (Throwable) Wire.readPayload(er.rawResponse, peerCap, resolver));
                    } catch (ClassNotFoundException | ClassCastException e) {
                        log("note: rawResponse not decodable (" + e + "), using proxyResponse");
                    }
                }
                throw new RemoteError("ExceptionResponse.proxyResponse",
                        (Throwable) readResult(er.proxyResponse, "ExceptionResponse.proxyResponse"));
            }
            if (rv instanceof UserResponse) {
                UserResponse u = (UserResponse) rv;
                Object v = readResult(u.response, "UserResponse");
                if (u.isException) {
                    throw new RemoteError("UserResponse", (Throwable) v);
                }
                return v;
            }
            problem("Response " + r.id + " to a UserRequest has returnValue "
                    + (rv == null ? "null and no exception" : rv.getClass().getName()));
            throw new IOException("malformed Response " + r.id);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new java.util.concurrent.CompletionException(e);
        }
    }

    private Object readResult(byte[] b, String where) throws IOException {
        if (b == null) {
            problem(where + " has a null payload");
            throw new IOException(where + ": null payload");
        }
        try {
            return Wire.readPayload(b, peerCap, resolver);
        } catch (ClassNotFoundException | IOException e) {
            problem("cannot decode the agent's " + where + " payload (" + b.length + " bytes, "
                    + Wire.hexHead(b, 32) + "): " + e);
            throw new IOException(where + ": " + e, e);
        }
    }

    /** Class-loader tags the agent may write in MULTI_CLASSLOADER payloads (channel.md 4.4). */
    private final Wire.LoaderResolver resolver = new Wire.LoaderResolver() {
        @Override
        public ClassLoader ourLoader(int oid) throws IOException {
            ExportTable.Entry e = exports.get(oid);
            if (e == null || !(e.object instanceof LoaderExport)) {
                throw new IOException("class-loader tag -1 names oid " + oid + ", which is not one of our class loaders");
            }
            return ((LoaderExport) e.object).loader;
        }

        @Override
        public ClassLoader agentLoader(int oid) {
            log("note: agent exported its own class loader " + oid + " in a payload (tag -2); using ours");
            return Channel.class.getClassLoader();
        }
    };

    /* ------------------------------------------------------------------ termination */

    private void terminate(String reason) {
        if (!terminated.complete(reason)) {
            return;
        }
        log("channel terminated: " + reason);
        RequestAbortedException abort = new RequestAbortedException("channel terminated: " + reason);
        for (CompletableFuture<Response> f : pending.values()) {
            f.completeExceptionally(abort);
        }
        pending.clear();
        for (Future<?> f : executing.values()) {
            f.cancel(true);
        }
        for (Window w : windows.values()) {
            w.dead(abort);
        }
        ioLane.shutdown();
        try {
            ioLane.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ExportTable.Entry e : exports.clear()) {
            if (e.object instanceof Closeable) {
                try {
                    ((Closeable) e.object).close();
                } catch (IOException ignored) {
                    /* the sink is being dropped anyway */
                }
            }
        }
        workers.shutdown();
        try {
            link.close();
        } catch (IOException ignored) {
            /* already gone */
        }
    }

    /* ------------------------------------------------------------------ helpers */

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** One line describing a command with its interesting fields. */
    public static String describe(Command c) {
        String n = c.getClass().getName().replace("hudson.remoting.", "");
        if (c instanceof UserRequest) {
            UserRequest u = (UserRequest) c;
            return n + "(id=" + u.id + ", lastIoId=" + u.lastIoId + ", " + u.toString + ")";
        }
        if (c instanceof RPCRequest) {
            RPCRequest r = (RPCRequest) c;
            return n + "(id=" + r.id + ", oid=" + r.oid + ", " + r.declaringClassName + "." + r.methodName + ")";
        }
        if (c instanceof Response) {
            Response r = (Response) c;
            return n + "(id=" + r.id + ", lastIoId=" + r.lastIoId + ", "
                    + (r.exception != null ? "exception=" + r.exception
                    : "returnValue=" + (r.returnValue == null ? "null" : r.returnValue.getClass().getName()
                    .replace("hudson.remoting.", ""))) + ")";
        }
        if (c instanceof ProxyOutputStream.Chunk) {
            ProxyOutputStream.Chunk k = (ProxyOutputStream.Chunk) c;
            return n + "(ioId=" + k.ioId + ", oid=" + k.oid + ", requestId=" + k.requestId + ", " + k.buf.length + " bytes)";
        }
        if (c instanceof ProxyOutputStream.EOF) {
            ProxyOutputStream.EOF k = (ProxyOutputStream.EOF) c;
            return n + "(ioId=" + k.ioId + ", oid=" + k.oid + ", requestId=" + k.requestId + ", error=" + k.error + ")";
        }
        if (c instanceof ProxyOutputStream.Flush) {
            ProxyOutputStream.Flush k = (ProxyOutputStream.Flush) c;
            return n + "(ioId=" + k.ioId + ", oid=" + k.oid + ")";
        }
        if (c instanceof ProxyOutputStream.Ack) {
            ProxyOutputStream.Ack a = (ProxyOutputStream.Ack) c;
            return n + "(oid=" + a.oid + ", size=" + a.size + ")";
        }
        if (c instanceof UnexportCommand) {
            return n + "(oid=" + ((UnexportCommand) c).oid + ")";
        }
        if (c instanceof Request.Cancel) {
            return n + "(id=" + ((Request.Cancel) c).id + ")";
        }
        return n;
    }

    /** Our export of a class loader, as remoting's RemoteClassLoader$ClassLoaderProxy (IClassLoader). */
    static final class LoaderExport implements RemoteClassLoader.IClassLoader {
        final ClassLoader loader;

        LoaderExport(ClassLoader loader) {
            this.loader = loader;
        }

        @Override
        public String getName() {
            return "testctl:" + loader;
        }
    }

    /** Export #1: the channel as hudson.remoting.IChannel (channel.md 6.4). */
    static final class ChannelExport implements IChannel {
        @Override
        public Object getProperty(Object key) {
            return null;
        }

        @Override
        public Object waitForProperty(Object key) {
            throw new UnsupportedOperationException("test controller has no channel property " + key);
        }
    }

    /** Writer-side flow-control window for one agent oid (channel.md 7.3). */
    private static final class Window {
        private final boolean throttled;
        private int available = PIPE_WINDOW;
        private Throwable dead;
        private boolean isDead;

        Window(boolean throttled) {
            this.throttled = throttled;
        }

        /** Wait for credit and take up to {@code want} bytes of it; returns how many may be sent. */
        synchronized int take(int want) throws IOException {
            if (!throttled) {
                return Math.min(want, PIPE_WINDOW / 2);
            }
            int min = Math.min(PIPE_WINDOW / 10, want);
            long deadline = System.currentTimeMillis() + 60_000;
            while (!isDead && available < min) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    throw new IOException("no Ack from the agent for 60 s (window " + available + " bytes)");
                }
                try {
                    wait(left);
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
            }
            if (isDead) {
                throw new IOException("Pipe is already closed", dead);
            }
            int n = Math.min(Math.min(available, want), PIPE_WINDOW / 2);
            available -= n;
            return n;
        }

        synchronized void ack(int size) {
            available += size;
            notifyAll();
        }

        synchronized void dead(Throwable cause) {
            isDead = true;
            dead = cause;
            notifyAll();
        }
    }

    /** ProxyOutputStream: writes to the agent's export oid. */
    private final class AgentSink extends OutputStream {
        private final int oid;
        private final Window window;
        private boolean closed;

        AgentSink(int oid, Window window) {
            this.oid = oid;
            this.window = window;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                int n = window.take(len);
                send(new ProxyOutputStream.Chunk(newIoId(), oid, 0, Arrays.copyOfRange(b, off, off + n)));
                off += n;
                len -= n;
            }
        }

        @Override
        public void flush() throws IOException {
            send(new ProxyOutputStream.Flush(newIoId(), oid, 0));
        }

        @Override
        public void close() throws IOException {
            if (!closed) {
                closed = true;
                send(new ProxyOutputStream.EOF(newIoId(), oid, 0, null));
            }
        }
    }
}
