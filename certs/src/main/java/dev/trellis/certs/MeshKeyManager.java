package dev.trellis.certs;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.function.Supplier;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A JSSE key manager that always presents the current certificate of a supplier (for example
 * {@code rotator.current()} or {@link RotatingSslContext#certifiedKey()}), read at each handshake.
 * For TLS stacks configured with key managers rather than Netty contexts, such as grpc's
 * {@code TlsChannelCredentials}: the sidecar's renewals to the control plane present the current
 * certificate without rebuilding the channel.
 */
public final class MeshKeyManager extends X509ExtendedKeyManager {
    private final Supplier<CertifiedKey> current;
    /** The key last handed out by alias, so chain and key of one handshake match even if a swap happens in between. */
    private volatile CertifiedKey chosen;

    public MeshKeyManager(Supplier<CertifiedKey> current) {
        this.current = Objects.requireNonNull(current, "current");
    }

    private CertifiedKey key() {
        return current.get();
    }

    private static String aliasOf(CertifiedKey key) {
        return "mesh-" + key.leaf().getSerialNumber().toString(16);
    }

    private CertifiedKey byAlias(String alias) {
        CertifiedKey c = chosen;
        if (c != null && aliasOf(c).equals(alias)) {
            return c;
        }
        CertifiedKey k = key();
        return k != null && aliasOf(k).equals(alias) ? k : null;
    }

    private String alias(String[] keyTypes) {
        CertifiedKey key = key();
        if (key == null) {
            return null;
        }
        if (keyTypes == null) {
            chosen = key;
            return aliasOf(key);
        }
        String algorithm = key.privateKey().getAlgorithm();
        for (String type : keyTypes) {
            // JSSE asks with "EC", OpenSSL-backed engines with "EC_EC"/"ECDHE_ECDSA"-style names.
            if (type != null && (type.equals(algorithm) || type.startsWith(algorithm + "_") || type.endsWith("_" + algorithm)
                    || (algorithm.equals("EC") && type.contains("ECDSA")))) {
                chosen = key;
                return aliasOf(key);
            }
        }
        return null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        String alias = alias(new String[] {keyType});
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return alias(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return alias(keyTypes);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return getClientAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return alias(new String[] {keyType});
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return alias(new String[] {keyType});
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        CertifiedKey key = byAlias(alias);
        return key == null ? null : key.chain().toArray(X509Certificate[]::new);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        CertifiedKey key = byAlias(alias);
        return key == null ? null : key.privateKey();
    }
}
