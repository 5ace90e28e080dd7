package jenkins.security;

import java.io.Serializable;

/**
 * Wire shape of Jenkins' {@code jenkins.security.MasterToSlaveCallable} (jenkins-classes.tsv: suid 1,
 * no fields, no serializable superclass). Only the serialized form matters to the test controller.
 */
public abstract class MasterToSlaveCallable implements Serializable {
    private static final long serialVersionUID = 1L;
}
