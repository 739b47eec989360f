package dev.trellis.sidecar.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * {@link Http1FramingGuard} as it was before it scanned bytes in place (a String per header line,
 * trim, toLowerCase, Long.parseLong), kept as the oracle that {@link Http1FramingGuardTest}
 * compares the rewrite with on generated traffic. One change: on a negative chunk size it
 * passes on like the rewrite, where it used to step back over bytes already read.
 */
final class StringFramingGuard extends ChannelInboundHandlerAdapter {
    private enum State { HEAD, BODY_LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILERS, PASS }

    private static final byte[] BAD_REQUEST = ("HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
            + "content-length: 36\r\nconnection: close\r\n\r\nbad request: obs-fold or control char")
            .getBytes(StandardCharsets.US_ASCII);

    private final int maxLine;
    private State state = State.HEAD;
    private final StringBuilder line = new StringBuilder();
    private boolean lineStart = true;
    private boolean firstLine = true;
    private long remaining;
    private boolean chunked;
    private long contentLength;
    private boolean failed;
    private final java.util.function.Consumer<String> onReject;
    private String violation;

    StringFramingGuard(int maxLine) {
        this(maxLine, reason -> { });
    }

    /** {@code onReject} hears the reason code ({@code obs_fold}, {@code control_character}) of a refusal. */
    StringFramingGuard(int maxLine, java.util.function.Consumer<String> onReject) {
        this.maxLine = maxLine;
        this.onReject = onReject;
    }

    /** After a switch to a tunnel (101), bytes are no longer HTTP. */
    public void passThrough() {
        state = State.PASS;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (failed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (state == State.PASS || !(msg instanceof ByteBuf buf)) {
            ctx.fireChannelRead(msg);
            return;
        }
        int i = buf.readerIndex();
        while (i < buf.writerIndex() && state != State.PASS) {
            if (state == State.BODY_LENGTH || state == State.CHUNK_DATA) {
                long n = Math.min(remaining, buf.writerIndex() - i);
                i += (int) n;
                remaining -= n;
                if (remaining == 0) {
                    if (state == State.BODY_LENGTH) {
                        startHead();
                    } else {
                        state = State.CHUNK_CRLF;
                    }
                }
                continue;
            }
            if (!step(buf.getByte(i))) {
                failed = true;
                buf.release();
                onReject.accept(violation);
                ctx.writeAndFlush(Unpooled.wrappedBuffer(BAD_REQUEST)).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            i++;
        }
        ctx.fireChannelRead(buf);
    }

    /** Advances over one byte of a head, chunk-size line or trailer; false on a violation. */
    private boolean step(byte b) {
        switch (state) {
            case HEAD, TRAILERS -> {
                return headByte(b);
            }
            case CHUNK_SIZE -> {
                if (b == '\n') {
                    String s = line.toString().trim();
                    line.setLength(0);
                    int semi = s.indexOf(';');
                    String hex = semi >= 0 ? s.substring(0, semi).trim() : s;
                    try {
                        remaining = Long.parseLong(hex, 16);
                    } catch (NumberFormatException e) {
                        state = State.PASS;
                        return true;
                    }
                    if (remaining < 0) {
                        // The one change: a negative size is passed on as the rewrite does.
                        state = State.PASS;
                        return true;
                    }
                    if (remaining == 0) {
                        state = State.TRAILERS;
                        lineStart = true;
                    } else {
                        state = State.CHUNK_DATA;
                    }
                } else if (b != '\r') {
                    if (line.length() > 1024) {
                        state = State.PASS;
                        return true;
                    }
                    line.append((char) b);
                }
                return true;
            }
            case CHUNK_CRLF -> {
                if (b == '\n') {
                    state = State.CHUNK_SIZE;
                }
                return true;
            }
            default -> {
                return true;
            }
        }
    }

    private boolean headByte(byte b) {
        if (b == '\n') {
            String l = line.toString();
            line.setLength(0);
            boolean empty = l.isEmpty() || l.equals("\r");
            if (empty && !firstLine) {
                endOfHead();
            } else if (empty) {
                return true;
            } else {
                if (!firstLine && state == State.HEAD) {
                    header(l.endsWith("\r") ? l.substring(0, l.length() - 1) : l);
                }
                firstLine = false;
            }
            lineStart = true;
            return true;
        }
        if (lineStart && (b == ' ' || b == '\t') && !firstLine) {
            violation = "obs_fold";
            return false;
        }
        lineStart = false;
        if (((b & 0xff) < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
            violation = "control_character";
            return false;
        }
        if (line.length() < maxLine) {
            line.append((char) (b & 0xff));
        }
        return true;
    }

    private void header(String l) {
        int colon = l.indexOf(':');
        if (colon <= 0) {
            return;
        }
        String name = l.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = l.substring(colon + 1).trim();
        if (name.equals("content-length")) {
            try {
                contentLength = Long.parseLong(value);
            } catch (NumberFormatException e) {
                contentLength = -1;
            }
        } else if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).contains("chunked")) {
            chunked = true;
        }
    }

    private void endOfHead() {
        if (state == State.TRAILERS) {
            startHead();
            return;
        }
        if (chunked) {
            state = State.CHUNK_SIZE;
        } else if (contentLength > 0) {
            state = State.BODY_LENGTH;
            remaining = contentLength;
        } else if (contentLength < 0) {
            state = State.PASS;
        } else {
            startHead();
        }
    }

    private void startHead() {
        state = State.HEAD;
        firstLine = true;
        lineStart = true;
        chunked = false;
        contentLength = 0;
    }
}
