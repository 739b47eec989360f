package dev.trellis.certs;

import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.PKIXReason;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

import dev.trellis.certs.SvidValidationException.Reason;
import dev.trellis.certs.internal.X509s;

/**
 * Checks a peer's certificate chain against the X509-SVID rules: it chains to a root of the
 * {@link TrustBundle} (PKIX, at the injected clock's time), every certificate is within its
 * validity, the leaf is not a CA, may sign, has exactly one URI SAN which is a SPIFFE ID of the
 * bundle's trust domain, and (optionally) is one of the expected IDs. Immutable and thread-safe.
 */
public final class SvidValidator {
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String ANY_EKU = "2.5.29.37.0";

    /** Which side of a TLS connection the peer is, for the extended key usage check. */
    public enum PeerRole { CLIENT, SERVER }

    private final TrustBundle bundle;
    private final Clock clock;

    public SvidValidator(TrustBundle bundle, Clock clock) {
        this.bundle = Objects.requireNonNull(bundle, "bundle");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public TrustBundle trustBundle() {
        return bundle;
    }

    /** Validates a chain (leaf first) from any workload of the trust domain. */
    public SpiffeId validate(List<X509Certificate> chain, PeerRole role) throws SvidValidationException {
        return validate(chain, role, Set.of());
    }

    /**
     * Validates a chain (leaf first).
     *
     * @param allowed the IDs the peer may have; empty means any ID of the trust domain
     * @return the peer's SPIFFE ID
     * @throws SvidValidationException with the specific reason of the refusal
     */
    public SpiffeId validate(List<X509Certificate> chain, PeerRole role, Set<SpiffeId> allowed) throws SvidValidationException {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(allowed, "allowed");
        if (chain == null || chain.isEmpty()) {
            throw new SvidValidationException(Reason.EMPTY_CHAIN, "peer sent no certificate");
        }
        X509Certificate leaf = chain.get(0);
        String leafName = describe(leaf);
        // Peers may append a root; it adds nothing and must not count as an intermediate.
        List<X509Certificate> path = new ArrayList<>();
        for (X509Certificate c : chain) {
            if (!bundle.contains(c)) {
                path.add(c);
            }
        }
        if (path.isEmpty()) {
            throw new SvidValidationException(Reason.LEAF_IS_CA, leafName + " is a root of the trust bundle");
        }
        checkIssuerKnown(path);
        Instant now = clock.instant();
        for (X509Certificate c : path) {
            try {
                c.checkValidity(Date.from(now));
            } catch (CertificateExpiredException e) {
                throw new SvidValidationException(Reason.EXPIRED, describe(c) + " expired at "
                        + c.getNotAfter().toInstant() + " (now: " + now + ")");
            } catch (CertificateNotYetValidException e) {
                throw new SvidValidationException(Reason.NOT_YET_VALID, describe(c) + " is valid from "
                        + c.getNotBefore().toInstant() + " (now: " + now + ")");
            }
        }
        if (X509s.isCa(leaf)) {
            throw new SvidValidationException(Reason.LEAF_IS_CA, leafName + " has basicConstraints CA=true (expected: CA=false)");
        }
        checkKeyUsage(leaf, leafName, role);
        List<String> uris = X509s.uriSans(leaf);
        if (uris.isEmpty()) {
            throw new SvidValidationException(Reason.NO_URI_SAN, leafName + " has no URI SAN (expected: one spiffe:// URI)");
        }
        if (uris.size() > 1) {
            throw new SvidValidationException(Reason.MULTIPLE_URI_SANS, leafName + " has " + uris.size() + " URI SANs " + uris
                    + " (expected: exactly one)");
        }
        SpiffeId id;
        try {
            id = SpiffeId.parse(uris.get(0));
        } catch (IllegalArgumentException e) {
            throw new SvidValidationException(Reason.NOT_SPIFFE_ID, leafName + ": " + e.getMessage());
        }
        if (!id.trustDomain().equals(bundle.trustDomain())) {
            throw new SvidValidationException(Reason.WRONG_TRUST_DOMAIN, "peer is " + id + " (expected: trust domain '"
                    + bundle.trustDomain() + "')");
        }
        checkPkix(path, now, leafName);
        if (!allowed.isEmpty() && !allowed.contains(id)) {
            throw new SvidValidationException(Reason.WRONG_SPIFFE_ID, "peer is " + id + " (expected: "
                    + (allowed.size() == 1 ? allowed.iterator().next()
                       : allowed.stream().map(Object::toString).sorted().collect(Collectors.joining(", ", "one of [", "]")))
                    + ")");
        }
        return id;
    }

    /** The top of the presented path must be signed by a root of the bundle; otherwise the CA is unknown. */
    private void checkIssuerKnown(List<X509Certificate> path) throws SvidValidationException {
        X509Certificate top = path.get(path.size() - 1);
        for (X509Certificate root : bundle.roots()) {
            if (root.getSubjectX500Principal().equals(top.getIssuerX500Principal())) {
                try {
                    top.verify(root.getPublicKey());
                    return;
                } catch (GeneralSecurityException e) {
                    // same name, other key: keep looking, then report unknown CA
                }
            }
        }
        throw new SvidValidationException(Reason.UNKNOWN_CA, describe(top) + " is issued by '" + top.getIssuerX500Principal().getName()
                + "', which is not a root of trust domain '" + bundle.trustDomain() + "' (bundle: "
                + bundle.roots().stream().map(X509s::subject).map(s -> "'" + s + "'").collect(Collectors.joining(", ")) + ")");
    }

    private static void checkKeyUsage(X509Certificate leaf, String leafName, PeerRole role) throws SvidValidationException {
        boolean[] ku = leaf.getKeyUsage();
        if (ku != null) {
            if (!ku[0]) {
                throw new SvidValidationException(Reason.BAD_KEY_USAGE, leafName + " lacks digitalSignature key usage");
            }
            if (ku.length > 6 && (ku[5] || ku[6])) {
                throw new SvidValidationException(Reason.BAD_KEY_USAGE, leafName + " has keyCertSign or cRLSign key usage (expected: neither on a leaf)");
            }
        }
        List<String> eku;
        try {
            eku = leaf.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            throw new SvidValidationException(Reason.BAD_KEY_USAGE, leafName + ": unreadable extended key usage");
        }
        String needed = role == PeerRole.SERVER ? SERVER_AUTH : CLIENT_AUTH;
        if (eku != null && !eku.contains(needed) && !eku.contains(ANY_EKU)) {
            throw new SvidValidationException(Reason.BAD_KEY_USAGE, leafName + " lacks extended key usage "
                    + (role == PeerRole.SERVER ? "serverAuth" : "clientAuth") + " (has: " + eku + ")");
        }
    }

    private void checkPkix(List<X509Certificate> path, Instant now, String leafName) throws SvidValidationException {
        try {
            CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
            PKIXParameters params = new PKIXParameters(bundle.trustAnchors());
            params.setRevocationEnabled(false);
            params.setDate(Date.from(now));
            CertPathValidator.getInstance("PKIX").validate(certPath, params);
        } catch (CertPathValidatorException e) {
            CertPathValidatorException.Reason r = e.getReason();
            Reason reason = r == CertPathValidatorException.BasicReason.EXPIRED ? Reason.EXPIRED
                    : r == CertPathValidatorException.BasicReason.NOT_YET_VALID ? Reason.NOT_YET_VALID
                    : r == PKIXReason.NO_TRUST_ANCHOR ? Reason.UNKNOWN_CA
                    : Reason.INVALID_CHAIN;
            throw new SvidValidationException(reason, leafName + ": chain to trust domain '" + bundle.trustDomain()
                    + "' does not validate: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new SvidValidationException(Reason.INVALID_CHAIN, leafName + ": " + e.getMessage());
        }
    }

    private static String describe(X509Certificate cert) {
        List<String> uris = X509s.uriSans(cert);
        return "certificate '" + (uris.size() == 1 ? uris.get(0) : X509s.subject(cert)) + "'";
    }
}
