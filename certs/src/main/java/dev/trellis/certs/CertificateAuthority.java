package dev.trellis.certs;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

import org.bouncycastle.asn1.x509.KeyUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.trellis.certs.internal.AtomicFiles;
import dev.trellis.certs.internal.CertificateBuilder;
import dev.trellis.certs.internal.X509s;

/**
 * The mesh certificate authority: signs workload CSRs into X509-SVIDs and issues the control
 * plane's own server certificate.
 *
 * <p>It either generates a root (ECDSA P-256, 10 years, path length 0) or uses an operator's root or
 * intermediate. With a {@linkplain Builder#directory directory} it persists its state there:
 * {@value #KEY_FILE} (mode 0600), {@value #CERT_FILE}, {@value #BUNDLE_FILE} (every trusted root),
 * the staged next root during a rotation, and {@value #STATE_FILE} (until when each root's
 * certificates are valid).
 *
 * <p>Root rotation with overlap: {@link #addRoot()} stages a new root and adds it to the bundle;
 * once every workload has the bundle, {@link #switchToNewRoot()} signs with it; {@link #dropRetiredRoots()}
 * removes an old root once nothing it signed is still valid. Signing is thread-safe and lock-free.
 */
public final class CertificateAuthority {
    private static final Logger log = LoggerFactory.getLogger(CertificateAuthority.class);

    public static final String KEY_FILE = "ca-key.pem";
    public static final String CERT_FILE = "ca-cert.pem";
    public static final String BUNDLE_FILE = "ca-bundle.pem";
    public static final String NEXT_KEY_FILE = "ca-next-key.pem";
    public static final String NEXT_CERT_FILE = "ca-next-cert.pem";
    public static final String STATE_FILE = "ca-state.properties";

    public static final Duration DEFAULT_LEAF_LIFETIME = Duration.ofHours(24);
    public static final Duration ROOT_LIFETIME = Duration.ofDays(3650);
    /** Leaves start this much in the past so a peer whose clock is a little behind accepts them. */
    public static final Duration BACKDATE = Duration.ofMinutes(1);
    private static final Duration WATERMARK_MARGIN = Duration.ofHours(1);

    private final String trustDomain;
    private final Clock clock;
    private final Path directory;
    private final Duration defaultLeafLifetime;
    private final int rootPathLength;
    private final Object writeLock = new Object();
    /** Per root (SHA-256): an upper bound of the notAfter of everything signed under it. */
    private final Map<String, Instant> issuedUntil = new HashMap<>();
    private volatile State state;

    /** The active signing key with its chain; {@code anchor} is the bundle root it chains to. */
    private record Signer(PrivateKey key, List<X509Certificate> chain, X509Certificate anchor, List<X509Certificate> issued) {
        static Signer of(PrivateKey key, List<X509Certificate> chain) {
            X509Certificate anchor = chain.get(chain.size() - 1);
            // Leaves carry the intermediates, never the anchor: peers already have it in their bundle.
            List<X509Certificate> issued = chain.subList(0, chain.size() - 1).stream()
                    .filter(c -> !X509s.isSelfSigned(c)).toList();
            return new Signer(key, List.copyOf(chain), anchor, issued);
        }

        X509Certificate cert() {
            return chain.get(0);
        }
    }

    private record State(Signer signer, Signer staged, TrustBundle bundle) {}

    /** How a root in the bundle is used. */
    public enum RootRole {
        /** Signs new certificates. */
        SIGNING,
        /** Added by {@link #addRoot()}, trusted, not signing yet. */
        STAGED,
        /** Trusted while certificates it signed may still be valid. */
        RETIRED
    }

    /**
     * A root of the bundle as {@code ./trellis certs status} shows it.
     *
     * @param issuedUntil the latest expiry of certificates issued under this root, when known
     */
    public record RootStatus(X509Certificate certificate, RootRole role, Optional<Instant> issuedUntil) {
        public Instant notAfter() {
            return certificate.getNotAfter().toInstant();
        }

        public String sha256() {
            return X509s.sha256(certificate);
        }
    }

