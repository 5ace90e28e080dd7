package hudson.util;

import jenkins.security.MasterToSlaveCallable;

/** Holder of {@code hudson.util.RemotingDiagnostics}' callables (callables.md B.8, suid 1 each). */
public final class RemotingDiagnostics {
    private RemotingDiagnostics() {
    }

    public static final class GetSystemProperties extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
    }

    public static final class GetThreadDump extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
    }

    public static final class GetHeapDump extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
    }

    public static final class Script extends MasterToSlaveCallable {
        private static final long serialVersionUID = 1L;
        private final String script;
        private transient ClassLoader cl;

        public Script(String script) {
            this.script = script;
        }
    }
}
