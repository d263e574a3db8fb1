package tskcl.interop;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudwatch.CloudWatchAsyncClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.kinesis.common.ConfigsBuilder;
import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.common.InitialPositionInStreamExtended;
import software.amazon.kinesis.common.StreamConfig;
import software.amazon.kinesis.common.StreamIdentifier;
import software.amazon.kinesis.processor.FormerStreamsLeasesDeletionStrategy;
import software.amazon.kinesis.processor.MultiStreamTracker;
import software.amazon.kinesis.coordinator.CoordinatorConfig;
import software.amazon.kinesis.coordinator.Scheduler;
import software.amazon.kinesis.leases.LeaseManagementConfig;
import software.amazon.kinesis.lifecycle.events.InitializationInput;
import software.amazon.kinesis.lifecycle.events.LeaseLostInput;
import software.amazon.kinesis.lifecycle.events.ProcessRecordsInput;
import software.amazon.kinesis.lifecycle.events.ShardEndedInput;
import software.amazon.kinesis.lifecycle.events.ShutdownRequestedInput;
import software.amazon.kinesis.metrics.MetricsLevel;
import software.amazon.kinesis.metrics.NullMetricsFactory;
import software.amazon.kinesis.processor.RecordProcessorCheckpointer;
import software.amazon.kinesis.processor.ShardRecordProcessor;
import software.amazon.kinesis.retrieval.KinesisClientRecord;
import software.amazon.kinesis.retrieval.kpl.ExtendedSequenceNumber;
import software.amazon.kinesis.retrieval.RetrievalConfig;
import software.amazon.kinesis.retrieval.polling.PollingConfig;

/**
 * A Java KCL worker for ts-kcl's mixed-fleet tests. It reports what it does as JSON lines on stdout,
 * with the same events and fields as ts-kcl's test worker (test/support/worker-process.ts): started,
 * init (with the checkpoint `from` and any `pending` one), rec, cp / cpFail, prepared, leaseLost,
 * shardEnded, shutdownRequested, graceful, exit. SIGTERM is a graceful shutdown (Java keeps the
 * leases' owner; they expire for the others). Arguments: key=value (see main; the KCL 3.x ones: Kcl3Config).
 */
public final class JavaWorker {
    private static String workerId = "";

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            a.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        workerId = a.get("worker");
        String stream = a.get("stream");
        String app = a.get("app");
        long failover = Long.parseLong(a.getOrDefault("failoverMs", "3000"));
        String prepareOn = a.get("prepareOn"); // a record's data: prepare a checkpoint there and stop checkpointing

