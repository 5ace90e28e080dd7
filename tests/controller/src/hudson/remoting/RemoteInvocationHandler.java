package hudson.remoting;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * {@code hudson.remoting.RemoteInvocationHandler}: SUID 1, flags 0x03 (writeObject), fields
 * {@code autoUnexportByCaller:Z, goingHome:Z, oid:I, recordCreatedAt:Z, userProxy:Z, userSpace:Z,
 * origin:Ljava/lang/Throwable;}; custom data = the default field values, then TC_ENDBLOCKDATA (channel.md 6.2).
 *
 * <p>A remote reference travels as a {@code java.lang.reflect.Proxy} whose {@code h} is this handler.
 * In the test controller the proxy is only data: method calls are not forwarded (scenarios call
 * {@code Channel.rpc} with the oid instead).
 */
public final class RemoteInvocationHandler implements InvocationHandler, Serializable {
    private static final long serialVersionUID = 1L;

    public int oid;
    public boolean userProxy;
    public Throwable origin;
    public boolean autoUnexportByCaller;
    public boolean userSpace;
    public boolean recordCreatedAt;
    public boolean goingHome;

    public RemoteInvocationHandler(int oid, boolean userProxy, boolean userSpace, boolean recordCreatedAt,
            boolean autoUnexportByCaller, Throwable origin) {
        this.oid = oid;
        this.userProxy = userProxy;
        this.userSpace = userSpace;
        this.recordCreatedAt = recordCreatedAt;
        this.autoUnexportByCaller = autoUnexportByCaller;
        this.origin = origin;
    }

    /** A proxy implementing {@code [iface, IReadResolve]} around a handler, as remoting writes it. */
    public static Object wrap(Class<?> iface, RemoteInvocationHandler h) {
        return Proxy.newProxyInstance(iface.getClassLoader(), new Class<?>[] {iface, IReadResolve.class}, h);
    }

    /** The handler behind a remoting proxy, or null if {@code o} is not one. */
    public static RemoteInvocationHandler unwrap(Object o) {
        if (o != null && Proxy.isProxyClass(o.getClass())) {
            InvocationHandler h = Proxy.getInvocationHandler(o);
            if (h instanceof RemoteInvocationHandler) {
                return (RemoteInvocationHandler) h;
            }
        }
        return null;
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) {
        switch (method.getName()) {
            case "readResolve":
                return proxy;
            case "hashCode":
                return oid;
            case "equals":
                return proxy == args[0];
            case "toString":
                return "Proxy(oid=" + oid + ",userProxy=" + userProxy + ",goingHome=" + goingHome + ")";
            default:
                throw new UnsupportedOperationException(
                        "test controller proxies do not forward calls; use Channel.rpc(oid=" + oid + ")");
        }
    }

    private void writeObject(ObjectOutputStream oos) throws IOException {
        oos.defaultWriteObject();
    }

    private void readObject(ObjectInputStream ois) throws IOException, ClassNotFoundException {
        ois.defaultReadObject();
    }

    /**
     * {@code hudson.remoting.RemoteInvocationHandler$RPCRequest}: SUID 1, fields {@code oid:I,
     * arguments:[Ljava/lang/Object;, declaringClassName:Ljava/lang/String;, methodName:Ljava/lang/String;,
     * types:[Ljava/lang/String;}. A method call on an exported object: a command of its own (proxy with
     * userProxy=false) or the callable inside a UserRequest (userProxy=true).
     */
    public static class RPCRequest extends Request {
        private static final long serialVersionUID = 1L;

        public final int oid;
        public final String methodName;
        public final String[] types;
        public final Object[] arguments;
        public final String declaringClassName;

        public RPCRequest(int oid, String declaringClassName, String methodName, String[] types,
                Object[] arguments, boolean recordCreatedAt) {
            super(recordCreatedAt);
            this.oid = oid;
            this.declaringClassName = declaringClassName;
            this.methodName = methodName;
            this.types = types;
            this.arguments = arguments;
        }

        @Override
        public String toString() {
            return "RPCRequest(" + oid + "," + methodName + ")";
        }
    }

    /** {@code hudson.remoting.RemoteInvocationHandler$UserRPCRequest}: SUID -9185841650347902580, no own fields. */
    public static final class UserRPCRequest extends RPCRequest {
        private static final long serialVersionUID = -9185841650347902580L;

        public UserRPCRequest(int oid, String declaringClassName, String methodName, String[] types,
                Object[] arguments, boolean recordCreatedAt) {
            super(oid, declaringClassName, methodName, types, arguments, recordCreatedAt);
        }
    }
}
