package hudson;

import java.util.TreeMap;
import jenkins.security.MasterToSlaveCallable;

/**
 * Wire shape of {@code hudson.EnvVars} (jenkins-classes.tsv: suid 4320331661987259022, field
 * {@code platform:Lhudson/Platform;}, superclass java.util.TreeMap with comparator
 * String.CASE_INSENSITIVE_ORDER).
 */
public class EnvVars extends TreeMap<String, String> {
    private static final long serialVersionUID = 4320331661987259022L;

    private Platform platform;

    public EnvVars() {
        super(String.CASE_INSENSITIVE_ORDER);
    }

    public Platform getPlatform() {
        return platform;
    }

    public void setPlatform(Platform p) {
        platform = p;
    }

    /** {@code hudson.EnvVars$GetEnvVars}: suid 1, no fields; returns the agent's EnvVars. */
    public static final class GetEnvVars extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;

        @Override
        public String toString() {
            return "hudson.EnvVars$GetEnvVars";
        }
    }
}
