package nativeagent.testctl.channel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The controller's export table (channel.md 6.1): oid -> (object, interfaces, reference count).
 * Oids start at 1 (oid 1 = the channel as hudson.remoting.IChannel), are never reused, and exporting
 * the same object again returns the same oid with one more reference. Thread-safe.
 */
public final class ExportTable {
    /** One exported object. */
    public static final class Entry {
        public final int oid;
        public final Object object;
        public final Class<?>[] interfaces;
        private int refs;

        Entry(int oid, Object object, Class<?>[] interfaces) {
            this.oid = oid;
            this.object = object;
            this.interfaces = interfaces;
        }

        public synchronized int refs() {
            return refs;
        }
    }

    private final Map<Integer, Entry> byOid = new HashMap<>();
    private final Map<Object, Entry> byObject = new IdentityHashMap<>();
    private int nextOid = 1;

    public synchronized int export(Object o, Class<?>... interfaces) {
        Entry e = byObject.get(o);
        if (e == null) {
            e = new Entry(nextOid++, o, interfaces);
            byOid.put(e.oid, e);
            byObject.put(o, e);
        }
        e.refs++;
        return e.oid;
    }

    public synchronized Entry get(int oid) {
        return byOid.get(oid);
    }

    /** Drop one reference; returns the entry if it was removed now, else null (unknown oid: null). */
    public synchronized Entry unexport(int oid) {
        Entry e = byOid.get(oid);
        if (e == null) {
            return null;
        }
        e.refs--;
        if (e.refs > 0) {
            return null;
        }
        byOid.remove(oid);
        byObject.remove(e.object);
        return e;
    }

    /** Remove everything (channel termination); returns the removed entries. */
    public synchronized List<Entry> clear() {
        List<Entry> all = new ArrayList<>(byOid.values());
        byOid.clear();
        byObject.clear();
        return all;
    }

    /** The next oid that would be allocated ("iota" in remoting's error messages). */
    public synchronized int iota() {
        return nextOid;
    }
}
