package dev.trellis.certs;

import java.security.cert.CertificateException;
import java.util.Optional;

/**
 * A peer certificate broke an X509-SVID rule. {@link #reason()} says which; the message names the
 * certificate, the value found and what was expected.
 */
public final class SvidValidationException extends CertificateException {
    private static final long serialVersionUID = 1L;

    /** Why a peer certificate was refused; {@link #label()} is the short text used in messages and logs. */
    public enum Reason {
        EMPTY_CHAIN("empty chain"),
        UNKNOWN_CA("unknown CA"),
        EXPIRED("expired"),
        NOT_YET_VALID("not yet valid"),
        INVALID_CHAIN("invalid chain"),
        LEAF_IS_CA("leaf is a CA"),
        BAD_KEY_USAGE("bad key usage"),
        NO_URI_SAN("no URI SAN"),
        MULTIPLE_URI_SANS("more than one URI SAN"),
        NOT_SPIFFE_ID("not a SPIFFE ID"),
        WRONG_TRUST_DOMAIN("wrong trust domain"),
        WRONG_SPIFFE_ID("wrong SPIFFE ID");

        private final String label;

        Reason(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private final Reason reason;

    public SvidValidationException(Reason reason, String detail) {
        super(reason.label() + ": " + detail);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /** The SVID refusal somewhere in a cause chain (for example a failed handshake's cause). */
    public static Optional<SvidValidationException> find(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof SvidValidationException e) {
                return Optional.of(e);
            }
            for (Throwable s : c.getSuppressed()) {
                Optional<SvidValidationException> found = find(s);
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        return Optional.empty();
    }
}
