package dev.trellis.certs;

import static dev.trellis.certs.TestPki.BILLING;
import static dev.trellis.certs.TestPki.NOTIFY;
import static dev.trellis.certs.TestPki.TD;
import static dev.trellis.certs.TestPki.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files and the TLS port as the {@code openssl} command line sees them (skipped without /usr/bin/openssl). */
class OpenSslInteropTest {
    private static final Path OPENSSL = Path.of("/usr/bin/openssl");

    @TempDir
    Path dir;
    private TlsLoopback loop;

    record Result(int exit, String output) {}

    @BeforeEach
    void requireOpenssl() {
        assumeThat(Files.isExecutable(OPENSSL)).as("/usr/bin/openssl present").isTrue();
        loop = new TlsLoopback();
    }

    @AfterEach
    void stop() {
        if (loop != null) {
            loop.close();
        }
    }

    private Result openssl(Path stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(OPENSSL.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.redirectInput(stdin != null ? ProcessBuilder.Redirect.from(stdin.toFile()) : ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("openssl " + String.join(" ", args) + " did not finish in 30 s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void opensslVerifiesLeavesAgainstThePersistedBundleAcrossRootRotation() throws Exception {
        CertificateAuthority ca = CertificateAuthority.builder(TD).directory(dir.resolve("ca")).build();
        CertifiedKey oldLeaf = TestPki.workload(ca, USER, Duration.ofHours(24));
        ca.addRoot();
        ca.switchToNewRoot();
        CertifiedKey newLeaf = TestPki.workload(ca, USER, Duration.ofHours(24));
        write("old.pem", oldLeaf.chainPem());
        write("new.pem", newLeaf.chainPem());
        String bundle = "ca/" + CertificateAuthority.BUNDLE_FILE;

        Result r = openssl(null, "verify", "-CAfile", bundle, "-purpose", "sslclient", "old.pem", "new.pem");
        assertThat(r.output()).contains("old.pem: OK", "new.pem: OK");
        assertThat(r.exit()).isZero();
        r = openssl(null, "verify", "-CAfile", "ca/" + CertificateAuthority.CERT_FILE, "-purpose", "sslserver", "new.pem");
        assertThat(r.exit()).as(r.output()).isZero();
        r = openssl(null, "verify", "-CAfile", "ca/" + CertificateAuthority.CERT_FILE, "old.pem");
        assertThat(r.exit()).as("the new root alone does not vouch for the old leaf").isNotZero();
        r = openssl(null, "pkey", "-in", "ca/" + CertificateAuthority.KEY_FILE, "-noout");
        assertThat(r.exit()).as("openssl reads the CA key: " + r.output()).isZero();
    }

    @Test
    void signsAnOpensslMadeCsrOnlyForTheAuthorisedIdentity() throws Exception {
        TestPki pki = new TestPki(java.time.Clock.systemUTC());
        assertThat(openssl(null, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "key.pem").exit()).isZero();
        Result r = openssl(null, "req", "-new", "-key", "key.pem", "-subj", "/CN=user-service",
                "-addext", "subjectAltName=URI:" + USER, "-out", "csr.pem");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(Files.readString(dir.resolve("key.pem"))).contains("BEGIN EC PRIVATE KEY");

        CertificateRequest csr = CertificateRequest.fromPem(Files.readString(dir.resolve("csr.pem")));
        assertThatThrownBy(() -> pki.ca.signWorkload(csr, BILLING))
                .isInstanceOfSatisfying(CsrRejectedException.class,
                        e -> assertThat(e.reason()).isEqualTo(CsrRejectedException.Reason.IDENTITY_MISMATCH));
        CertifiedKey key = new CertifiedKey(Pem.readPrivateKey(dir.resolve("key.pem")), pki.ca.signWorkload(csr, USER));
        assertThat(key.spiffeId()).contains(USER);
        write("leaf.pem", key.chainPem());
        pki.bundle().write(dir.resolve("bundle.pem"));
        r = openssl(null, "verify", "-CAfile", "bundle.pem", "leaf.pem");
        assertThat(r.exit()).as(r.output()).isZero();
        r = openssl(null, "x509", "-in", "leaf.pem", "-noout", "-ext", "subjectAltName,basicConstraints,extendedKeyUsage");
        assertThat(r.output()).contains("URI:" + USER, "CA:FALSE", "TLS Web Server Authentication", "TLS Web Client Authentication");
    }

    @Test
    void opensslSClientIsAMeshClientOfTheInboundPort() throws Exception {
        TestPki pki = new TestPki(java.time.Clock.systemUTC());
        CertifiedKey client = pki.workload(USER);
        write("client.pem", client.chainPem());
        write("client-key.pem", client.privateKeyPem());
        pki.bundle().write(dir.resolve("bundle.pem"));
        Path ping = write("ping.txt", "ping\n");

        try (var server = loop.server(MeshSslContextBuilder.forServer(pki.workload(NOTIFY), pki.bundle()).build())) {
            String port = String.valueOf(server.port());
            Result r = openssl(ping, "s_client", "-connect", "127.0.0.1:" + port, "-cert", "client.pem", "-key", "client-key.pem",
                    "-CAfile", "bundle.pem", "-alpn", "h2", "-verify_return_error");
            assertThat(r.output()).contains("Verify return code: 0 (ok)", "ALPN protocol: h2", "TLSv1.3");
            var outcome = server.nextOutcome();
            assertThat(outcome.success()).as("server handshake: %s", outcome.cause()).isTrue();
            assertThat(outcome.peer()).contains(USER);

            // STRICT: without a client certificate the server refuses.
            openssl(ping, "s_client", "-connect", "127.0.0.1:" + port, "-CAfile", "bundle.pem", "-alpn", "h2");
            assertThat(server.nextOutcome().success()).isFalse();
        }
    }
}
