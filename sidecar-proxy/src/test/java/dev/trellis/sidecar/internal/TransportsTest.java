package dev.trellis.sidecar.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** On Linux the native epoll transport loads from the build's dependencies and is used (NIO is the fallback). */
class TransportsTest {
    @Test
    void linuxUsesNativeEpoll() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch");
        assumeTrue(os.contains("linux") && (arch.equals("amd64") || arch.equals("aarch64")), "epoll is Linux only");
        assumeTrue(!Boolean.getBoolean("trellis.noEpoll"), "epoll switched off");
        assertThat(Epoll.isAvailable()).as(String.valueOf(Epoll.unavailabilityCause())).isTrue();
        assertThat(Transports.name()).isEqualTo("epoll");
        assertThat(Transports.serverChannel()).isEqualTo(EpollServerSocketChannel.class);
    }
}
