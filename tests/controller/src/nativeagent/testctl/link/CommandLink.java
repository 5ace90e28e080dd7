package nativeagent.testctl.link;

/**
 * A connected agent after handshake + capability exchange: carries whole commands.
 *
 * <p>This is the contract between the network half of the test controller (package
 * {@code nativeagent.testctl.net}: HTTP, JNLP4-connect, WebSocket) and the channel half
 * (package {@code nativeagent.testctl.channel}: remoting commands and scenarios).
 */
public interface CommandLink extends java.io.Closeable {
    /** Send one complete command (a whole Java serialization stream); the link does the chunk
     *  framing: chunks of <= 8192 payload bytes, 0x8000 = more follow, never a zero-length
     *  final chunk (JNLP4: over TLS; WebSocket: one chunk per binary message). Thread-safe. */
    void send(byte[] command) throws java.io.IOException;

    /** Block until the next complete command (chunks reassembled); null at orderly EOF. */
    byte[] receive() throws java.io.IOException;

    /** The agent's advertised capability mask. */
    long peerCapability();

    /** What we advertised (0x1FE, like real Jenkins). */
    long ourCapability();

    /** "JNLP4-connect" or "WebSocket". */
    String transportName();

    /** The agent's node name (from its headers). */
    String agentName();

    /** Cut the connection abruptly (fault injection), without a close handshake. */
    void abort();
}
