package dev.trellis.sidecar.listener;

import static dev.trellis.sidecar.testing.Embedded.ascii;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProtocolDetectorTest {
    final List<String> chosen = new ArrayList<>();
    final ProtocolDetector.Choice choice = new ProtocolDetector.Choice() {
        @Override
        public void http1(ChannelHandlerContext ctx) {
            chosen.add("h1");
        }

        @Override
        public void http2(ChannelHandlerContext ctx) {
            chosen.add("h2");
        }
    };

    static String inbound(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readInbound()) != null) {
            sb.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return sb.toString();
    }

    @Test
    void http1IsChosenAtTheFirstByteThatDiffersAndBytesPassOn() {
        EmbeddedChannel ch = new EmbeddedChannel(new ProtocolDetector(choice));
        ch.writeInbound(ascii("GET / HTTP/1.1\r\n\r\n"));
        assertThat(chosen).containsExactly("h1");
        assertThat(inbound(ch)).isEqualTo("GET / HTTP/1.1\r\n\r\n");
        assertThat(ch.pipeline().get(ProtocolDetector.class)).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void http2PrefaceIsRecognisedEvenWhenSplit() {
        EmbeddedChannel ch = new EmbeddedChannel(new ProtocolDetector(choice));
        ch.writeInbound(ascii("PRI * HTTP/2"));
        assertThat(chosen).isEmpty();
        ch.writeInbound(ascii(".0\r\n\r\nSM\r\n\r\nrest"));
        assertThat(chosen).containsExactly("h2");
        assertThat(inbound(ch)).isEqualTo("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nrest");
        ch.finishAndReleaseAll();
    }

    @Test
    void aPrefixThatDivergesIsHttp1() {
        EmbeddedChannel ch = new EmbeddedChannel(new ProtocolDetector(choice));
        ch.writeInbound(ascii("PRI * HTTP/1.1\r\n"));
        assertThat(chosen).containsExactly("h1");
        ch.finishAndReleaseAll();
    }
}
