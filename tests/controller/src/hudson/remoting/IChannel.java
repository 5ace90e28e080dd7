package hudson.remoting;

/**
 * {@code hudson.remoting.IChannel}: the remote interface of a channel, exported by each side as oid 1
 * (channel.md 6.4). Peers call it through {@code RPCRequest{oid=1, declaringClassName="hudson.remoting.IChannel"}}.
 */
public interface IChannel {
    Object getProperty(Object key);

    Object waitForProperty(Object key) throws InterruptedException;
}
