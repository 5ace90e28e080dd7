package nativeagent.testctl.callables;

import java.io.IOException;
import java.io.Serializable;

/** Test-only callable: "throw java.io.IOException(message)". SUID 1, field {@code message:Ljava/lang/String;}. */
public final class Fail implements Serializable {
    private static final long serialVersionUID = 1L;

    public final String message;

    public Fail(String message) {
        this.message = message;
    }

    /** What an agent implementing it does. */
    public Object call() throws IOException {
        throw new IOException(message);
    }
}
