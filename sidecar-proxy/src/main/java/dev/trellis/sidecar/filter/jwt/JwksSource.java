package dev.trellis.sidecar.filter.jwt;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.nimbusds.jose.jwk.JWKSet;
import dev.trellis.sidecar.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.text.ParseException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** A provider's key set: fixed ({@code local_jwks}) or fetched over HTTPS and cached ({@code remote_jwks}). */
public interface JwksSource {
    /** The keys now, or {@code null} while none were loaded yet (a load is started then). */
    JWKSet current();

    /** Completes when a first load finished (successfully or not). */
    CompletableFuture<?> loaded();

    /**
     * Refetches because a token named an unknown {@code kid}; {@code null} when that is not allowed
     * now (local keys, or the last such refetch was less than the minimum interval ago).
     */
    CompletableFuture<?> refetchForUnknownKid();

    /** Parses a JWKS document, naming {@code origin} in the error. */
    static JWKSet parse(String json, String origin) {
        try {
            return JWKSet.parse(json);
        } catch (ParseException e) {
            throw new ConfigException(origin + ": not a JWKS document: " + e.getMessage(), e);
        }
    }

    /** Fixed keys. */
    static JwksSource local(JWKSet keys) {
        CompletableFuture<Void> done = CompletableFuture.completedFuture(null);
        return new JwksSource() {
            @Override public JWKSet current() { return keys; }
            @Override public CompletableFuture<?> loaded() { return done; }
            @Override public CompletableFuture<?> refetchForUnknownKid() { return null; }
        };
    }

    /**
     * The shared source for {@code spec}: configs that name the same remote JWKS the same way
     * share one cache, so a reload does not refetch.
     */
    static JwksSource remote(JwtAuthnConfig.RemoteJwks spec) {
        return Remote.SHARED.get(spec, s -> new Remote(s, System::nanoTime));
    }

    /** A {@code remote_jwks} source: Caffeine async cache with refresh after {@code cacheDuration}. */
    final class Remote implements JwksSource {
        private static final Cache<JwtAuthnConfig.RemoteJwks, Remote> SHARED = Caffeine.newBuilder().weakValues().build();
        private static final String KEY = "jwks";
        private final JwtAuthnConfig.RemoteJwks spec;
        private final AsyncLoadingCache<String, JWKSet> cache;
        private final HttpClient http;
        private final LongSupplier nanoTime;
        private final AtomicLong lastUnknownKidRefetch = new AtomicLong();
        private final AtomicLong fetches = new AtomicLong();
        private volatile boolean refetchedOnce;

        /** {@code nanoTime} drives the cache's refresh and the refetch interval (injected in tests). */
        public Remote(JwtAuthnConfig.RemoteJwks spec, LongSupplier nanoTime) {
            this.spec = spec;
            this.nanoTime = nanoTime;
            this.http = HttpClient.newBuilder().sslContext(sslContext(spec)).connectTimeout(spec.timeout())
                    .followRedirects(HttpClient.Redirect.NEVER).build();
            this.cache = Caffeine.newBuilder().ticker(nanoTime::getAsLong).refreshAfterWrite(spec.cacheDuration())
                    .buildAsync((key, executor) -> fetch());
        }

        private CompletableFuture<JWKSet> fetch() {
            fetches.incrementAndGet();
            HttpRequest req = HttpRequest.newBuilder(spec.uri()).timeout(spec.timeout()).header("accept", "application/json")
                    .GET().build();
            return http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
                if (r.statusCode() != 200) {
                    throw new CompletionException(new IOException("remote_jwks " + spec.uri() + ": HTTP " + r.statusCode()
                            + " (expected: 200)"));
                }
                try {
                    return JWKSet.parse(r.body());
                } catch (ParseException e) {
                    throw new CompletionException(new IOException("remote_jwks " + spec.uri() + ": not a JWKS document: "
                            + e.getMessage(), e));
                }
            });
        }

        /** How many fetches were started (for tests and the admin page). */
        public long fetches() {
            return fetches.get();
        }

        @Override
        public JWKSet current() {
            CompletableFuture<JWKSet> f = cache.get(KEY);
            return f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
        }

        @Override
        public CompletableFuture<?> loaded() {
            return cache.get(KEY).handle((v, e) -> null);
        }

        @Override
        public CompletableFuture<?> refetchForUnknownKid() {
            long now = nanoTime.getAsLong();
            long last = lastUnknownKidRefetch.get();
            if (refetchedOnce && now - last < spec.minRefetchInterval().toNanos()) {
                return null;
            }
            if (!lastUnknownKidRefetch.compareAndSet(last, now)) {
                return null;
            }
            refetchedOnce = true;
            return cache.synchronous().refresh(KEY).handle((v, e) -> null);
        }

        private static SSLContext sslContext(JwtAuthnConfig.RemoteJwks spec) {
            try {
                if (spec.trustedCa().isEmpty()) {
                    return SSLContext.getDefault();
                }
                Path ca = spec.trustedCa().get();
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                try (InputStream in = Files.newInputStream(ca)) {
                    int i = 0;
                    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                        ks.setCertificateEntry("ca" + i++, c);
                    }
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ks);
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(null, tmf.getTrustManagers(), null);
                return ctx;
            } catch (IOException | java.security.GeneralSecurityException e) {
                throw new ConfigException("remote_jwks " + spec.uri() + ": cannot read trusted CA "
                        + spec.trustedCa().orElse(null) + ": " + e.getMessage(), e);
            }
        }
    }
}
