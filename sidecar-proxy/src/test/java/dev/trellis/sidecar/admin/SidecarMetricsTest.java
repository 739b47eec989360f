package dev.trellis.sidecar.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.certs.KeyPairs;
import dev.trellis.certs.Pem;
import dev.trellis.certs.internal.CertificateBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Scrape-time gauges of {@link SidecarMetrics} with an injected clock. */
class SidecarMetricsTest {
    static final Instant NOW = Instant.parse("2026-12-02T08:00:00Z");

    static void writeCertificate(Path file, Instant notAfter) throws Exception {
        KeyPair kp = KeyPairs.ecP256();
        var cert = new CertificateBuilder().subject("CN=svc").publicKey(kp.getPublic()).selfSigned(kp.getPrivate())
                .validity(NOW.minus(Duration.ofHours(1)), notAfter).build();
        Files.writeString(file, Pem.encodeCertificates(List.of(cert)));
    }

    static Double gauge(SidecarMetrics m, String series) {
        for (String line : m.scrape().split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1));
            }
        }
        return null;
    }

    @Test
    void certificateExpiryFollowsAFileRotatedInPlace() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "certs");
        Path cert = dir.resolve("cert.pem");
        writeCertificate(cert, NOW.plus(Duration.ofHours(2)));
        SidecarMetrics m = new SidecarMetrics(Clock.fixed(NOW, ZoneOffset.UTC));
        m.configApplied(Map.of("listener/in", cert, "cluster/gone", dir.resolve("missing.pem")));
        String series = "trellis_certificate_expiry_seconds{owner=\"listener/in\"}";
        assertThat(gauge(m, series)).isEqualTo(7200.0);
        assertThat(gauge(m, "trellis_certificate_expiry_seconds{owner=\"cluster/gone\"}")).isNull();

        // renewed by whoever owns the file, without a config change
        writeCertificate(cert, NOW.plus(Duration.ofHours(24)));
        Files.setLastModifiedTime(cert, FileTime.from(NOW.plusSeconds(60)));
        assertThat(gauge(m, series)).isEqualTo(86400.0);

        // half-written: no series until it parses again
        Files.writeString(cert, "-----BEGIN CERTIFICATE-----\nMII");
        assertThat(gauge(m, series)).isNull();
    }

    @Test
    void configGenerationAndUpdateTime() {
        SidecarMetrics m = new SidecarMetrics(Clock.fixed(NOW, ZoneOffset.UTC));
        assertThat(gauge(m, "trellis_config_generation")).isEqualTo(0.0);
        m.configApplied(Map.of());
        m.configApplied(Map.of());
        assertThat(gauge(m, "trellis_config_generation")).isEqualTo(2.0);
        assertThat(gauge(m, "trellis_config_last_update_timestamp_seconds")).isEqualTo(NOW.getEpochSecond() + 0.0);
    }
}
