package dev.trellis.sidecar.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The PERMISSIVE sniffer on an EmbeddedChannel: which pipeline it picks and that no byte is lost. */
class TlsSnifferTest {
    final List<String> picked = new ArrayList<>();

    EmbeddedChannel channel() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.pipeline().addLast(new TlsSniffer(new TlsSniffer.Choice() {
            @Override
            public void tls(ChannelHandlerContext ctx) {
                picked.add("tls");
            }

            @Override
            public void plaintext(ChannelHandlerContext ctx) {
                picked.add("plaintext");
            }
        }));
        return ch;
    }

    static byte[] read(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        Object o;
        while ((o = ch.readInbound()) != null) {
            all.writeBytes((ByteBuf) o);
            ((ByteBuf) o).release();
        }
        byte[] b = new byte[all.readableBytes()];
        all.readBytes(b);
        all.release();
        return b;
    }

    /** A real ClientHello, from Netty's client engine. */
    static byte[] clientHello() throws Exception {
        SslContext ctx = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build();
        EmbeddedChannel client = new EmbeddedChannel(ctx.newHandler(io.netty.buffer.ByteBufAllocator.DEFAULT));
        ByteBuf hello = Unpooled.buffer();
        Object o;
        while ((o = client.readOutbound()) != null) {
            hello.writeBytes((ByteBuf) o);
            ((ByteBuf) o).release();
        }
        client.finishAndReleaseAll();
        byte[] b = new byte[hello.readableBytes()];
        hello.readBytes(b);
        hello.release();
        return b;
    }

    @Test
    void httpRequestIsPlaintextAndPassesOnWhole() {
        EmbeddedChannel ch = channel();
        byte[] req = "GET / HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        ch.writeInbound(Unpooled.wrappedBuffer(req));
        assertThat(picked).containsExactly("plaintext");
        assertThat(ch.pipeline().get(TlsSniffer.class)).isNull();
        assertThat(read(ch)).isEqualTo(req);
        ch.finishAndReleaseAll();
    }

    @Test
    void http2PrefaceIsPlaintext() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.copiedBuffer("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", StandardCharsets.US_ASCII));
        assertThat(picked).containsExactly("plaintext");
        assertThat(read(ch)).hasSize(24);
        ch.finishAndReleaseAll();
    }

    @Test
    void clientHelloIsTlsEvenWhenItArrivesByteByByte() throws Exception {
        byte[] hello = clientHello();
        assertThat(hello.length).isGreaterThan(TlsSniffer.NEEDED);
        EmbeddedChannel ch = channel();
        for (int i = 0; i < TlsSniffer.NEEDED - 1; i++) {
            ch.writeInbound(Unpooled.wrappedBuffer(hello, i, 1));
            assertThat(picked).as("undecided after %d bytes", i + 1).isEmpty();
        }
        ch.writeInbound(Unpooled.wrappedBuffer(hello, TlsSniffer.NEEDED - 1, hello.length - TlsSniffer.NEEDED + 1));
        assertThat(picked).containsExactly("tls");
        assertThat(read(ch)).isEqualTo(hello);
        ch.finishAndReleaseAll();
    }

    @Test
    void handshakeByteWithoutAClientHelloIsPlaintext() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {22, 3, 3, 0, 5, 2, 0, 0}));
        assertThat(picked).containsExactly("plaintext");
        assertThat(read(ch)).hasSize(8);
        ch.finishAndReleaseAll();
    }
}
