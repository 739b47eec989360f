package dev.trellis.certs;

import static dev.trellis.certs.TestPki.NOTIFY;
import static dev.trellis.certs.TestPki.USER;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** Renewal timing, backoff and failure handling, on a manual clock and scheduler (no sleeping). */
class CertificateRotatorTest {
    private final MutableClock clock = MutableClock.startingNow();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final TestPki pki = new TestPki(clock);
    private final List<Optional<CertifiedKey>> calls = new ArrayList<>();
    private final List<CertifiedKey> adopted = new ArrayList<>();

    /** What the sidecar's renewal does: a fresh key and CSR, signed by the CA. */
    private CompletionStage<CertifiedKey> renewFromCa(Optional<CertifiedKey> current) {
        calls.add(current);
        return CompletableFuture.completedFuture(pki.workload(USER));
    }

    private CertificateRotator.Builder rotator(CertificateRotator.Renewal renewal) {
        return CertificateRotator.builder(renewal, scheduler).clock(clock).onRenewed(adopted::add);
    }

    @Test
    void renewsAtHalfTheLifetimeMinusJitter() {
        CertifiedKey initial = pki.workload(USER);
        Instant half = initial.notBefore().plus(initial.lifetime().dividedBy(2));
        try (CertificateRotator r = rotator(this::renewFromCa).initial(initial).random(() -> 0.0).build()) {
            r.start();
            assertThat(r.nextAttempt()).contains(half);
            assertThat(r.secondsToExpiry()).isEqualTo(Duration.ofHours(24).toSeconds());

            clock.set(half.minusSeconds(1));
            assertThat(scheduler.runDue()).isZero();
            assertThat(r.current()).contains(initial);
            assertThat(r.secondsToExpiry()).isEqualTo(Duration.between(clock.instant(), initial.notAfter()).toSeconds());

            clock.set(half);
            assertThat(scheduler.runDue()).isEqualTo(1);
            assertThat(calls).containsExactly(Optional.of(initial));
            CertifiedKey renewed = r.current().orElseThrow();
            assertThat(renewed).isNotEqualTo(initial);
            assertThat(adopted).containsExactly(renewed);
            assertThat(r.nextAttempt()).contains(renewed.notBefore().plus(renewed.lifetime().dividedBy(2)));
            assertThat(r.secondsToExpiry()).isEqualTo(Duration.ofHours(24).toSeconds());
        }
        // With full jitter the renewal comes at 40% of the lifetime.
        try (CertificateRotator r = rotator(this::renewFromCa).initial(initial).random(() -> 1.0).build()) {
            r.start();
            assertThat(r.nextAttempt()).contains(initial.notBefore().plus(initial.lifetime().multipliedBy(4).dividedBy(10)));
        }
    }

