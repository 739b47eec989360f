package dev.trellis.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The shipped JVM defaults parse as the java launcher reads an argument file, and extra options come last. */
class JvmDefaultsTest {
    @Test
    void shippedDefaultsAreTheMeasuredSmallFootprintSettings() {
        List<String> o = JvmDefaults.options();
        assertThat(o).contains("-XX:+UseSerialGC");
        assertThat(o).anyMatch(s -> s.startsWith("-Xmx"));
        assertThat(o).allMatch(s -> s.startsWith("-") && !s.contains("#"));
    }

    @Test
    void nettyLeakDetectionAndJfrEventsAreOffInRunningSidecars() {
        assertThat(JvmDefaults.options())
                .contains("-Dio.netty.leakDetection.level=disabled", "-Dio.netty.jfr.enabled=false");
    }

    @Test
    void sidecarMainTurnsNettyJfrEventsOffUnlessTheJvmWasToldOtherwise() {
        Properties absent = new Properties();
        SidecarMain.nettyJfrOffUnlessSet(absent);
        assertThat(absent.getProperty(SidecarMain.NETTY_JFR)).isEqualTo("false");

        Properties given = new Properties();
        given.setProperty(SidecarMain.NETTY_JFR, "true");
        SidecarMain.nettyJfrOffUnlessSet(given);
        assertThat(given.getProperty(SidecarMain.NETTY_JFR)).isEqualTo("true");
    }

    @Test
    void extraOptionsFollowTheDefaultsSoTheyWin() {
        List<String> o = JvmDefaults.options("  -Xmx128m   -XX:+UseG1GC ");
        assertThat(o.subList(o.size() - 2, o.size())).containsExactly("-Xmx128m", "-XX:+UseG1GC");
        assertThat(JvmDefaults.options(" ")).isEqualTo(JvmDefaults.options());
        assertThat(JvmDefaults.options(null)).isEqualTo(JvmDefaults.options());
    }

    @Test
    void commentsAndBlankLinesAreIgnored() {
        assertThat(JvmDefaults.parse("# a comment\n\n-Xms8m  -Xmx64m # trailing\n\t-Xss512k\r\n"))
                .containsExactly("-Xms8m", "-Xmx64m", "-Xss512k");
    }
}