    private CertificateAuthority(Builder b) {
        this.trustDomain = b.trustDomain;
        this.clock = b.clock;
        this.directory = b.directory;
        this.defaultLeafLifetime = b.leafLifetime;
        this.rootPathLength = b.rootPathLength;
    }

    public static Builder builder(String trustDomain) {
        return new Builder(trustDomain);
    }

    /** Options of a {@link CertificateAuthority}; checked at once. */
    public static final class Builder {
        private final String trustDomain;
        private Clock clock = Clock.systemUTC();
        private Path directory;
        private Path operatorCert;
        private Path operatorKey;
        private Duration leafLifetime = DEFAULT_LEAF_LIFETIME;
        private int rootPathLength = 0;

        private Builder(String trustDomain) {
            this.trustDomain = SpiffeId.checkTrustDomain(trustDomain);
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Where the CA keeps its key, certificates, bundle and state; without one it lives in memory only. */
        public Builder directory(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /**
         * Uses an operator's root or intermediate (PEM chain, signing certificate first, optionally
         * up to its root) and its private key, instead of a generated root. The key file is read in
         * place, not copied.
         */
        public Builder operatorCa(Path certChainPem, Path privateKeyPem) {
            this.operatorCert = Objects.requireNonNull(certChainPem, "certChainPem");
            this.operatorKey = Objects.requireNonNull(privateKeyPem, "privateKeyPem");
            return this;
        }

        /** Lifetime of workload certificates when the caller does not give one (default 24 h). */
        public Builder leafLifetime(Duration lifetime) {
            this.leafLifetime = checkLifetime(lifetime);
            return this;
        }

        /** Path length constraint of generated roots (default 0: they sign leaves only). */
        public Builder rootPathLength(int pathLength) {
            if (pathLength < 0) {
                throw new IllegalArgumentException("rootPathLength: " + pathLength + " (expected: >= 0)");
            }
            this.rootPathLength = pathLength;
            return this;
        }

        /** Loads the CA from the directory, or creates it there on first start. */
        public CertificateAuthority build() throws IOException {
            CertificateAuthority ca = new CertificateAuthority(this);
            ca.init(operatorCert, operatorKey);
            return ca;
        }
    }

    private void init(Path operatorCert, Path operatorKey) throws IOException {
        Signer signer;
        if (operatorCert != null) {
            warnIfOpen(operatorKey);
            List<X509Certificate> chain = Pem.readCertificates(operatorCert);
            signer = checkSigner(Signer.of(Pem.readPrivateKey(operatorKey), chain), operatorCert.toString());
            log.info("CA uses the operator's {} '{}' from {}", X509s.isSelfSigned(signer.cert()) ? "root" : "intermediate",
                    X509s.subject(signer.cert()), operatorCert);
        } else if (directory != null && Files.exists(directory.resolve(KEY_FILE))) {
            signer = loadSigner(directory.resolve(CERT_FILE), directory.resolve(KEY_FILE));
            log.info("CA loaded root '{}' from {}", X509s.subject(signer.cert()), directory);
        } else {
            signer = generateRoot();
            if (directory != null) {
                writeSigner(signer, KEY_FILE, CERT_FILE);
            }
            log.info("CA created root '{}' valid until {}", X509s.subject(signer.cert()), signer.cert().getNotAfter().toInstant());
        }
        Signer staged = null;
        TrustBundle bundle = TrustBundle.of(trustDomain, List.of(signer.anchor()));
        if (directory != null) {
            Path bundleFile = directory.resolve(BUNDLE_FILE);
            if (Files.exists(bundleFile)) {
                TrustBundle existing = TrustBundle.read(bundleFile, trustDomain);
                bundle = existing.contains(signer.anchor()) ? existing : existing.with(signer.anchor());
            }
            if (Files.exists(directory.resolve(NEXT_KEY_FILE))) {
                staged = loadSigner(directory.resolve(NEXT_CERT_FILE), directory.resolve(NEXT_KEY_FILE));
                if (!bundle.contains(staged.anchor())) {
                    bundle = bundle.with(staged.anchor());
                }
            }
            loadState(signer);
            bundle.write(bundleFile);
        }
        state = new State(signer, staged, bundle);
    }

    public String trustDomain() {
        return trustDomain;
    }

    /** Every root workloads must trust now (publish it as {@code ca-bundle.pem} and push it to sidecars). */
    public TrustBundle trustBundle() {
        return state.bundle();
    }

    /** The certificate that signs new leaves (a root or an operator's intermediate). */
    public X509Certificate signingCertificate() {
        return state.signer().cert();
    }

    public Optional<Path> directory() {
        return Optional.ofNullable(directory);
    }

    /** Signs a workload CSR with the default leaf lifetime; see {@link #signWorkload(CertificateRequest, SpiffeId, Duration)}. */
    public List<X509Certificate> signWorkload(CertificateRequest csr, SpiffeId authorised) {
        return signWorkload(csr, authorised, defaultLeafLifetime);
    }

    /**
     * Signs a workload CSR into an X509-SVID for {@code authorised}, the identity the caller has
     * proven (join token or current certificate), never one taken from the CSR: a CSR that asks for
     * any other name is refused.
     *
     * @return the chain to present: the new leaf, then any intermediates
     * @throws CsrRejectedException when the CSR has no proof of possession, asks for another identity or has a weak key
     */
    public List<X509Certificate> signWorkload(CertificateRequest csr, SpiffeId authorised, Duration lifetime) {
        Objects.requireNonNull(csr, "csr");
        Objects.requireNonNull(authorised, "authorised");
        checkLifetime(lifetime);
        if (!authorised.trustDomain().equals(trustDomain)) {
            throw new IllegalArgumentException("authorised identity " + authorised + ": trust domain '"
                    + authorised.trustDomain() + "' (expected: '" + trustDomain + "')");
        }
        if (!csr.isSignatureValid()) {
            throw new CsrRejectedException(CsrRejectedException.Reason.INVALID_SIGNATURE,
                    "CSR for " + authorised + ": signature does not verify with the CSR's public key (no proof of possession)");
        }
        String expected = "uri:" + authorised;
        for (String san : csr.requestedSubjectAltNames()) {
            if (!san.equals(expected)) {
                throw new CsrRejectedException(CsrRejectedException.Reason.IDENTITY_MISMATCH,
                        "CSR asks for " + san + " (expected: only " + expected + ", the identity the caller is authorised for)");
            }
        }
        PublicKey key = csr.publicKey();
        checkWorkloadKey(key, authorised);
        State s = state;
        Instant now = clock.instant();
        CertificateBuilder b = new CertificateBuilder()
                .subject("O=" + authorised.trustDomain() + ",OU=" + authorised.namespace() + ",CN=" + authorised.service())
                .publicKey(key)
                .uri(authorised.toString())
                .keyUsage(KeyUsage.digitalSignature | (key instanceof RSAKey ? KeyUsage.keyEncipherment : KeyUsage.keyAgreement))
                .serverAuth().clientAuth();
        return issue(s.signer(), b, now, lifetime);
    }

    /**
     * Issues a server certificate (DNS and IP SANs, serverAuth) for {@code publicKey}: the control
     * plane's own gRPC port.
     */
    public List<X509Certificate> issueServerCertificate(PublicKey publicKey, Collection<String> dnsNames,
                                                        Collection<InetAddress> ipAddresses, Duration lifetime) {
        Objects.requireNonNull(publicKey, "publicKey");
        checkLifetime(lifetime);
        if (dnsNames.isEmpty() && ipAddresses.isEmpty()) {
            throw new IllegalArgumentException("server certificate: no DNS name or IP address (expected: at least one)");
        }
        String cn = dnsNames.isEmpty() ? ipAddresses.iterator().next().getHostAddress() : dnsNames.iterator().next();
        CertificateBuilder b = new CertificateBuilder()
                .subject("O=" + trustDomain + ",CN=" + cn)
                .publicKey(publicKey)
                .keyUsage(KeyUsage.digitalSignature | (publicKey instanceof RSAKey ? KeyUsage.keyEncipherment : KeyUsage.keyAgreement))
                .serverAuth();
        dnsNames.forEach(b::dns);
        ipAddresses.forEach(b::ip);
        return issue(state.signer(), b, clock.instant(), lifetime);
    }

    /** A fresh EC P-256 key with a server certificate from {@link #issueServerCertificate}. */
    public CertifiedKey newServerIdentity(Collection<String> dnsNames, Collection<InetAddress> ipAddresses, Duration lifetime) {
        KeyPair kp = KeyPairs.ecP256();
        return new CertifiedKey(kp.getPrivate(), issueServerCertificate(kp.getPublic(), dnsNames, ipAddresses, lifetime));
    }

    private List<X509Certificate> issue(Signer signer, CertificateBuilder b, Instant now, Duration lifetime) {
        Instant notAfter = now.plus(lifetime);
        Instant caNotAfter = signer.cert().getNotAfter().toInstant();
        if (notAfter.isAfter(caNotAfter)) {
            // A leaf must not outlive its issuer; it is shortened, and the renewal will move to the next root.
            log.warn("leaf lifetime {} cut to {}: signing certificate '{}' expires then", lifetime, caNotAfter, X509s.subject(signer.cert()));
            notAfter = caNotAfter;
        }
        if (!notAfter.isAfter(now)) {
            throw new IllegalStateException("signing certificate '" + X509s.subject(signer.cert()) + "' expired at " + caNotAfter);
        }
        recordIssued(signer.anchor(), notAfter);
        try {
            X509Certificate leaf = b.validity(now.minus(BACKDATE), notAfter).issuer(signer.cert(), signer.key()).build();
            List<X509Certificate> chain = new ArrayList<>(1 + signer.issued().size());
            chain.add(leaf);
            chain.addAll(signer.issued());
            return List.copyOf(chain);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign certificate: " + e.getMessage(), e);
        }
    }

    // ---- root rotation ----

    /**
     * Stages a new generated root and adds it to the bundle. Push the new bundle to every workload
     * before {@link #switchToNewRoot()}.
     *
     * @return the new root
     * @throws IllegalStateException when a root is already staged
     */
    public X509Certificate addRoot() throws IOException {
        synchronized (writeLock) {
            State s = state;
            if (s.staged() != null) {
                throw new IllegalStateException("root '" + X509s.subject(s.staged().cert()) + "' is already staged (expected: switch to it first)");
            }
            Signer next = generateRoot();
            TrustBundle bundle = s.bundle().with(next.anchor());
            if (directory != null) {
                writeSigner(next, NEXT_KEY_FILE, NEXT_CERT_FILE);
                bundle.write(directory.resolve(BUNDLE_FILE));
            }
            state = new State(s.signer(), next, bundle);
            log.info("CA staged new root '{}'; bundle now has {} roots", X509s.subject(next.cert()), bundle.roots().size());
            return next.cert();
        }
    }

    /**
     * Signs with the staged root from now on. The old root stays in the bundle until
     * {@link #dropRetiredRoots()} finds nothing it signed still valid.
     *
     * @return the new signing root
     * @throws IllegalStateException when no root is staged
     */
    public X509Certificate switchToNewRoot() throws IOException {
        synchronized (writeLock) {
            State s = state;
            if (s.staged() == null) {
                throw new IllegalStateException("no staged root to switch to (expected: addRoot() first)");
            }
            Signer next = s.staged();
            if (directory != null) {
                writeSigner(next, KEY_FILE, CERT_FILE);
                Files.deleteIfExists(directory.resolve(NEXT_KEY_FILE));
                Files.deleteIfExists(directory.resolve(NEXT_CERT_FILE));
            }
            state = new State(next, null, s.bundle());
            if (directory != null) {
                writeState();
            }
            log.info("CA signs with root '{}' now; '{}' is retired", X509s.subject(next.cert()), X509s.subject(s.signer().anchor()));
            return next.cert();
        }
    }

    /**
     * Removes from the bundle every root that neither signs nor is staged and under which no issued
     * certificate is still valid (or which has expired itself). Roots of unknown use stay until they expire.
     *
     * @return the roots removed
     */
    public List<X509Certificate> dropRetiredRoots() throws IOException {
        synchronized (writeLock) {
            State s = state;
            Instant now = clock.instant();
            List<X509Certificate> dropped = new ArrayList<>();
            TrustBundle bundle = s.bundle();
            for (RootStatus root : roots()) {
                if (root.role() != RootRole.RETIRED) {
                    continue;
                }
                boolean expired = !root.notAfter().isAfter(now);
                boolean unused = root.issuedUntil().map(until -> !until.isAfter(now)).orElse(false);
                if (expired || unused) {
                    dropped.add(root.certificate());
                    bundle = bundle.without(root.certificate());
                    issuedUntil.remove(root.sha256());
                }
            }
            if (!dropped.isEmpty()) {
                state = new State(s.signer(), s.staged(), bundle);
                if (directory != null) {
                    bundle.write(directory.resolve(BUNDLE_FILE));
                    writeState();
                }
                log.info("CA dropped retired roots {}", dropped.stream().map(X509s::subject).toList());
            }
            return dropped;
        }
    }

    /** Every root of the bundle with its role. */
    public List<RootStatus> roots() {
        State s = state;
        List<RootStatus> out = new ArrayList<>();
        for (X509Certificate root : s.bundle().roots()) {
            RootRole role = root.equals(s.signer().anchor()) ? RootRole.SIGNING
                    : s.staged() != null && root.equals(s.staged().anchor()) ? RootRole.STAGED : RootRole.RETIRED;
            Instant until;
            synchronized (issuedUntil) {
                until = issuedUntil.get(X509s.sha256(root));
            }
            out.add(new RootStatus(root, role, Optional.ofNullable(until)));
        }
        return List.copyOf(out);
    }

    // ---- internals ----

    private void recordIssued(X509Certificate anchor, Instant notAfter) {
        String fp = X509s.sha256(anchor);
        boolean persist;
        synchronized (issuedUntil) {
            Instant current = issuedUntil.get(fp);
            if (current != null && !notAfter.isAfter(current)) {
                return;
            }
            // Persisted as an upper bound with a margin, so the file is written at most about once an hour.
            issuedUntil.put(fp, directory == null ? notAfter : notAfter.plus(WATERMARK_MARGIN));
            persist = directory != null;
        }
        if (persist) {
            try {
                writeState();
            } catch (IOException e) {
                // Without a durable record a root could be dropped while its certificates are still in use.
                throw new UncheckedIOException("cannot record issued-until in " + directory.resolve(STATE_FILE), e);
            }
        }
    }

    private void loadState(Signer signer) throws IOException {
        Path file = directory.resolve(STATE_FILE);
        if (Files.exists(file)) {
            Properties p = new Properties();
            p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
            for (String name : p.stringPropertyNames()) {
                if (name.startsWith("issued-until.")) {
                    issuedUntil.put(name.substring("issued-until.".length()), Instant.parse(p.getProperty(name)));
                }
            }
            String previous = p.getProperty("signer");
            if (previous != null && !previous.equals(X509s.sha256(signer.anchor()))) {
                log.info("CA signing root changed since last start; root {} is retired", previous);
            }
        }
        state = new State(signer, null, TrustBundle.of(trustDomain, List.of(signer.anchor())));
        writeState();
    }

    private void writeState() throws IOException {
        synchronized (writeLock) {
            Map<String, String> sorted = new TreeMap<>();
            synchronized (issuedUntil) {
                issuedUntil.forEach((fp, until) -> sorted.put("issued-until." + fp, until.toString()));
            }
            sorted.put("signer", X509s.sha256(state.signer().anchor()));
            StringWriter w = new StringWriter();
            w.write("# Trellis CA state: issued-until.<root sha256> bounds the expiry of every certificate issued under that root.\n");
            sorted.forEach((k, v) -> w.write(k + "=" + v + "\n"));
            AtomicFiles.write(directory.resolve(STATE_FILE), w.toString(), AtomicFiles.OWNER_ONLY);
        }
    }

    private Signer generateRoot() {
        KeyPair kp = KeyPairs.ecP256();
        Instant now = clock.instant();
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd").withZone(ZoneOffset.UTC).format(now);
        // A unique name per root keeps chain building unambiguous while old and new roots overlap.
        String suffix = X509s.sha256Hex(kp.getPublic().getEncoded()).substring(0, 8);
        try {
            X509Certificate root = new CertificateBuilder()
                    .subject("O=" + trustDomain + ",CN=Trellis Root CA " + stamp + " " + suffix)
                    .publicKey(kp.getPublic())
                    .selfSigned(kp.getPrivate())
                    .validity(now.minus(BACKDATE), now.plus(ROOT_LIFETIME))
                    .ca(rootPathLength)
                    .keyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature)
                    .uri("spiffe://" + trustDomain)
                    .build();
            return Signer.of(kp.getPrivate(), List.of(root));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create root CA: " + e.getMessage(), e);
        }
    }

