package dev.trellis.sidecar.config;

import java.time.Duration;

/**
 * Envoy's {@code outlier_detection} with its defaults. Percentages are 0..100;
 * {@code successRateStdevFactor} is Envoy's value divided by 1000.
 */
public record OutlierDetectionConfig(
        int consecutive5xx, int consecutiveGatewayFailure, int consecutiveLocalOriginFailure,
        int enforcingConsecutive5xx, int enforcingConsecutiveGatewayFailure, int enforcingConsecutiveLocalOriginFailure,
        boolean splitExternalLocalOriginErrors,
        Duration interval, Duration baseEjectionTime, Duration maxEjectionTime, int maxEjectionPercent,
        int successRateMinimumHosts, int successRateRequestVolume, double successRateStdevFactor,
        int enforcingSuccessRate, int enforcingLocalOriginSuccessRate,
        int failurePercentageThreshold, int failurePercentageMinimumHosts, int failurePercentageRequestVolume,
        int enforcingFailurePercentage, int enforcingFailurePercentageLocalOrigin) {

    /** Envoy's defaults for every field. */
    public static final OutlierDetectionConfig DEFAULT = new OutlierDetectionConfig(5, 5, 5, 100, 0, 100, false,
            Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(300), 10,
            5, 100, 1.9, 100, 100, 85, 5, 50, 0, 0);

    public OutlierDetectionConfig {
        for (int p : new int[] {enforcingConsecutive5xx, enforcingConsecutiveGatewayFailure,
                enforcingConsecutiveLocalOriginFailure, maxEjectionPercent, enforcingSuccessRate,
                enforcingLocalOriginSuccessRate, failurePercentageThreshold, enforcingFailurePercentage,
                enforcingFailurePercentageLocalOrigin}) {
            if (p < 0 || p > 100) {
                throw new ConfigException("outlier_detection: percentage " + p + " (expected: 0..100)");
            }
        }
        if (interval.isZero() || interval.isNegative() || baseEjectionTime.isNegative() || baseEjectionTime.isZero()) {
            throw new ConfigException("outlier_detection: interval " + interval.toMillis() + "ms, base_ejection_time "
                    + baseEjectionTime.toMillis() + "ms (expected: both > 0)");
        }
        if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
            throw new ConfigException("outlier_detection.max_ejection_time: " + maxEjectionTime.toMillis()
                    + "ms (expected: >= base_ejection_time " + baseEjectionTime.toMillis() + "ms)");
        }
    }
}
