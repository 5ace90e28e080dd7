package hudson.remoting;

import java.io.IOException;

/**
 * {@code hudson.remoting.ProxyException}: extends IOException, no fields. The real class declares no
 * serialVersionUID; 1332793125360580541 is the computed value from remoting-classes.tsv (also seen in
 * golden 05-cmd-a2c-005.bin).
 */
public class ProxyException extends IOException {
    private static final long serialVersionUID = 1332793125360580541L;

    public ProxyException(String message) {
        super(message);
    }
}
