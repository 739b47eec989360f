/**
 * The mesh PKI shared by the control plane and the sidecars.
 *
 * <ul>
 *   <li>Identities: {@link dev.trellis.certs.SpiffeId}.</li>
 *   <li>CA side: {@link dev.trellis.certs.CertificateAuthority} signs a workload's
 *       {@link dev.trellis.certs.CertificateRequest} for the identity the caller authorised, issues the
 *       control plane's server certificate, publishes the {@link dev.trellis.certs.TrustBundle} and
 *       rotates its root with overlap.</li>
 *   <li>Workload side: {@link dev.trellis.certs.KeyPairs} and {@link dev.trellis.certs.CertificateRequest}
 *       (the key never leaves the process), {@link dev.trellis.certs.CertifiedKey} (key + chain),
 *       {@link dev.trellis.certs.Pem}.</li>
 *   <li>Peer checks: {@link dev.trellis.certs.SvidValidator} (X509-SVID rules, one
 *       {@link dev.trellis.certs.SvidValidationException.Reason} per refusal), applied in TLS by
 *       {@link dev.trellis.certs.SvidTrustManager}; {@link dev.trellis.certs.PeerIdentity} reads the
 *       verified peer ID of a connection.</li>
 *   <li>TLS: {@link dev.trellis.certs.MeshSslContextBuilder} (Netty contexts, OpenSSL or JDK per
 *       {@link dev.trellis.certs.TlsProvider}), {@link dev.trellis.certs.RotatingSslContext} (atomic
 *       swaps), {@link dev.trellis.certs.MeshKeyManager} (for stacks configured with key managers).</li>
 *   <li>Renewal: {@link dev.trellis.certs.CertificateRotator}.</li>
 * </ul>
 */
package dev.trellis.certs;
