package dev.trellis.sidecar.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.certs.CertificateAuthority;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityFilesTest {
    @TempDir
    Path tmp;

    @Test
    void flagsNameTheFileAndWhatWasExpected() throws Exception {
        assertThatThrownBy(() -> IdentityFiles.bundle(tmp.resolve("missing.pem")))
                .hasMessage("--ca-file: '" + tmp.resolve("missing.pem") + "': no such file (expected: the control plane's ca-bundle.pem)");
        Path empty = Files.writeString(tmp.resolve("token"), "\n");
        assertThatThrownBy(() -> IdentityFiles.token(empty)).hasMessageContaining("--token-file: '" + empty + "' is empty");
        assertThat(IdentityFiles.token(null)).isEmpty();
        assertThat(IdentityFiles.token(Files.writeString(tmp.resolve("t2"), "abc.def\n"))).contains("abc.def");

        CertificateAuthority ca = CertificateAuthority.builder("corp.example").directory(tmp.resolve("ca")).build();
        assertThat(IdentityFiles.bundle(tmp.resolve("ca").resolve(CertificateAuthority.BUNDLE_FILE)).trustDomain()).isEqualTo("corp.example");
    }
}
