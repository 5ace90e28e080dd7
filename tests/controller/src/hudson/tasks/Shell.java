package hudson.tasks;

import jenkins.security.MasterToSlaveCallable;

/** Holder of {@code hudson.tasks.Shell$DescriptorImpl$Shellinterpreter} (callables.md A.3 step 5, B.4). */
public final class Shell {
    private Shell() {
    }

    /** Holder. */
    public static final class DescriptorImpl {
        private DescriptorImpl() {
        }

        /** {@code hudson.tasks.Shell$DescriptorImpl$Shellinterpreter}: suid 1, no fields. */
        public static final class Shellinterpreter extends MasterToSlaveCallable {
            private static final long serialVersionUID = 1L;

            @Override
            public String toString() {
                return "hudson.tasks.Shell$DescriptorImpl$Shellinterpreter";
            }
        }
    }
}
