package dev.trellis.certs;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a workload's certificate fresh: renews at half its lifetime (minus jitter, so a fleet
 * does not renew in lockstep), keeps the valid certificate when a renewal fails and retries with
 * bounded exponential backoff. Time comes from the injected {@link Clock} and waiting from the
 * injected {@link ScheduledExecutorService}.
 *
 * <p>The renewal itself is the caller's: typically make a key pair and a CSR
 * ({@link CertificateRequest}) and ask the CA. Without an initial certificate the first renewal
 * runs at {@link #start()}. Wire {@link Builder#onRenewed} to {@link RotatingSslContext#update}.
 */
public final class CertificateRotator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CertificateRotator.class);

    /** Obtains a new certificate; {@code current} is empty for the first one. */
    @FunctionalInterface
    public interface Renewal {
        CompletionStage<CertifiedKey> renew(Optional<CertifiedKey> current) throws Exception;
    }

    /** A listener that adopts a new certificate; if it throws, the certificate is not adopted and the renewal is retried. */
    @FunctionalInterface
    public interface RenewalListener {
        void renewed(CertifiedKey key) throws Exception;
    }

    private final Renewal renewal;
    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final DoubleSupplier random;
    private final double renewAtFraction;
    private final double jitterFraction;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final Duration renewalTimeout;
    private final RenewalListener listener;

    private final AtomicReference<CertifiedKey> current = new AtomicReference<>();
    private final CompletableFuture<CertifiedKey> first = new CompletableFuture<>();
    private final Object lock = new Object();
    private ScheduledFuture<?> pending;
    private Instant nextAttempt;
    private boolean inFlight;
    private boolean started;
    private boolean closed;
    private int failures;
    private Throwable lastFailure;

    private CertificateRotator(Builder b) {
        this.renewal = b.renewal;
        this.scheduler = b.scheduler;
        this.clock = b.clock;
        this.random = b.random;
        this.renewAtFraction = b.renewAtFraction;
        this.jitterFraction = b.jitterFraction;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.renewalTimeout = b.renewalTimeout;
        this.listener = b.listener;
        if (b.initial != null) {
            current.set(b.initial);
            first.complete(b.initial);
        }
    }

    public static Builder builder(Renewal renewal, ScheduledExecutorService scheduler) {
        return new Builder(renewal, scheduler);
    }

    /** Options of a {@link CertificateRotator}; checked at once. */
    public static final class Builder {
        private final Renewal renewal;
        private final ScheduledExecutorService scheduler;
        private CertifiedKey initial;
        private Clock clock = Clock.systemUTC();
        private DoubleSupplier random = () -> ThreadLocalRandom.current().nextDouble();
        private double renewAtFraction = 0.5;
        private double jitterFraction = 0.1;
        private Duration initialBackoff = Duration.ofSeconds(1);
        private Duration maxBackoff = Duration.ofMinutes(5);
        private Duration renewalTimeout = Duration.ofSeconds(30);
        private RenewalListener listener = key -> { };

        private Builder(Renewal renewal, ScheduledExecutorService scheduler) {
            this.renewal = Objects.requireNonNull(renewal, "renewal");
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        }

        /** The certificate held at start (for example one still valid from disk); without one, start() renews at once. */
        public Builder initial(CertifiedKey key) {
            this.initial = Objects.requireNonNull(key, "key");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Source of uniform numbers in [0, 1) for jitter (tests pass a fixed one). */
        public Builder random(DoubleSupplier random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /**
         * Renew at {@code fraction} of the lifetime, up to {@code jitter} of the lifetime earlier
         * (defaults 0.5 and 0.1: between 40% and 50%).
         */
        public Builder renewAt(double fraction, double jitter) {
            if (!(fraction > 0 && fraction < 1)) {
                throw new IllegalArgumentException("renewAt fraction: " + fraction + " (expected: > 0 and < 1)");
            }
            if (!(jitter >= 0 && jitter < fraction)) {
                throw new IllegalArgumentException("renewAt jitter: " + jitter + " (expected: >= 0 and < " + fraction + ")");
            }
            this.renewAtFraction = fraction;
            this.jitterFraction = jitter;
            return this;
        }

        /** Backoff after failed renewals: doubles from {@code initial} up to {@code max} (defaults 1 s, 5 min). */
        public Builder backoff(Duration initial, Duration max) {
            if (initial.isNegative() || initial.isZero()) {
                throw new IllegalArgumentException("backoff initial: " + initial + " (expected: > 0)");
            }
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("backoff max: " + max + " (expected: >= initial " + initial + ")");
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /** How long one renewal may take before it counts as failed (default 30 s). */
        public Builder renewalTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("renewalTimeout: " + timeout + " (expected: > 0)");
            }
            this.renewalTimeout = timeout;
            return this;
        }

        public Builder onRenewed(RenewalListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        public CertificateRotator build() {
            return new CertificateRotator(this);
        }
    }

    /** Schedules the first renewal. */
    public void start() {
        synchronized (lock) {
            if (started) {
                throw new IllegalStateException("rotator already started");
            }
            started = true;
            CertifiedKey key = current.get();
            scheduleAt(key == null ? clock.instant() : renewalTime(key));
        }
    }

    /** Renews now (for example after the trust bundle changed), unless a renewal is running. */
    public void renewNow() {
        synchronized (lock) {
            if (!inFlight && started && !closed) {
                scheduleAt(clock.instant());
            }
        }
    }

    public Optional<CertifiedKey> current() {
        return Optional.ofNullable(current.get());
    }

    /** Completes with the first certificate held (at once when built with an initial one). */
    public CompletableFuture<CertifiedKey> firstCertificate() {
        return first.copy();
    }

    /** Seconds until the current certificate expires (negative once expired, NaN without one): a gauge. */
    public double secondsToExpiry() {
        CertifiedKey key = current.get();
        if (key == null) {
            return Double.NaN;
        }
        return Duration.between(clock.instant(), key.notAfter()).toMillis() / 1000.0;
    }

    /** When the next renewal attempt is scheduled. */
    public Optional<Instant> nextAttempt() {
        synchronized (lock) {
            return Optional.ofNullable(nextAttempt);
        }
    }

    /** Failed renewals since the last success. */
    public int consecutiveFailures() {
        synchronized (lock) {
            return failures;
        }
    }

    public Optional<Throwable> lastFailure() {
        synchronized (lock) {
            return Optional.ofNullable(lastFailure);
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            nextAttempt = null;
            if (pending != null) {
                pending.cancel(false);
            }
        }
    }

    private Instant renewalTime(CertifiedKey key) {
        double fraction = renewAtFraction - jitterFraction * random.getAsDouble();
        long lifetimeMillis = key.lifetime().toMillis();
        return key.notBefore().plusMillis((long) (lifetimeMillis * fraction));
    }

    private void scheduleAt(Instant at) {
        if (closed) {
            return;
        }
        if (pending != null) {
            pending.cancel(false);
        }
        long delay = Math.max(0, Duration.between(clock.instant(), at).toMillis());
        nextAttempt = at;
        pending = scheduler.schedule(this::attempt, delay, TimeUnit.MILLISECONDS);
    }

    private void attempt() {
        CompletableFuture<CertifiedKey> result = new CompletableFuture<>();
        synchronized (lock) {
            if (closed || inFlight) {
                return;
            }
            inFlight = true;
            nextAttempt = null;
        }
        Runnable expire = () -> result.completeExceptionally(
                new TimeoutException("certificate renewal took longer than " + renewalTimeout));
        ScheduledFuture<?> timeout = scheduler.schedule(expire, renewalTimeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            CompletionStage<CertifiedKey> stage = renewal.renew(Optional.ofNullable(current.get()));
            Objects.requireNonNull(stage, "renewal returned null").whenComplete((key, error) -> {
                if (error != null) {
                    result.completeExceptionally(error);
                } else {
                    result.complete(key);
                }
            });
        } catch (Throwable t) {
            result.completeExceptionally(t);
        }
        result.whenComplete((key, error) -> {
            timeout.cancel(false);
            finish(key, error);
        });
    }

    private void finish(CertifiedKey key, Throwable error) {
        if (error == null) {
            try {
                adopt(key);
            } catch (Throwable t) {
                error = t;
            }
        }
        synchronized (lock) {
            inFlight = false;
            if (error == null) {
                failures = 0;
                lastFailure = null;
                // A floor keeps a CA that hands out nearly expired certificates from causing a renewal loop.
                Instant at = renewalTime(key);
                Instant floor = clock.instant().plus(initialBackoff);
                scheduleAt(at.isBefore(floor) ? floor : at);
                log.info("certificate renewed: {}; next renewal at {}", key, nextAttempt);
                return;
            }
            failures++;
            lastFailure = error;
            Duration delay = backoff(failures);
            CertifiedKey held = current.get();
            log.warn("certificate renewal failed (attempt {}), retrying in {}; {}: {}", failures, delay,
                    held == null ? "no certificate yet" : "keeping certificate valid until " + held.notAfter(),
                    error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error);
            scheduleAt(clock.instant().plus(delay));
        }
    }

    private void adopt(CertifiedKey key) throws Exception {
        Objects.requireNonNull(key, "renewal returned no certificate");
        Instant now = clock.instant();
        if (!key.notAfter().isAfter(now)) {
            throw new IllegalStateException("renewed certificate expired at " + key.notAfter() + " (now: " + now + ")");
        }
        CertifiedKey held = current.get();
        if (held != null && held.spiffeId().isPresent() && !held.spiffeId().equals(key.spiffeId())) {
            throw new IllegalStateException("renewed certificate is for " + key.spiffeId().map(Object::toString).orElse("no SPIFFE ID")
                    + " (expected: " + held.spiffeId().get() + ")");
        }
        listener.renewed(key);
        current.set(key);
        first.complete(key);
    }

    private Duration backoff(int attempt) {
        long base = initialBackoff.toMillis();
        long max = maxBackoff.toMillis();
        long exp = attempt >= 31 ? max : Math.min(max, base << Math.min(attempt - 1, 30));
        // Half fixed, half jittered: spread retries of many sidecars without ever retrying at once.
        return Duration.ofMillis(exp / 2 + (long) (exp / 2.0 * random.getAsDouble()));
    }
}
