package dev.trellis.certs;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;

/** Key pairs for mesh certificates. A workload's private key is made in its own process and never leaves it. */
public final class KeyPairs {
    private KeyPairs() {}

    /** A fresh ECDSA key pair on NIST P-256 (secp256r1), the mesh default for CAs and leaves. */
    public static KeyPair ecP256() {
        try {
            KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
            gen.initialize(new ECGenParameterSpec("secp256r1"));
            return gen.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM cannot generate EC P-256 keys", e);
        }
    }
}
