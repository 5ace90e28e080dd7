import hudson.EnvVars;
import hudson.FilePath;
import hudson.Platform;
import hudson.logging.LogRecorder;
import hudson.model.Slave;
import hudson.node_monitors.ArchitectureMonitor;
import hudson.node_monitors.DiskSpaceMonitorDescriptor;
import hudson.node_monitors.ResponseTimeMonitor;
import hudson.node_monitors.SwapSpaceMonitor;
import hudson.node_monitors.TemporarySpaceMonitor;
import hudson.slaves.ChannelPinger;
import hudson.slaves.SlaveComputer;
import hudson.util.RemotingDiagnostics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import jenkins.MasterToSlaveFileCallable;
import jenkins.slaves.StandardOutputSwapper;
import jenkins.slaves.restarter.JnlpSlaveRestarterInstaller;
import jenkins.slaves.restarter.SlaveRestarter;
import jenkins.slaves.restarter.UnixSlaveRestarter;
import jenkins.util.SystemProperties;
import org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave;

/**
 * Writes tests/data/node/*.bin with a plain java.io.ObjectOutputStream (what the controller
 * reads and writes when the agent advertises capability 0x1FC, no MULTI_CLASSLOADER): the
 * callables of flows A.1/A.2/B.8 as the controller sends them (req-*.bin) and the replies the
 * agent must write (resp-*.bin), built from the real-shaped classes under tests/controller/src.
 * Replies whose values the agent reads from the system use placeholder longs (0x1111111111111111,
 * 0x2222..., ...) and the path "/PLACEHOLDER"; the C test splices its real values in before
 * comparing. Usage: NodeGen --write DIR | --check DIR (exit 1 on any difference).
 */
public final class NodeGen {
    static final long P1 = 0x1111111111111111L;
    static final long P2 = 0x2222222222222222L;
    static final long P3 = 0x3333333333333333L;
    static final long P4 = 0x4444444444444444L;

    /** A file task no agent knows: must be answered with an IOException naming it. */
    static final class Unknown extends MasterToSlaveFileCallable {
        private static final long serialVersionUID = 1L;
    }