    private Signer loadSigner(Path certFile, Path keyFile) throws IOException {
        warnIfOpen(keyFile);
        return checkSigner(Signer.of(Pem.readPrivateKey(keyFile), Pem.readCertificates(certFile)), certFile.toString());
    }

    private Signer checkSigner(Signer signer, String source) {
        X509Certificate cert = signer.cert();
        if (!X509s.isCa(cert)) {
            throw new IllegalArgumentException(source + ": certificate '" + X509s.subject(cert) + "' is not a CA (expected: basicConstraints CA=true)");
        }
        boolean[] ku = cert.getKeyUsage();
        if (ku != null && !ku[5]) {
            throw new IllegalArgumentException(source + ": certificate '" + X509s.subject(cert) + "' lacks keyCertSign key usage");
        }
        new CertifiedKey(signer.key(), signer.chain()); // checks that the key matches the certificate
        for (String uri : X509s.uriSans(cert)) {
            if (uri.startsWith("spiffe://") && !uri.equals("spiffe://" + trustDomain) && !uri.startsWith("spiffe://" + trustDomain + "/")) {
                throw new IllegalArgumentException(source + ": CA certificate is for " + uri + " (expected: trust domain '" + trustDomain + "')");
            }
        }
        if (!cert.getNotAfter().toInstant().isAfter(clock.instant())) {
            throw new IllegalArgumentException(source + ": CA certificate '" + X509s.subject(cert) + "' expired at " + cert.getNotAfter().toInstant());
        }
        return signer;
    }

