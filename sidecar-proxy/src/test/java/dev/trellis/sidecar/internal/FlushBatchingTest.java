package dev.trellis.sidecar.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Flushes of one event-loop turn reach the socket as one flush, and none is lost or held beyond the turn. */
class FlushBatchingTest {
    /** Counts the flushes that get past the batching handler (as the socket would see them). */
    private static final class FlushCounter extends ChannelOutboundHandlerAdapter {
        int flushes;

        @Override
        public void flush(ChannelHandlerContext ctx) {
            flushes++;
            ctx.flush();
        }
    }

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static List<String> written(EmbeddedChannel ch) {
        List<String> out = new ArrayList<>();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.add(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return out;
    }

    @Test
    void headAndBodyWrittenFromAnotherConnectionGoOutInOneFlushAfterTheTurn() {
        FlushCounter socket = new FlushCounter();
        EmbeddedChannel ch = new EmbeddedChannel(socket, FlushBatching.handler());
        ch.writeAndFlush(text("head"));
        ch.writeAndFlush(text("body"));
        assertThat(socket.flushes).as("nothing flushed during the turn").isZero();
        ch.runPendingTasks();
        assertThat(socket.flushes).isEqualTo(1);
        assertThat(written(ch)).containsExactly("head", "body");
        ch.finishAndReleaseAll();
    }

    @Test
    void writesDuringTheConnectionsOwnReadAreFlushedAtReadComplete() {
        FlushCounter socket = new FlushCounter();
        EmbeddedChannel ch = new EmbeddedChannel(socket, FlushBatching.handler());
        ch.pipeline().fireChannelRead("request");
        ch.writeAndFlush(text("reply"));
        assertThat(socket.flushes).isZero();
        ch.pipeline().fireChannelReadComplete();
        assertThat(socket.flushes).isEqualTo(1);
        assertThat(written(ch)).containsExactly("reply");
        ch.finishAndReleaseAll();
    }

    @Test
    void manyFlushesInOneTurnAreWrittenAsTheyGo() {
        FlushCounter socket = new FlushCounter();
        EmbeddedChannel ch = new EmbeddedChannel(socket, FlushBatching.handler());
        for (int i = 0; i < FlushBatching.MAX_DEFERRED_FLUSHES; i++) {
            ch.writeAndFlush(text("x"));
        }
        assertThat(socket.flushes).isEqualTo(1);
        ch.runPendingTasks();
        assertThat(written(ch)).hasSize(FlushBatching.MAX_DEFERRED_FLUSHES);
        ch.finishAndReleaseAll();
    }

    @Test
    void closingFlushesWhatIsPending() {
        FlushCounter socket = new FlushCounter();
        EmbeddedChannel ch = new EmbeddedChannel(socket, FlushBatching.handler());
        ch.writeAndFlush(text("last"));
        ch.close();
        assertThat(socket.flushes).isEqualTo(1);
        assertThat(written(ch)).containsExactly("last");
        ch.finishAndReleaseAll();
    }
}