    @Test
    void keepsTheValidCertificateAndBacksOffExponentiallyWhenRenewalFails() {
        CertifiedKey initial = pki.workload(USER);
        AtomicInteger failuresLeft = new AtomicInteger(12);
        CertificateRotator.Renewal flaky = current -> {
            calls.add(current);
            if (failuresLeft.getAndDecrement() > 0) {
                return CompletableFuture.failedFuture(new IllegalStateException("control plane unavailable"));
            }
            return CompletableFuture.completedFuture(pki.workload(USER));
        };
        try (CertificateRotator r = rotator(flaky).initial(initial).random(() -> 0.5)
                .backoff(Duration.ofSeconds(1), Duration.ofSeconds(60)).build()) {
            r.start();
            clock.set(r.nextAttempt().orElseThrow());
            List<Duration> delays = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                Instant before = clock.instant();
                assertThat(scheduler.runDue()).isEqualTo(1);
                assertThat(r.current()).as("valid certificate kept").contains(initial);
                assertThat(r.consecutiveFailures()).isEqualTo(i + 1);
                assertThat(r.lastFailure()).get().extracting(Throwable::getMessage).isEqualTo("control plane unavailable");
                Instant next = r.nextAttempt().orElseThrow();
                delays.add(Duration.between(before, next));
                clock.set(next);
            }
            // 75% of 1, 2, 4, ... s (half fixed, half jittered at 0.5), capped at 60 s.
            assertThat(delays).containsExactly(ms(750), ms(1500), ms(3000), ms(6000), ms(12000), ms(24000),
                    ms(45000), ms(45000), ms(45000), ms(45000), ms(45000), ms(45000));
            assertThat(scheduler.runDue()).isEqualTo(1);
            assertThat(r.current()).isPresent().get().isNotEqualTo(initial);
            assertThat(r.consecutiveFailures()).isZero();
            assertThat(r.lastFailure()).isEmpty();
            assertThat(adopted).hasSize(1);
        }
    }

    private static Duration ms(long millis) {
        return Duration.ofMillis(millis);
    }

    @Test
    void fetchesTheFirstCertificateAtStartWhenThereIsNone() throws Exception {
        try (CertificateRotator r = rotator(this::renewFromCa).build()) {
            assertThat(r.current()).isEmpty();
            assertThat(r.secondsToExpiry()).isNaN();
            CompletableFuture<CertifiedKey> first = r.firstCertificate();
            r.start();
            assertThat(first).isNotDone();
            scheduler.runDue();
            assertThat(calls).containsExactly(Optional.empty());
            assertThat(first).isCompletedWithValue(r.current().orElseThrow());
        }
    }

    @Test
    void refusesARenewalForAnotherIdentityOrAlreadyExpired() {
        CertifiedKey initial = pki.workload(USER);
        List<CertifiedKey> answers = new ArrayList<>(List.of(
                pki.workload(NOTIFY),
                TestPki.workload(new TestPki(java.time.Clock.offset(clock, Duration.ofDays(-3)), pki.root).ca, USER, Duration.ofHours(1)),
                pki.workload(USER)));
        try (CertificateRotator r = rotator(c -> CompletableFuture.completedFuture(answers.remove(0)))
                .initial(initial).random(() -> 0.0).build()) {
            r.start();
            clock.set(r.nextAttempt().orElseThrow());
            scheduler.runDue();
            assertThat(r.current()).contains(initial);
            assertThat(r.lastFailure()).get().extracting(Throwable::getMessage)
                    .isEqualTo("renewed certificate is for " + NOTIFY + " (expected: " + USER + ")");
            clock.set(r.nextAttempt().orElseThrow());
            scheduler.runDue();
            assertThat(r.lastFailure()).get().extracting(Throwable::getMessage).asString().startsWith("renewed certificate expired at");
            clock.set(r.nextAttempt().orElseThrow());
            scheduler.runDue();
            assertThat(r.current().orElseThrow().spiffeId()).contains(USER);
            assertThat(r.current()).get().isNotEqualTo(initial);
        }
    }

    @Test
    void aListenerFailureMeansTheCertificateIsNotAdopted() {
        CertifiedKey initial = pki.workload(USER);
        AtomicInteger listenerCalls = new AtomicInteger();
        try (CertificateRotator r = CertificateRotator.builder(this::renewFromCa, scheduler).clock(clock).initial(initial)
                .onRenewed(k -> {
                    if (listenerCalls.incrementAndGet() == 1) {
                        throw new javax.net.ssl.SSLException("cannot build context");
                    }
                }).build()) {
            r.start();
            clock.set(r.nextAttempt().orElseThrow());
            scheduler.runDue();
            assertThat(r.current()).contains(initial);
            assertThat(r.consecutiveFailures()).isEqualTo(1);
            clock.set(r.nextAttempt().orElseThrow());
            scheduler.runDue();
            assertThat(r.current()).get().isNotEqualTo(initial);
            assertThat(listenerCalls).hasValue(2);
        }
    }

    @Test
    void aRenewalThatNeverAnswersTimesOutAndIsRetried() {
        CertifiedKey initial = pki.workload(USER);
        List<CompletableFuture<CertifiedKey>> requests = new ArrayList<>();
        try (CertificateRotator r = rotator(c -> {
            CompletableFuture<CertifiedKey> f = new CompletableFuture<>();
            requests.add(f);
            return f;
        }).initial(initial).renewalTimeout(Duration.ofSeconds(10)).random(() -> 0.0).build()) {
            r.start();
            clock.set(r.nextAttempt().orElseThrow());
            scheduler.runDue();
            assertThat(requests).hasSize(1);
            assertThat(r.nextAttempt()).isEmpty();
            r.renewNow();
            assertThat(scheduler.runDue()).as("no second renewal while one is running").isLessThanOrEqualTo(1);
            assertThat(requests).hasSize(1);
            clock.advance(Duration.ofSeconds(10));
            scheduler.runDue();
            assertThat(r.lastFailure()).get().extracting(Throwable::getMessage).asString().contains("took longer than PT10S");
            assertThat(r.current()).contains(initial);
            assertThat(r.nextAttempt()).isPresent();
        }
    }

    @Test
    void closeStopsRenewing() {
        CertifiedKey initial = pki.workload(USER);
        CertificateRotator r = rotator(this::renewFromCa).initial(initial).build();
        r.start();
        r.close();
        clock.advance(Duration.ofDays(2));
        assertThat(scheduler.runDue()).isZero();
        assertThat(calls).isEmpty();
        assertThat(r.nextAttempt()).isEmpty();
    }
}