    private void writeSigner(Signer signer, String keyFile, String certFile) throws IOException {
        AtomicFiles.write(directory.resolve(keyFile), Pem.encodePrivateKey(signer.key()), AtomicFiles.OWNER_ONLY);
        AtomicFiles.write(directory.resolve(certFile), Pem.encodeCertificates(signer.chain()), AtomicFiles.WORLD_READABLE);
    }

    private static void warnIfOpen(Path keyFile) throws IOException {
        if (Files.exists(keyFile) && AtomicFiles.isGroupOrWorldAccessible(keyFile)) {
            log.warn("CA private key {} is readable by group or others (expected: mode 0600)", keyFile);
        }
    }

    private static void checkWorkloadKey(PublicKey key, SpiffeId id) {
        if (key instanceof ECKey ec) {
            int bits = ec.getParams().getOrder().bitLength();
            if (bits == 256 || bits == 384) {
                return;
            }
            throw new CsrRejectedException(CsrRejectedException.Reason.UNSUPPORTED_KEY,
                    "CSR for " + id + ": EC key of " + bits + " bits (expected: P-256 or P-384)");
        }
        if (key instanceof RSAKey rsa) {
            int bits = rsa.getModulus().bitLength();
            if (bits >= 2048) {
                return;
            }
            throw new CsrRejectedException(CsrRejectedException.Reason.UNSUPPORTED_KEY,
                    "CSR for " + id + ": RSA key of " + bits + " bits (expected: >= 2048)");
        }
        throw new CsrRejectedException(CsrRejectedException.Reason.UNSUPPORTED_KEY,
                "CSR for " + id + ": key algorithm " + key.getAlgorithm() + " (expected: EC or RSA)");
    }

    private static Duration checkLifetime(Duration lifetime) {
        Objects.requireNonNull(lifetime, "lifetime");
        if (lifetime.isNegative() || lifetime.isZero()) {
            throw new IllegalArgumentException("certificate lifetime " + lifetime + " (expected: > 0)");
        }
        return lifetime;
    }
}
