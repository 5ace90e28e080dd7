package hudson;

/** Wire shape of the enum {@code hudson.Platform} (an enum travels by constant name). */
public enum Platform {
    WINDOWS, UNIX, DARWIN
}