        StaticCredentialsProvider creds = StaticCredentialsProvider.create(AwsBasicCredentials.create("local", "local"));
        KinesisAsyncClient kinesis = KinesisAsyncClient.builder()
                .region(Region.US_EAST_1).credentialsProvider(creds)
                .endpointOverride(URI.create(a.get("kinesis")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().protocol(Protocol.HTTP1_1))
                .build();
        DynamoDbAsyncClient dynamo = DynamoDbAsyncClient.builder()
                .region(Region.US_EAST_1).credentialsProvider(creds)
                .endpointOverride(URI.create(a.get("dynamodb")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().protocol(Protocol.HTTP1_1))
                .build();
        CloudWatchAsyncClient cloudWatch = CloudWatchAsyncClient.builder()
                .region(Region.US_EAST_1).credentialsProvider(creds)
                .endpointOverride(URI.create("http://127.0.0.1:9")) // never called: metrics are off
                .build();

        // streamIds=<account:stream:epoch>,...: multi-stream mode (a MultiStreamTracker) instead of one stream.
        String streamIds = a.get("streamIds");
        ConfigsBuilder cb = streamIds == null
                ? new ConfigsBuilder(stream, app, kinesis, dynamo, cloudWatch, workerId, () -> new Processor(prepareOn))
                : new ConfigsBuilder(multiStreamTracker(streamIds.split(",")), app, kinesis, dynamo, cloudWatch, workerId, () -> new Processor(prepareOn));
        CoordinatorConfig coordinator = cb.coordinatorConfig()
                .parentShardPollIntervalMillis(200)
                .shardConsumerDispatchPollIntervalMillis(200)
                .schedulerInitializationBackoffTimeMillis(200);
        LeaseManagementConfig leases = cb.leaseManagementConfig()
                .failoverTimeMillis(failover)
                .shardSyncIntervalMillis(Long.parseLong(a.getOrDefault("shardSyncIntervalMs", "2000")))
                .maxLeasesToStealAtOneTime(Integer.parseInt(a.getOrDefault("maxLeasesToStealAtOneTime", "1")));
        kcl3(a, coordinator, leases);
        Scheduler scheduler = new Scheduler(
                cb.checkpointConfig(),
                coordinator,
                leases,
                cb.lifecycleConfig().taskBackoffTimeMillis(100),
                cb.metricsConfig().metricsLevel(MetricsLevel.NONE).metricsFactory(new NullMetricsFactory()),
                cb.processorConfig(),
                retrieval(cb, streamIds == null)
                        .retrievalSpecificConfig((streamIds == null ? new PollingConfig(stream, kinesis) : new PollingConfig(kinesis)).idleTimeBetweenReadsInMillis(200)));

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            boolean ok;
            try {
                ok = scheduler.startGracefulShutdown().get(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                ok = false;
            }
            emit("graceful", "ok", ok);
            System.out.flush();
        }));
        emit("started", "kcl", kclVersion());
        scheduler.run();
        emit("exit");
    }

    /** Single-stream: TRIM_HORIZON here; multi-stream: each StreamConfig has its own (Java refuses both). */
    private static RetrievalConfig retrieval(ConfigsBuilder cb, boolean singleStream) {
        RetrievalConfig retrieval = cb.retrievalConfig();
        return singleStream ? retrieval.initialPositionInStreamExtended(InitialPositionInStreamExtended.newInitialPosition(InitialPositionInStream.TRIM_HORIZON)) : retrieval;
    }

    /** The given streams from TRIM_HORIZON; leases of streams no longer listed are kept. */
    private static MultiStreamTracker multiStreamTracker(String[] ids) {
        List<StreamConfig> configs = new ArrayList<>();
        for (String id : ids) {
            configs.add(new StreamConfig(StreamIdentifier.multiStreamInstance(id),
                    InitialPositionInStreamExtended.newInitialPosition(InitialPositionInStream.TRIM_HORIZON)));
        }
        return new MultiStreamTracker() {
            @Override
            public List<StreamConfig> streamConfigList() {
                return configs;
            }

            @Override
            public FormerStreamsLeasesDeletionStrategy formerStreamsLeasesDeletionStrategy() {
                return new FormerStreamsLeasesDeletionStrategy.NoLeaseDeletionStrategy();
            }
        };
    }

    /** KCL 3.x only: its client version and 3.x settings (Kcl3Config, not compiled against 2.x). */
    private static void kcl3(Map<String, String> a, CoordinatorConfig coordinator, LeaseManagementConfig leases) throws Exception {
        Class<?> config;
        try {
            Class.forName("software.amazon.kinesis.coordinator.CoordinatorConfig$ClientVersionConfig");
            config = Class.forName("tskcl.interop.Kcl3Config");
        } catch (ClassNotFoundException e) {
            return;
        }
        config.getMethod("apply", Map.class, CoordinatorConfig.class, LeaseManagementConfig.class).invoke(null, a, coordinator, leases);
    }

    private static String kclVersion() {
        String v = Scheduler.class.getPackage().getImplementationVersion();
        return v == null ? "unknown" : v;
    }

    private static final class Processor implements ShardRecordProcessor {
        private final String prepareOn;
        private String shardId = "";
        private boolean prepared = false;
        private String last;

        Processor(String prepareOn) {
            this.prepareOn = prepareOn;
        }

        @Override
        public void initialize(InitializationInput input) {
            shardId = input.shardId();
            ExtendedSequenceNumber pending = input.pendingCheckpointSequenceNumber();
            emit("init", "shardId", shardId, "from", input.extendedSequenceNumber().sequenceNumber(),
                    "fromSub", input.extendedSequenceNumber().subSequenceNumber(),
                    "pending", pending == null ? null : pending.sequenceNumber(),
                    "pendingSub", pending == null ? null : pending.subSequenceNumber());
        }

        @Override
        public void processRecords(ProcessRecordsInput input) {
            List<KinesisClientRecord> records = input.records();
            if (records.isEmpty()) return;
            List<String> data = new ArrayList<>();
            List<String> seqs = new ArrayList<>();
            for (KinesisClientRecord r : records) {
                ByteBuffer b = r.data().duplicate();
                byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                data.add(new String(bytes, StandardCharsets.UTF_8));
                seqs.add(r.sequenceNumber());
            }
            emit("rec", "shardId", shardId, "d", data, "s", seqs);
            if (prepared) return;
            for (int i = 0; i < records.size(); i++) {
                if (data.get(i).equals(prepareOn)) {
                    KinesisClientRecord r = records.get(i);
                    try {
                        input.checkpointer().prepareCheckpoint(r.sequenceNumber(), r.subSequenceNumber(), ("state-" + prepareOn).getBytes(StandardCharsets.UTF_8));
                        prepared = true;
                        emit("prepared", "shardId", shardId, "seq", r.sequenceNumber(), "sub", r.subSequenceNumber());
                    } catch (Exception e) {
                        emit("cpFail", "shardId", shardId, "seq", r.sequenceNumber(), "error", e.toString());
                    }
                    return;
                }
            }
            last = seqs.get(seqs.size() - 1);
            checkpoint(input.checkpointer(), last);
        }

        @Override
        public void leaseLost(LeaseLostInput input) {
            emit("leaseLost", "shardId", shardId);
        }

        @Override
        public void shardEnded(ShardEndedInput input) {
            checkpoint(input.checkpointer(), "SHARD_END");
            emit("shardEnded", "shardId", shardId);
        }

        @Override
        public void shutdownRequested(ShutdownRequestedInput input) {
            if (!prepared) checkpoint(input.checkpointer(), last);
            emit("shutdownRequested", "shardId", shardId);
        }

        private void checkpoint(RecordProcessorCheckpointer checkpointer, String value) {
            try {
                checkpointer.checkpoint();
                if (value != null) emit("cp", "shardId", shardId, "seq", value);
            } catch (Exception e) {
                emit("cpFail", "shardId", shardId, "seq", value, "error", e.toString());
            }
        }
    }

    /** One JSON line: {"w":..,"p":..,"at":..,"t":type, key: value, ...}; values are strings, numbers, booleans, null or string lists. */
    static synchronized void emit(String type, Object... kv) {
        StringBuilder sb = new StringBuilder("{\"w\":").append(json(workerId))
                .append(",\"p\":").append(ProcessHandle.current().pid())
                .append(",\"at\":").append(System.currentTimeMillis())
                .append(",\"t\":").append(json(type));
        for (int i = 0; i < kv.length; i += 2) sb.append(',').append(json(kv[i])).append(':').append(json(kv[i + 1]));
        System.out.println(sb.append('}'));
        System.out.flush();
    }

    private static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof Number || v instanceof Boolean) return v.toString();
        if (v instanceof List<?> list) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < list.size(); i++) sb.append(i == 0 ? "" : ",").append(json(list.get(i)));
            return sb.append(']').toString();
        }
        StringBuilder sb = new StringBuilder("\"");
        for (char c : v.toString().toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }
}
