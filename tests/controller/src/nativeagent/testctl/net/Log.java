package nativeagent.testctl.net;

import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The narrator: every line goes to stderr (and to the --log file) prefixed {@code testctl: },
 * so that a newcomer can follow a connection step by step.
 */
public final class Log {
    private static PrintStream file;
    private static final long START = System.nanoTime();

    private Log() {
    }

    public static synchronized void toFile(String path) throws IOException {
        file = new PrintStream(new FileOutputStream(path, true), true, StandardCharsets.UTF_8);
    }

    public static synchronized void info(String msg) {
        String line = "testctl: " + msg;
        System.err.println(line);
        System.err.flush();
        if (file != null) {
            file.println(String.format("%8.3f %s", (System.nanoTime() - START) / 1e9, line));
        }
    }

    /** A PrintStream for a scenario: each line is logged, and the last "FAIL: why" is kept. */
    public static final class Capture {
        public final PrintStream stream;
        public volatile String lastFailure;

        Capture() {
            OutputStream sink = new OutputStream() {
                private final ByteArrayOutputStream line = new ByteArrayOutputStream();

                @Override
                public synchronized void write(int b) {
                    if (b != '\n') {
                        line.write(b);
                        return;
                    }
                    String s = line.toString(StandardCharsets.UTF_8);
                    line.reset();
                    if (s.startsWith("testctl: ")) {
                        s = s.substring("testctl: ".length());
                    }
                    int fail = s.indexOf("FAIL: ");
                    if (fail >= 0) {
                        lastFailure = s;
                    }
                    info(s);
                }

                @Override
                public synchronized void flush() {
                    if (line.size() > 0) {
                        write('\n');
                    }
                }
            };
            stream = new PrintStream(sink, true, StandardCharsets.UTF_8);
        }
    }

    public static Capture capture() {
        return new Capture();
    }
}
