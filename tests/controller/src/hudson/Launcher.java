package hudson;

import hudson.model.TaskListener;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import jenkins.MasterToSlaveFileCallable;
import jenkins.security.MasterToSlaveCallable;
import jenkins.tasks.filters.EnvVarsFilterRuleWrapper;

/**
 * Holder of the wire shapes of {@code hudson.Launcher}'s nested classes (callables.md A.3, B.4, B.9;
 * jenkins-classes.tsv). Only the nested names, suids and fields matter on the wire. The FilePath
 * tasks of flow A.3 are package-private top-level classes at the end of this file, named
 * {@code FilePath$...} so that their binary names are the real ones; make them with the factories.
 */
public final class Launcher {
    private Launcher() {
    }

    /**
     * {@code hudson.Launcher$RemoteLaunchCallable} as current cores (2.485+) send it: a record, so
     * suid 0L, flags 0x02, the components as fields in sorted order, no superclass (callables.md 0.1,
     * B.4). Older cores send a class with the same field names (suid 1L, super MasterToSlaveCallable);
     * the agent matches by names only.
     */
    public record RemoteLaunchCallable(
            List<String> cmd,
            boolean[] masks,
            String[] env,
            InputStream in,
            boolean reverseStdin,
            OutputStream out,
            boolean reverseStdout,
            OutputStream err,
            boolean reverseStderr,
            boolean quiet,
            String workDir,
            TaskListener listener,
            TaskListener stdoutListener,
            EnvVarsFilterRuleWrapper envVarsFilterRuleWrapper) implements Serializable {

        @Override
        public String toString() {
            return "hudson.Launcher$RemoteLaunchCallable" + cmd;
        }
    }

    /**
     * {@code hudson.Launcher$RemoteProcess}: the interface the agent exports its process as (B.9). The
     * test controller treats the proxy as data and calls it with {@code Channel.rpc}.
     */
    public interface RemoteProcess {
        int join() throws InterruptedException, java.io.IOException;

        void kill() throws java.io.IOException, InterruptedException;

        boolean isAlive() throws java.io.IOException, InterruptedException;

        IOTriplet getIOtriplet();
    }

    /** {@code hudson.Launcher$IOTriplet}: suid 1, 0x02, fields stderr, stdin, stdout (B.4). */
    public static final class IOTriplet implements Serializable {
        private static final long serialVersionUID = 1L;

        public InputStream stdout;
        public InputStream stderr;
        public OutputStream stdin;

        @Override
        public String toString() {
            return "IOTriplet{stdout=" + stdout + ", stderr=" + stderr + ", stdin=" + stdin + "}";
        }
    }

    /** Holder for {@code hudson.Launcher$RemoteLauncher$KillTask}. */
    public static final class RemoteLauncher {
        private RemoteLauncher() {
        }

        /**
         * {@code hudson.Launcher$RemoteLauncher$KillTask}: suid 1, field {@code modelEnvVars:Ljava/util/Map;},
         * super MasterToSlaveCallable (B.4): kill every process whose environment holds all pairs.
         */
        public static final class KillTask extends MasterToSlaveCallable {
            private static final long serialVersionUID = 1L;

            private final Map<String, String> modelEnvVars;

            public KillTask(Map<String, String> modelEnvVars) {
                this.modelEnvVars = modelEnvVars;
            }

            @Override
            public String toString() {
                return "hudson.Launcher$RemoteLauncher$KillTask" + modelEnvVars.keySet();
            }
        }
    }

    /** {@code hudson.FilePath$Mkdirs} (B.3). */
    public static FilePath.FileCallable mkdirs() {
        return new FilePath$Mkdirs();
    }

    /** {@code hudson.FilePath$Delete} (B.3). */
    public static FilePath.FileCallable delete() {
        return new FilePath$Delete();
    }

    /** {@code hudson.FilePath$CreateTextTempFile} (B.3). */
    public static FilePath.FileCallable createTextTempFile(boolean inThisDirectory, String prefix, String suffix,
            String contents) {
        return new FilePath$CreateTextTempFile(inThisDirectory, prefix, suffix, contents);
    }
}

/** {@code hudson.FilePath$Mkdirs}: suid 1, no fields, super MasterToSlaveFileCallable (B.3). */
final class FilePath$Mkdirs extends MasterToSlaveFileCallable {
    private static final long serialVersionUID = 1L;

    @Override
    public String toString() {
        return "hudson.FilePath$Mkdirs";
    }
}

/** {@code hudson.FilePath$Delete}: suid 1, no fields, super MasterToSlaveFileCallable (B.3). */
final class FilePath$Delete extends MasterToSlaveFileCallable {
    private static final long serialVersionUID = 1L;

    @Override
    public String toString() {
        return "hudson.FilePath$Delete";
    }
}

/**
 * {@code hudson.FilePath$CreateTextTempFile}: suid 1, fields {@code inThisDirectory:Z, contents, prefix,
 * suffix}, super MasterToSlaveFileCallable (B.3). Returns the absolute path.
 */
final class FilePath$CreateTextTempFile extends MasterToSlaveFileCallable {
    private static final long serialVersionUID = 1L;

    private final boolean inThisDirectory;
    private final String prefix;
    private final String suffix;
    private final String contents;

    FilePath$CreateTextTempFile(boolean inThisDirectory, String prefix, String suffix, String contents) {
        this.inThisDirectory = inThisDirectory;
        this.prefix = prefix;
        this.suffix = suffix;
        this.contents = contents;
    }

    @Override
    public String toString() {
        return "hudson.FilePath$CreateTextTempFile";
    }
}
