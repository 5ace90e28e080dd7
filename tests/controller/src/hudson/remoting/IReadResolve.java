package hudson.remoting;

/**
 * {@code hudson.remoting.IReadResolve}: the second interface of every remoting proxy
 * ({@code [the exported interface, hudson.remoting.IReadResolve]}, channel.md 6.2).
 */
public interface IReadResolve {
    Object readResolve();
}
