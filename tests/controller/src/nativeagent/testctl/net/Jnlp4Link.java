package nativeagent.testctl.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import javax.net.ssl.SSLSocket;
import nativeagent.testctl.link.CommandLink;

/** The command stream of a JNLP4-connect connection: chunk-framed commands inside TLS. */
final class Jnlp4Link implements CommandLink {
    private final Socket raw;
    private final SSLSocket tls;
    private final InputStream in;
    private final OutputStream out;
    private final long peerCap;
    private final long ourCap;
    private final String agentName;

    Jnlp4Link(Socket raw, SSLSocket tls, InputStream in, OutputStream out, long peerCap, long ourCap,
            String agentName) {
        this.raw = raw;
        this.tls = tls;
        this.in = in;
        this.out = out;
        this.peerCap = peerCap;
        this.ourCap = ourCap;
        this.agentName = agentName;
    }

    @Override
    public void send(byte[] command) throws IOException {
        byte[] framed = Wire.frameCommand(command);
        synchronized (out) {
            out.write(framed);
            out.flush();
        }
    }

    @Override
    public byte[] receive() throws IOException {
        synchronized (in) {
            return Wire.readCommand(in);
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
        return "JNLP4-connect";
    }

    @Override
    public String agentName() {
        return agentName;
    }

    /** Orderly: TLS close_notify, then the TCP connection is closed. */
    @Override
    public void close() throws IOException {
        tls.close();
    }

    /** Abrupt: RST (SO_LINGER 0) on the TCP socket, no close_notify. */
    @Override
    public void abort() {
        try {
            raw.setSoLinger(true, 0);
        } catch (IOException e) {
            /* closing anyway */
        }
        try {
            raw.close();
        } catch (IOException e) {
            /* ignore */
        }
    }
}
