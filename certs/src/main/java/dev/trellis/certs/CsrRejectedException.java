package dev.trellis.certs;

/** The CA refused to sign a CSR. The message names the CSR's request and what was expected. */
public final class CsrRejectedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why a CSR was refused. */
    public enum Reason {
        /** The CSR's signature does not verify with its own public key: no proof of possession. */
        INVALID_SIGNATURE,
        /** The CSR asks for another identity (or extra names) than the one the caller authorised. */
        IDENTITY_MISMATCH,
        /** The CSR's key is not EC P-256/P-384 or RSA of at least 2048 bits. */
        UNSUPPORTED_KEY
    }

    private final Reason reason;

    public CsrRejectedException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
