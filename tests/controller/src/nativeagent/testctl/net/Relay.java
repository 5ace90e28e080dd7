package nativeagent.testctl.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny TCP relay for tests of cut and stalled links: it listens on 127.0.0.1 (ephemeral port),
 * forwards every connection to --target, and obeys a control file.
 *
 * <pre>
 * java -cp CLASSES nativeagent.testctl.net.Relay --state-file FILE --target HOST:PORT --control FILE
 * </pre>
 *
 * State file (written atomically; rewritten at every new connection and command):
 * {@code port=P}, {@code pid=N}, {@code connections=N} (accepted so far), {@code commands=N}
 * (control-file commands applied so far: wait for it to grow after writing the control file).
 * The control file is polled every 20 ms; whenever its content changes, its first word is a
 * command (anything after it is ignored, so "drop 2" repeats a drop):
 * <ul>
 * <li>{@code pass}: forward normally (the default; also un-freezes);</li>
 * <li>{@code freeze}: forward nothing, in both directions, on current and new connections, not
 *     even an orderly close (FIN): the sockets stay open (a stalled network);</li>
 * <li>{@code drop}: reset (RST) every current connection; new ones are forwarded;</li>
 * <li>{@code close}: close (FIN) every current connection; new ones are forwarded;</li>
 * <li>{@code refuse}: close new connections at once (until pass).</li>
 * </ul>
 */
public final class Relay {
    private final String host;
    private final int port;
    private final Path state;
    private final Path control;
    private final ServerSocket server;
    private final List<Socket[]> conns = new ArrayList<>();
    private final Object freezeLock = new Object();
    private volatile boolean frozen;
    private volatile boolean refusing;
    private int accepted;
    /** Commands applied so far (a test waits for this to grow after writing the control file). */
    private int commands;

    private Relay(String target, Path state, Path control) throws IOException {
        int colon = target.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("--target must be HOST:PORT");
        }
        host = target.substring(0, colon);
        port = Integer.parseInt(target.substring(colon + 1));
        this.state = state;
        this.control = control;
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    private static void log(String msg) {
        System.err.println("relay: " + msg);
    }

    public static void main(String[] args) throws Exception {
        String stateFile = null;
        String target = null;
        String controlFile = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--state-file":
                case "--listen-state":
                    stateFile = args[i + 1];
                    break;
                case "--target":
                    target = args[i + 1];
                    break;
                case "--control":
                    controlFile = args[i + 1];
                    break;
                default:
                    System.err.println("relay: unknown option " + args[i]);
                    System.exit(2);
            }
        }
        if (stateFile == null || target == null || controlFile == null) {
            System.err.println("usage: Relay --state-file FILE --target HOST:PORT --control FILE");
            System.exit(2);
        }
        Relay r = new Relay(target, Path.of(stateFile), Path.of(controlFile));
        r.writeState();
        log("listening on 127.0.0.1:" + r.server.getLocalPort() + " -> " + target
                + "; commands in " + controlFile + ": pass, freeze, drop, close, refuse");
        Controller.thread("relay-control", r::watchControl);
        r.acceptLoop();
    }

    private synchronized void writeState() throws IOException {
        String s = "port=" + server.getLocalPort() + "\npid=" + ProcessHandle.current().pid()
                + "\nconnections=" + accepted + "\ncommands=" + commands + "\n";
        Path tmp = state.resolveSibling(state.getFileName() + ".tmp");
        Files.writeString(tmp, s);
        Files.move(tmp, state, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private void watchControl() {
        String last = "";
        while (true) {
            String now = "";
            try {
                if (Files.exists(control)) {
                    now = Files.readString(control).trim();
                }
            } catch (IOException e) {
                /* being rewritten; try again */
            }
            if (!now.equals(last)) {
                last = now;
                String cmd = now.isEmpty() ? "pass" : now.split("\\s+")[0];
                command(cmd);
                synchronized (this) {
                    commands++;
                }
                try {
                    writeState();
                } catch (IOException e) {
                    log("cannot write the state file: " + e);
                }
            }
            Controller.sleep(20);
        }
    }

    private void command(String cmd) {
        switch (cmd) {
            case "pass":
                refusing = false;
                synchronized (freezeLock) {
                    frozen = false;
                    freezeLock.notifyAll();
                }
                log("pass: forwarding");
                break;
            case "freeze":
                frozen = true;
                log("freeze: holding all bytes, connections stay open");
                break;
            case "refuse":
                refusing = true;
                log("refuse: new connections are closed at once");
                break;
            case "drop":
            case "close":
                List<Socket[]> now;
                synchronized (conns) {
                    now = new ArrayList<>(conns);
                    conns.clear();
                }
                for (Socket[] pair : now) {
                    for (Socket s : pair) {
                        try {
                            if (cmd.equals("drop")) {
                                s.setSoLinger(true, 0);
                            }
                            s.close();
                        } catch (IOException e) {
                            /* already closed */
                        }
                    }
                }
                log(cmd + ": " + (cmd.equals("drop") ? "reset " : "closed ") + now.size() + " connection(s)");
                break;
            default:
                log("unknown command \"" + cmd + "\" ignored");
        }
    }

    private void acceptLoop() throws IOException {
        while (true) {
            Socket client = server.accept();
            synchronized (this) {
                accepted++;
            }
            writeState();
            if (refusing) {
                log("connection " + accepted + " refused (closed at once)");
                client.close();
                continue;
            }
            Socket upstream;
            try {
                upstream = new Socket(host, port);
            } catch (IOException e) {
                log("connection " + accepted + ": cannot reach " + host + ":" + port + ": " + e.getMessage());
                client.close();
                continue;
            }
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            Socket[] pair = {client, upstream};
            synchronized (conns) {
                conns.add(pair);
            }
            log("connection " + accepted + " from port " + client.getPort() + " relayed");
            Controller.thread("relay-up", () -> pump(client, upstream, pair));
            Controller.thread("relay-down", () -> pump(upstream, client, pair));
        }
    }

    /** Block while frozen. */
    private void awaitThaw() throws InterruptedException {
        synchronized (freezeLock) {
            while (frozen) {
                freezeLock.wait();
            }
        }
    }

    private void pump(Socket from, Socket to, Socket[] pair) {
        byte[] buf = new byte[16384];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                awaitThaw();
                out.write(buf, 0, n);
                out.flush();
            }
            /* orderly EOF: a stalled network does not carry the FIN either */
            awaitThaw();
            /* pass the half-close on; the last direction to end closes both */
            synchronized (pair) {
                to.shutdownOutput();
                if (!from.isOutputShutdown()) {
                    return;
                }
            }
            from.close();
            to.close();
        } catch (IOException | InterruptedException e) {
            /* a drop, or a reset by one peer: reset the other peer too (once thawed: a stalled
             * network carries no RST either) */
            if (e instanceof IOException) {
                try {
                    awaitThaw();
                } catch (InterruptedException e2) {
                    Thread.currentThread().interrupt();
                }
            }
            for (Socket s : pair) {
                try {
                    s.setSoLinger(true, 0);
                    s.close();
                } catch (IOException e2) {
                    /* ignore */
                }
            }
        } finally {
            if (from.isClosed() || to.isClosed()) {
                synchronized (conns) {
                    conns.remove(pair);
                }
            }
        }
    }
}
