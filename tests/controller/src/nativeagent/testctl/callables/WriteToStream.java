package nativeagent.testctl.callables;

import hudson.remoting.RemoteOutputStream;
import java.io.Serializable;

/**
 * Test-only callable: "write the UTF-8 bytes of {@link #text} into {@link #out}, close it, return null".
 * SUID 1, fields {@code out:Lhudson/remoting/RemoteOutputStream;, text:Ljava/lang/String;}. An agent
 * implementing it sends ProxyOutputStream$Chunk.. then $EOF to out's oid before its Response.
 */
public final class WriteToStream implements Serializable {
    private static final long serialVersionUID = 1L;

    public final RemoteOutputStream out;
    public final String text;

    public WriteToStream(RemoteOutputStream out, String text) {
        this.out = out;
        this.text = text;
    }
}