    static byte[] ser(Object o) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ObjectOutputStream oos = new ObjectOutputStream(b)) {
            oos.writeObject(o);
        }
        return b.toByteArray();
    }

    static Map<String, byte[]> all() throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        /* requests */
        out.put("req-slave-version", ser(new SlaveComputer.SlaveVersion()));
        out.put("req-communication-protocol", ser(new SlaveComputer.CommunicationProtocol()));
        out.put("req-detect-os", ser(new SlaveComputer.DetectOS()));
        out.put("req-detect-charset", ser(new SlaveComputer.DetectDefaultCharset()));
        out.put("req-absolute-path", ser(new SlaveComputer.AbsolutePath("work//dir/")));
        out.put("req-absolute-path-abs", ser(new SlaveComputer.AbsolutePath("/abs//root/")));
        out.put("req-slave-initializer", ser(new SlaveComputer.SlaveInitializer(2)));
        out.put("req-set-up-remote-ping", ser(new ChannelPinger.SetUpRemotePing(300, 240)));
        out.put("req-channel-swapper", ser(new StandardOutputSwapper.ChannelSwapper()));
        HashMap<String, String> snap = new HashMap<>();
        snap.put("hudson.util.StreamTaskListener.AUTO_FLUSH", "true");
        snap.put("jenkins.example.unset", null);
        out.put("req-copy-system-properties", ser(new SystemProperties.AgentCopier.CopySystemProperties(snap)));
        out.put("req-copy-system-properties-empty",
                ser(new SystemProperties.AgentCopier.CopySystemProperties(new HashMap<>())));
        out.put("req-set-level", ser(new LogRecorder.SetLevel("hudson.remoting", Level.FINE)));
        List<SlaveRestarter> rs = new ArrayList<>();
        rs.add(new UnixSlaveRestarter());
        out.put("req-find-restarters", ser(new JnlpSlaveRestarterInstaller.FindEffectiveRestarters(rs)));
        out.put("req-get-env-vars", ser(new EnvVars.GetEnvVars()));
        out.put("req-slave-disconnector", ser(new KubernetesSlave.SlaveDisconnector()));
        out.put("req-get-arch", ser(new ArchitectureMonitor.GetArchTask()));
        out.put("req-clock", ser(new Slave.GetClockDifference2(1234567890123L)));
        FilePath root = new FilePath("/");
        out.put("req-usable-space", ser(root.asCallableWith(new DiskSpaceMonitorDescriptor.GetUsableSpace())));
        out.put("req-temp-space", ser(root.asCallableWith(new TemporarySpaceMonitor.GetTempSpace())));
        out.put("req-usable-space-fcw",
                ser(new FilePath.FileCallableWrapper(new DiskSpaceMonitorDescriptor.GetUsableSpace(), root)));
        out.put("req-usable-space-missing", ser(new FilePath("/nonexistent/native-agent/x")
                .asCallableWith(new DiskSpaceMonitorDescriptor.GetUsableSpace())));
        out.put("req-unknown-task", ser(root.asCallableWith(new Unknown())));
        out.put("req-swap", ser(new SwapSpaceMonitor.MonitorTask()));
        out.put("req-step2", ser(new ResponseTimeMonitor.Step2(new ResponseTimeMonitor.Data(new long[] {1, 2, 3, 4, -1}), 42L)));
        out.put("req-step2-null", ser(new ResponseTimeMonitor.Step2(null, 7L)));
        out.put("req-system-properties", ser(new RemotingDiagnostics.GetSystemProperties()));
        out.put("req-full-env", ser(new SlaveComputer.ListFullEnvironment()));
        out.put("req-loading-count", ser(new SlaveComputer.LoadingCount(true)));
        out.put("req-loading-time", ser(new SlaveComputer.LoadingTime(false)));
        out.put("req-loading-prefetch", ser(new SlaveComputer.LoadingPrefetchCacheCount()));
        out.put("req-log-fetcher", ser(new SlaveComputer.SlaveLogFetcher()));
        out.put("req-thread-dump", ser(new RemotingDiagnostics.GetThreadDump()));
        out.put("req-script", ser(new RemotingDiagnostics.Script("println 'hi'")));
        out.put("req-heap-dump", ser(new RemotingDiagnostics.GetHeapDump()));

        /* replies */
        out.put("resp-true", ser(Boolean.TRUE));
        out.put("resp-false", ser(Boolean.FALSE));
        out.put("resp-null", ser(null));
        out.put("resp-utf8", ser(new String("UTF-8")));
        out.put("resp-integer-0", ser(Integer.valueOf(0)));
        out.put("resp-long-0", ser(Long.valueOf(0)));
        out.put("resp-empty-arraylist", ser(new ArrayList<>()));
        out.put("resp-clock", ser(new Slave.GetClockDifference3(P1, 1234567890123L)));
        DiskSpaceMonitorDescriptor.DiskSpace ds = new DiskSpaceMonitorDescriptor.DiskSpace("/PLACEHOLDER", P1);
        ds.setTotalSize(P2);
        out.put("resp-disk-space", ser(ds));
        /* field order availablePhysicalMemory, availableSwapSpace, totalPhysicalMemory, totalSwapSpace */
        out.put("resp-memory-usage", ser(new SwapSpaceMonitor.MemoryUsage2(P3, P1, P4, P2)));
        out.put("resp-step3", ser(new ResponseTimeMonitor.Step3(new ResponseTimeMonitor.Data(new long[] {1, 2, 3, 4, -1}), 42L)));
        out.put("resp-step3-null", ser(new ResponseTimeMonitor.Step3(null, 7L)));
        /* the C test sets environ to {"B=2", "a=1", "PATH=/bin", "a=dup"} */
        EnvVars ev = new EnvVars();
        ev.put(new String("B"), new String("2"));
        ev.put(new String("a"), new String("1"));
        ev.put(new String("PATH"), new String("/bin"));
        ev.setPlatform(Platform.UNIX);
        out.put("resp-env-vars", ser(ev));
        TreeMap<String, String> full = new TreeMap<>();
        full.put(new String("B"), new String("2"));
        full.put(new String("a"), new String("1"));
        full.put(new String("PATH"), new String("/bin"));
        out.put("resp-full-env", ser(full));
        LinkedHashMap<String, String> lhm = new LinkedHashMap<>();
        for (int i = 0; i < 13; i++) {
            lhm.put(new String("k" + i), new String("v" + i));
        }
        out.put("resp-linkedhashmap-13", ser(lhm));
        out.put("resp-linkedhashmap-0", ser(new LinkedHashMap<String, String>()));
        LinkedHashMap<String, String> lhm2 = new LinkedHashMap<>();
        lhm2.put(new String("k"), new String("v"));
        out.put("resp-linkedhashmap-1", ser(lhm2));
        LogRecord r = new LogRecord(Level.INFO, new String("hello"));
        r.setInstant(Instant.ofEpochMilli(P1 >>> 8));
        r.setSequenceNumber(P2);
        r.setLongThreadID(1);
        r.setLoggerName(new String("node"));
        r.setSourceClassName(null);
        r.setSourceMethodName(null);
        List<LogRecord> recs = new ArrayList<>();
        recs.add(r);
        out.put("resp-log-records", ser(recs));
        return out;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !(args[0].equals("--write") || args[0].equals("--check"))) {
            System.err.println("usage: NodeGen --write DIR | --check DIR");
            System.exit(2);
        }
        Path dir = Path.of(args[1]);
        int bad = 0;
        for (Map.Entry<String, byte[]> e : all().entrySet()) {
            Path f = dir.resolve(e.getKey() + ".bin");
            if (args[0].equals("--write")) {
                Files.createDirectories(dir);
                Files.write(f, e.getValue());
            } else if (!Files.exists(f) || !Arrays.equals(Files.readAllBytes(f), e.getValue())) {
                System.out.println("DIFFERS: " + f);
                bad++;
            }
        }
        System.out.println(args[0].equals("--write") ? "written" : (bad == 0 ? "all identical" : bad + " differ"));
        System.exit(bad == 0 ? 0 : 1);
    }
}
