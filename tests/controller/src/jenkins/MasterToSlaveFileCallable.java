package jenkins;

import hudson.FilePath;

/** Wire shape of {@code jenkins.MasterToSlaveFileCallable} (suid 1, no fields). */
public abstract class MasterToSlaveFileCallable implements FilePath.FileCallable {
    private static final long serialVersionUID = 1L;
}
