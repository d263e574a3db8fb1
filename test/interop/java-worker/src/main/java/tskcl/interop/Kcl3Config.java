package tskcl.interop;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import software.amazon.kinesis.coordinator.CoordinatorConfig;
import software.amazon.kinesis.coordinator.CoordinatorConfig.ClientVersionConfig;
import software.amazon.kinesis.leases.LeaseManagementConfig;
import software.amazon.kinesis.leases.LeaseManagementConfig.GracefulLeaseHandoffConfig;
import software.amazon.kinesis.leases.LeaseManagementConfig.WorkerUtilizationAwareAssignmentConfig;
import software.amazon.kinesis.worker.metric.OperatingRange;
import software.amazon.kinesis.worker.metric.WorkerMetric;
import software.amazon.kinesis.worker.metric.WorkerMetricType;
import software.amazon.kinesis.worker.metric.impl.linux.LinuxCpuWorkerMetric;

/**
 * The KCL 3.x settings of the test worker (compiled only against 3.x: the pom excludes it for 2.x, and
 * JavaWorker reaches it by name). Arguments, all optional, Java's defaults in brackets:
 * clientVersion=3x|compat [compat here: the 2.x mixed-fleet tests], leaseAssignmentIntervalMs [2 x failover],
 * workerMetricsReporterFreqMs [30000], inMemoryWorkerMetricsCaptureFrequencyMs [1000],
 * gracefulLeaseHandoff=true|false [true], gracefulLeaseHandoffTimeoutMs [30000],
 * leaderLeaseDurationMs [120000], leaderHeartbeatMs [30000] (the DynamoDB lock on the Leader item),
 * reBalanceThresholdPercentage [10], dampeningPercentage [60], varianceBalancingFrequency [3],
 * workerMetrics=cpu (LinuxCpuWorkerMetric, /proc/stat: the host's CPU; Java picks none off EC2, ECS and EKS)
 * or file:<path> (a CPU utilization the test writes in that file, so it can steer the leader's rebalancing).
 */
public final class Kcl3Config {
    private Kcl3Config() {}

    public static void apply(Map<String, String> a, CoordinatorConfig coordinator, LeaseManagementConfig leases) {
        boolean threeX = "3x".equals(a.get("clientVersion"));
        coordinator.clientVersionConfig(threeX ? ClientVersionConfig.CLIENT_VERSION_CONFIG_3X : ClientVersionConfig.CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X);
        if (a.containsKey("leaseAssignmentIntervalMs")) leases.leaseAssignmentIntervalMillis(Long.parseLong(a.get("leaseAssignmentIntervalMs")));
        if (a.containsKey("leaderLeaseDurationMs")) leases.dynamoDbLockBasedLeaderLeaseDurationInMillis(Long.parseLong(a.get("leaderLeaseDurationMs")));
        if (a.containsKey("leaderHeartbeatMs")) leases.dynamoDbLockBasedLeaderHeartbeatPeriodInMillis(Long.parseLong(a.get("leaderHeartbeatMs")));
        GracefulLeaseHandoffConfig handoff = leases.gracefulLeaseHandoffConfig();
        leases.gracefulLeaseHandoffConfig(GracefulLeaseHandoffConfig.builder()
                .isGracefulLeaseHandoffEnabled(Boolean.parseBoolean(a.getOrDefault("gracefulLeaseHandoff", String.valueOf(handoff.isGracefulLeaseHandoffEnabled()))))
                .gracefulLeaseHandoffTimeoutMillis(Long.parseLong(a.getOrDefault("gracefulLeaseHandoffTimeoutMs", String.valueOf(handoff.gracefulLeaseHandoffTimeoutMillis()))))
                .build());
        WorkerUtilizationAwareAssignmentConfig wua = leases.workerUtilizationAwareAssignmentConfig();
        if (a.containsKey("workerMetricsReporterFreqMs")) wua.workerMetricsReporterFreqInMillis(Long.parseLong(a.get("workerMetricsReporterFreqMs")));
        if (a.containsKey("inMemoryWorkerMetricsCaptureFrequencyMs")) wua.inMemoryWorkerMetricsCaptureFrequencyMillis(Long.parseLong(a.get("inMemoryWorkerMetricsCaptureFrequencyMs")));
        if (a.containsKey("reBalanceThresholdPercentage")) wua.reBalanceThresholdPercentage(Integer.parseInt(a.get("reBalanceThresholdPercentage")));
        if (a.containsKey("dampeningPercentage")) wua.dampeningPercentage(Integer.parseInt(a.get("dampeningPercentage")));
        if (a.containsKey("varianceBalancingFrequency")) wua.varianceBalancingFrequency(Integer.parseInt(a.get("varianceBalancingFrequency")));
        String metrics = a.getOrDefault("workerMetrics", "");
        OperatingRange upTo100 = OperatingRange.builder().maxUtilization(100).build();
        if (metrics.equals("cpu")) wua.workerMetricList(List.of(new LinuxCpuWorkerMetric(upTo100)));
        if (metrics.startsWith("file:")) wua.workerMetricList(List.of(new FileCpuWorkerMetric(Path.of(metrics.substring(5)), upTo100)));
    }

    /** A CPU utilization the test sets: the number in a file, read at every capture (0 while there is none). */
    private record FileCpuWorkerMetric(Path file, OperatingRange range) implements WorkerMetric {
        @Override
        public String getShortName() {
            return WorkerMetricType.CPU.getShortName();
        }

        @Override
        public WorkerMetricValue capture() {
            double value;
            try {
                value = Double.parseDouble(Files.readString(file).trim());
            } catch (Exception e) {
                value = 0;
            }
            return WorkerMetricValue.builder().value(value).build();
        }

        @Override
        public OperatingRange getOperatingRange() {
            return range;
        }

        @Override
        public WorkerMetricType getWorkerMetricType() {
            return WorkerMetricType.CPU;
        }
    }
}
