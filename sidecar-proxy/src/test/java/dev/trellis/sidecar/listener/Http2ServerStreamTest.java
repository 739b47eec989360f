package dev.trellis.sidecar.listener;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.Embedded;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The HTTP/2 codec with the connection manager's stream handler, on an EmbeddedChannel. */
class Http2ServerStreamTest {
    static byte[] frame(int type, int flags, int stream, byte[] payload) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(payload.length >>> 16);
        o.write(payload.length >>> 8);
        o.write(payload.length);
        o.write(type);
        o.write(flags);
        o.writeBytes(new byte[] {(byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream});
        o.writeBytes(payload);
        return o.toByteArray();
    }

    static byte[] hpack(String... nv) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (int i = 0; i < nv.length; i += 2) {
            o.write(0);
            o.write(nv[i].length());
            o.writeBytes(nv[i].getBytes());
            o.write(nv[i + 1].length());
            o.writeBytes(nv[i + 1].getBytes());
        }
        return o.toByteArray();
    }

    /** Frame types (and stream ids) the server wrote. */
    static List<int[]> frames(EmbeddedChannel ch) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            ByteBuf b = (ByteBuf) o;
            byte[] a = new byte[b.readableBytes()];
            b.readBytes(a);
            b.release();
            all.writeBytes(a);
        }
        byte[] d = all.toByteArray();
        List<int[]> out = new ArrayList<>();
        int i = 0;
        while (i + 9 <= d.length) {
            int len = ((d[i] & 0xff) << 16) | ((d[i + 1] & 0xff) << 8) | (d[i + 2] & 0xff);
            int stream = ((d[i + 5] & 0x7f) << 24) | ((d[i + 6] & 0xff) << 16) | ((d[i + 7] & 0xff) << 8) | (d[i + 8] & 0xff);
            out.add(new int[] {d[i + 3], stream});
            i += 9 + len;
        }
        return out;
    }

    // EmbeddedChannel has no server parent, so the multiplexer would treat stream 1 as an h2c upgrade: use 3 and 5.
    @Test
    void requestOnAStreamGetsItsDirectResponse() {
        Embedded e = new Embedded("");
        EmbeddedChannel ch = new EmbeddedChannel();
        HttpCodecs.http2(ch.pipeline(), e.hcm.config(), () -> e.hcm);
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.writeBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes());
        in.writeBytes(frame(0x4, 0, 0, new byte[0]));
        in.writeBytes(frame(0x1, 0x5, 3, hpack(":method", "GET", ":scheme", "http", ":path", "/b", ":authority", "h")));
        in.writeBytes(frame(0x1, 0x5, 5, hpack(":method", "GET", ":scheme", "http", ":path", "/none", ":authority", "h")));
        ch.writeInbound(Unpooled.wrappedBuffer(in.toByteArray()));
        ch.runPendingTasks();
        List<int[]> f = frames(ch);
        assertThat(f).anyMatch(x -> x[0] == 0x1 && x[1] == 3).anyMatch(x -> x[0] == 0x0 && x[1] == 3)
                .anyMatch(x -> x[0] == 0x1 && x[1] == 5);
        assertThat(e.finished).extracting(i -> i.responseCode()).containsExactlyInAnyOrder(201, 404);
        ch.finishAndReleaseAll();
    }

    @Test
    void tooManyHeadersOnAStreamIs431() {
        Embedded e = new Embedded(dev.trellis.sidecar.testing.Boot.j("'common_http_protocol_options': {'max_headers_count': 5}"));
        EmbeddedChannel ch = new EmbeddedChannel();
        HttpCodecs.http2(ch.pipeline(), e.hcm.config(), () -> e.hcm);
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.writeBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes());
        in.writeBytes(frame(0x4, 0, 0, new byte[0]));
        in.writeBytes(frame(0x1, 0x5, 3, hpack(":method", "GET", ":scheme", "http", ":path", "/b", ":authority", "h",
                "a", "1", "b", "2")));
        ch.writeInbound(Unpooled.wrappedBuffer(in.toByteArray()));
        ch.runPendingTasks();
        assertThat(frames(ch)).anyMatch(x -> x[0] == 0x1 && x[1] == 3);
        assertThat(e.finished).isEmpty();
        ch.finishAndReleaseAll();
    }
}
