package hudson;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;

/**
 * Wire shape of {@code hudson.FilePath} (callables.md 0.3, jenkins-classes.tsv): suid 1, flags 0x03,
 * field {@code remote}; custom data = one boolean, true when the path is local to the writer
 * ("channel == null"). A FilePath the test controller makes for an agent path writes false.
 * Also the envelopes {@code FilePath$CallableWith} (a non-static inner class: field {@code this$0})
 * and {@code FilePath$FileCallableWrapper}, and the interface {@code FilePath$FileCallable}.
 */
public final class FilePath implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String remote;
    /** True for a path on the writer's side (the agent writes true for its own paths). */
    private transient boolean writerLocal;

    /** A path on the agent. */
    public FilePath(String remote) {
        this.remote = remote;
    }

    public String getRemote() {
        return remote;
    }

    /** What the last reader saw in the custom data. */
    public boolean isWriterLocal() {
        return writerLocal;
    }

    private void writeObject(ObjectOutputStream oos) throws IOException {
        oos.defaultWriteObject();
        oos.writeBoolean(false); /* we hold "a channel" to the agent: the path is theirs */
    }

    private void readObject(ObjectInputStream ois) throws IOException, ClassNotFoundException {
        ois.defaultReadObject();
        writerLocal = ois.readBoolean();
    }

    /** {@code hudson.FilePath$FileCallable}: an interface, never described on the wire. */
    public interface FileCallable extends Serializable {
    }

    /** {@code FilePath.asCallableWith(task)}: suid 1, fields {@code task}, {@code this$0}. */
    public final class CallableWith implements Serializable {
        private static final long serialVersionUID = 1L;

        private final FileCallable task;

        public CallableWith(FileCallable task) {
            this.task = task;
        }

        @Override
        public String toString() {
            return "hudson.FilePath$CallableWith{" + task.getClass().getName() + ", " + remote + "}";
        }
    }

    public CallableWith asCallableWith(FileCallable task) {
        return new CallableWith(task);
    }

    /** {@code FilePath.act(FileCallable)}: suid 1, fields {@code callable}, {@code filePath}. */
    public static final class FileCallableWrapper implements Serializable {
        private static final long serialVersionUID = 1L;

        private final FileCallable callable;
        private final FilePath filePath;
        private transient ClassLoader classLoader;

        public FileCallableWrapper(FileCallable callable, FilePath filePath) {
            this.callable = callable;
            this.filePath = filePath;
        }

        @Override
        public String toString() {
            return "hudson.FilePath$FileCallableWrapper{" + callable.getClass().getName() + ", " + filePath.remote + "}";
        }
    }

    @Override
    public String toString() {
        return remote;
    }
}
