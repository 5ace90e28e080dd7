package nativeagent.testctl.callables;

import java.io.Serializable;

/**
 * Test-only callable (not a Jenkins class): "return {@link #text}". SUID 1, field {@code text:Ljava/lang/String;}.
 * An agent that does not implement it must answer with an error naming this class, and stay up.
 */
public final class Echo implements Serializable {
    private static final long serialVersionUID = 1L;

    public final String text;

    public Echo(String text) {
        this.text = text;
    }

    /** What an agent implementing it returns. */
    public String call() {
        return text;
    }
}
