package hudson.util;

import hudson.model.TaskListener;

/** {@code hudson.util.AbstractTaskListener}: suid 7217626701881006422, no fields (jenkins-classes.tsv). */
public abstract class AbstractTaskListener implements TaskListener {
    private static final long serialVersionUID = 7217626701881006422L;
}
