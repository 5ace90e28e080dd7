package hudson.model;

import java.io.Serializable;

/** {@code hudson.model.TaskListener}: an interface (never described on the wire); the field type of listeners. */
public interface TaskListener extends Serializable {
}
