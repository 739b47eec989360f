package dev.trellis.certs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import dev.trellis.certs.internal.AtomicFiles;
import dev.trellis.certs.internal.X509s;

/**
 * The roots a mesh trusts for one trust domain ({@code ca-bundle.pem}). It may hold several roots
 * at once so a root can be rotated with overlap. Immutable; {@link #with} and {@link #without}
 * return new bundles.
 */
public final class TrustBundle {
    private final String trustDomain;
    private final List<X509Certificate> roots;

    private TrustBundle(String trustDomain, List<X509Certificate> roots) {
        this.trustDomain = trustDomain;
        this.roots = roots;
    }

    /** @throws IllegalArgumentException when a root is not a CA certificate or the list is empty */
    public static TrustBundle of(String trustDomain, List<X509Certificate> roots) {
        SpiffeId.checkTrustDomain(trustDomain);
        Objects.requireNonNull(roots, "roots");
        if (roots.isEmpty()) {
            throw new IllegalArgumentException("trust bundle for '" + trustDomain + "' has no root (expected: at least one)");
        }
        LinkedHashSet<X509Certificate> unique = new LinkedHashSet<>();
        for (X509Certificate root : roots) {
            if (!X509s.isCa(root)) {
                throw new IllegalArgumentException("trust bundle for '" + trustDomain + "': certificate '" + X509s.subject(root)
                        + "' is not a CA (expected: basicConstraints CA=true)");
            }
            unique.add(root);
        }
        return new TrustBundle(trustDomain, List.copyOf(unique));
    }

    public static TrustBundle fromPem(String trustDomain, String pem) {
        return of(trustDomain, Pem.decodeCertificates(pem));
    }

    public static TrustBundle read(Path file, String trustDomain) throws IOException {
        try {
            return fromPem(trustDomain, Files.readString(file, StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads a bundle and takes the trust domain from its roots' {@code spiffe://<trust-domain>} URI SAN
     * (Trellis roots carry one).
     */
    public static TrustBundle read(Path file) throws IOException {
        List<X509Certificate> roots = Pem.readCertificates(file);
        Set<String> domains = new LinkedHashSet<>();
        for (X509Certificate root : roots) {
            for (String uri : X509s.uriSans(root)) {
                if (uri.startsWith("spiffe://")) {
                    String td = uri.substring("spiffe://".length());
                    int slash = td.indexOf('/');
                    domains.add(slash < 0 ? td : td.substring(0, slash));
                }
            }
        }
        if (domains.size() != 1) {
            throw new IllegalArgumentException(file + ": roots name trust domains " + domains
                    + " (expected: exactly one; pass the trust domain explicitly)");
        }
        return of(domains.iterator().next(), roots);
    }

    public String trustDomain() {
        return trustDomain;
    }

    public List<X509Certificate> roots() {
        return roots;
    }

    public boolean contains(X509Certificate root) {
        return roots.contains(root);
    }

    public TrustBundle with(X509Certificate root) {
        List<X509Certificate> next = new ArrayList<>(roots);
        next.add(root);
        return of(trustDomain, next);
    }

    public TrustBundle without(X509Certificate root) {
        List<X509Certificate> next = new ArrayList<>(roots);
        next.remove(root);
        return of(trustDomain, next);
    }

    public Set<TrustAnchor> trustAnchors() {
        return roots.stream().map(r -> new TrustAnchor(r, null)).collect(Collectors.toUnmodifiableSet());
    }

    public String toPem() {
        return Pem.encodeCertificates(roots);
    }

    /** Writes the bundle atomically, readable by everyone (it holds no secret). */
    public void write(Path file) throws IOException {
        AtomicFiles.write(file, toPem(), AtomicFiles.WORLD_READABLE);
    }

    /**
     * As {@link #pkixTrustManager()}, but validity is checked at {@code at} (an injected clock's
     * time) instead of the system's, like every workload check; hostname checks stay the JDK's.
     */
    public javax.net.ssl.X509ExtendedTrustManager pkixTrustManager(java.time.Instant at) {
        try {
            Set<TrustAnchor> anchors = new LinkedHashSet<>();
            for (X509Certificate r : roots) anchors.add(new TrustAnchor(r, null));
            java.security.cert.PKIXBuilderParameters p = new java.security.cert.PKIXBuilderParameters(anchors,
                    new java.security.cert.X509CertSelector());
            p.setRevocationEnabled(false);
            p.setDate(java.util.Date.from(at));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(new javax.net.ssl.CertPathTrustManagerParameters(p));
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof javax.net.ssl.X509ExtendedTrustManager x) return x;
            }
            throw new IllegalStateException("no X509ExtendedTrustManager from " + tmf.getAlgorithm());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build PKIX trust manager: " + e.getMessage(), e);
        }
    }

    /**
     * A plain PKIX trust manager over these roots, for servers that are not workloads (the control
     * plane's gRPC port has DNS/IP SANs, not a SPIFFE ID). Workload peers use {@link SvidTrustManager}.
     */
    public X509TrustManager pkixTrustManager() {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            for (int i = 0; i < roots.size(); i++) {
                ks.setCertificateEntry("root-" + i, roots.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("no X509TrustManager from " + tmf.getAlgorithm());
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build PKIX trust manager: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrustBundle b && trustDomain.equals(b.trustDomain) && roots.equals(b.roots);
    }

    @Override
    public int hashCode() {
        return trustDomain.hashCode() * 31 + roots.hashCode();
    }

    @Override
    public String toString() {
        return "TrustBundle{" + trustDomain + ", roots=" + roots.stream().map(X509s::subject).toList() + "}";
    }
}
