package org.csanchez.jenkins.plugins.kubernetes;

import jenkins.security.MasterToSlaveCallable;

/** Holder of the kubernetes plugin's {@code KubernetesSlave$SlaveDisconnector} (suid 8683427258340193283). */
public final class KubernetesSlave {
    private KubernetesSlave() {
    }

    public static final class SlaveDisconnector extends MasterToSlaveCallable {
        private static final long serialVersionUID = 8683427258340193283L;
    }
}
