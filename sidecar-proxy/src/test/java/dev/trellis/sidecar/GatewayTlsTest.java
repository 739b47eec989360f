package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.TestPki;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The gateway's HTTPS listener: curl over TLS 1.2/1.3 with h2 and http/1.1, and a certificate replaced on disk. */
class GatewayTlsTest {
    static TestPki pki;
    static Backend app;
    static Proxy proxy;
    static Path cert;
    static Path key;

    @BeforeAll
    static void start() throws Exception {
        pki = new TestPki();
        app = new Backend("app");
        Path[] first = pki.leaf("first", "spiffe://test.local/ns/default/sa/gateway");
        cert = pki.dir.resolve("live.pem");
        key = pki.dir.resolve("live-key.pem");
        Files.copy(first[0], cert);
        Files.copy(first[1], key);
        proxy = Proxy.start(bootstrap(listener("https", "", vhost(route("/", "app")), TlsTest.downstreamTls(new Path[] {cert, key}, null, false)),
                cluster("app", "", app.port())));
        proxy.sidecar.watchCertificates(Duration.ofMillis(100));
    }

    @AfterAll
    static void stop() {
        proxy.close();
        app.close();
    }

    static String curl(String... args) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("curl", "-sS", "--cacert", pki.ca().toString(),
                "-o", "/dev/null", "-w", "%{http_code} %{http_version}"));
        cmd.addAll(java.util.List.of(args));
        cmd.add("https://localhost:" + proxy.port("https") + "/hello");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    }

    static boolean hasCurl() {
        try {
            return new ProcessBuilder("curl", "--version").start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void curlSpeaksH2AndHttp11OverTls12And13() throws Exception {
        Assumptions.assumeTrue(hasCurl(), "curl is not installed: skipping the curl TLS check");
        assertThat(curl("--http2")).isEqualTo("200 2");
        assertThat(curl("--http1.1")).isEqualTo("200 1.1");
        assertThat(curl("--http1.1", "--tlsv1.2", "--tls-max", "1.2")).isEqualTo("200 1.1");
        assertThat(curl("--http2", "--tlsv1.3")).isEqualTo("200 2");
        // TLS 1.1 and older are refused
        assertThat(curl("--tlsv1.1", "--tls-max", "1.1")).endsWith("000 0");
    }

    static SSLSocket connect() throws Exception {
        SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory().createSocket("localhost", proxy.port("https"));
        s.setSoTimeout(10_000);
        s.startHandshake();
        return s;
    }

    static String subject(SSLSocket s) throws Exception {
        return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }

    static String get(SSLSocket s) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
        String status = in.readLine();
        int length = 0;
        String line;
        while (!(line = in.readLine()).isEmpty()) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        char[] body = new char[length];
        int read = 0;
        while (read < length) {
            read += in.read(body, read, length - read);
        }
        return status;
    }

    @Test
    void replacedCertificateIsServedAndOpenConnectionsStay() throws Exception {
        SSLSocket before = connect();
        assertThat(subject(before)).isEqualTo("CN=first");
        assertThat(get(before)).isEqualTo("HTTP/1.1 200 OK");

        Path[] second = pki.leaf("second", "spiffe://test.local/ns/default/sa/gateway");
        // replace both files the way tools do: write aside, then rename over
        Path tmpCert = Files.copy(second[0], pki.dir.resolve("live.pem.tmp"));
        Path tmpKey = Files.copy(second[1], pki.dir.resolve("live-key.pem.tmp"));
        Files.move(tmpKey, key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.move(tmpCert, cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
            try (SSLSocket s = connect()) {
                return subject(s).equals("CN=second");
            }
        });
        // the connection opened before still works, on the old certificate
        assertThat(get(before)).isEqualTo("HTTP/1.1 200 OK");
        assertThat(subject(before)).isEqualTo("CN=first");
        before.close();
    }
}
