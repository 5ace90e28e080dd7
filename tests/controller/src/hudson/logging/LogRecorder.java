package hudson.logging;

import java.util.logging.Level;
import jenkins.security.MasterToSlaveCallable;

/** Holder of {@code hudson.logging.LogRecorder$SetLevel} (fields level, name; real suid computed, not in the spec). */
public final class LogRecorder {
    private LogRecorder() {
    }

    public static final class SetLevel extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
        private final String name;
        private final Level level;

        public SetLevel(String name, Level level) {
            this.name = name;
            this.level = level;
        }
    }
}
