package dev.trellis.sidecar.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ByteProcessor;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Sits before the HTTP/1 decoder and follows request framing on the raw bytes, to refuse what the
 * decoder would quietly repair: obs-fold continuation lines (RFC 9112 5.2) and control
 * characters in the header section. On a violation it answers 400 and closes; no byte of that
 * request reaches the decoder. Framing it cannot follow is left to the decoder, which refuses it.
 *
 * <p>It runs on every inbound HTTP/1 byte, so it scans with a {@link ByteProcessor} and keeps all
 * state in fields: header names and the values it needs are matched as the bytes stream by, and
 * nothing is allocated per request.
 */
public final class Http1FramingGuard extends ChannelInboundHandlerAdapter {
    // Ordered so that the states scanned byte by byte come first (see scanning()).
    private static final int HEAD = 0;
    private static final int TRAILERS = 1;
    private static final int CHUNK_SIZE = 2;
    private static final int CHUNK_CRLF = 3;
    private static final int BODY_LENGTH = 4;
    private static final int CHUNK_DATA = 5;
    private static final int PASS = 6;

    // Where the current header line is: matching a name, in the value of a matched name, or in a
    // line whose content does not matter (request line, trailer, other header, past maxLine).
    private static final int NAME_START = 0;
    private static final int NAME = 1;
    private static final int NAME_END = 2;
    private static final int CONTENT_LENGTH_VALUE = 3;
    private static final int TRANSFER_ENCODING_VALUE = 4;
    private static final int SKIP = 5;

    // Where a number (content-length value, chunk size) is; mirrors Long.parseLong of the trimmed text.
    private static final int NUM_LEADING = 0;
    private static final int NUM_SIGN = 1;
    private static final int NUM_DIGITS = 2;
    private static final int NUM_TRAILING = 3;
    private static final int NUM_EXTENSION = 4;
    private static final int NUM_BAD = 5;

    /** Longest chunk-size line (without CRs) it follows; a longer one is left to the decoder. */
    private static final int MAX_CHUNK_SIZE_LINE = 1025;

    private static final byte[] CONTENT_LENGTH = {'c', 'o', 'n', 't', 'e', 'n', 't', '-', 'l', 'e', 'n', 'g', 't', 'h'};
    private static final byte[] TRANSFER_ENCODING =
            {'t', 'r', 'a', 'n', 's', 'f', 'e', 'r', '-', 'e', 'n', 'c', 'o', 'd', 'i', 'n', 'g'};
    private static final byte[] CHUNKED = {'c', 'h', 'u', 'n', 'k', 'e', 'd'};

    private static final String OBS_FOLD = "obs_fold";
    private static final String CONTROL_CHARACTER = "control_character";

    private static final byte[] BAD_REQUEST = ("HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
            + "content-length: 36\r\nconnection: close\r\n\r\nbad request: obs-fold or control char")
            .getBytes(StandardCharsets.US_ASCII);

    private final int maxLine;
    private final Consumer<String> onReject;
    private final Scanner scanner = new Scanner();

    private int state = HEAD;
    private boolean failed;
    private String violation;
    private long remaining;
    private boolean chunked;
    private long contentLength;

    private boolean firstLine = true;
    private boolean lineStart = true;
    /** Bytes of the current line looked at: head bytes up to maxLine, or chunk-size bytes other than CR. */
    private int lineLength;
    private boolean firstByteCr;

    private int header = SKIP;
    private byte[] name;
    private int matched;
    private int number = NUM_LEADING;
    private boolean negative;
    private long value;

    public Http1FramingGuard(int maxLine) {
        this(maxLine, reason -> { });
    }

    /**
     * {@code maxLine} bounds how far into a header line it looks for a name and value;
     * {@code onReject} hears the reason code ({@code obs_fold}, {@code control_character}) of a refusal.
     */
    public Http1FramingGuard(int maxLine, Consumer<String> onReject) {
        this.maxLine = maxLine;
        this.onReject = onReject;
    }

    /** After a switch to a tunnel (101), bytes are no longer HTTP. */
    public void passThrough() {
        state = PASS;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (failed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (state == PASS || !(msg instanceof ByteBuf buf)) {
            ctx.fireChannelRead(msg);
            return;
        }
        int i = buf.readerIndex();
        int end = buf.writerIndex();
        while (i < end && state != PASS) {
            if (state == BODY_LENGTH || state == CHUNK_DATA) {
                int n = (int) Math.min(remaining, end - i);
                i += n;
                remaining -= n;
                if (remaining == 0) {
                    if (state == BODY_LENGTH) {
                        startHead();
                    } else {
                        state = CHUNK_CRLF;
                    }
                }
                continue;
            }
            int stop = buf.forEachByte(i, end - i, scanner);
            if (violation != null) {
                failed = true;
                buf.release();
                onReject.accept(violation);
                ctx.writeAndFlush(Unpooled.wrappedBuffer(BAD_REQUEST)).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            i = stop < 0 ? end : stop + 1;
        }
        ctx.fireChannelRead(buf);
    }

    /** Feeds the byte-by-byte states; stops the scan on a violation or where bytes can be skipped. */
    private final class Scanner implements ByteProcessor {
        @Override
        public boolean process(byte b) {
            switch (state) {
                case HEAD, TRAILERS -> {
                    return headByte(b);
                }
                case CHUNK_SIZE -> {
                    return chunkSizeByte(b);
                }
                case CHUNK_CRLF -> {
                    if (b == '\n') {
                        startChunkSize();
                    }
                    return true;
                }
                default -> {
                    return false;
                }
            }
        }
    }

    private boolean scanning() {
        return state <= CHUNK_CRLF;
    }

    private boolean headByte(byte b) {
        if (b == '\n') {
            endOfLine();
            return scanning();
        }
        if (lineStart) {
            if ((b == ' ' || b == '\t') && !firstLine) {
                violation = OBS_FOLD;
                return false;
            }
            lineStart = false;
        }
        // Unsigned: bytes from 0x80 are obs-text (RFC 9110 5.5), UTF-8 in values among them, and allowed.
        int u = b & 0xff;
        if ((u < 0x20 && u != '\t' && u != '\r') || u == 0x7f) {
            violation = CONTROL_CHARACTER;
            return false;
        }
        if (lineLength < maxLine) {
            if (lineLength == 0) {
                firstByteCr = b == '\r';
            }
            lineLength++;
            if (header != SKIP) {
                headerByte(b);
            }
        }
        return true;
    }

    private void endOfLine() {
        // An empty line is "" or a lone CR (within the first maxLine bytes).
        boolean empty = lineLength == 0 || lineLength == 1 && firstByteCr;
        if (empty && !firstLine) {
            endOfHead();
        } else if (!empty) {
            if (header == CONTENT_LENGTH_VALUE) {
                contentLength = number == NUM_DIGITS || number == NUM_TRAILING ? (negative && value != 0 ? -1 : value) : -1;
            }
            firstLine = false;
        }
        // Empty lines before the request line are skipped, as the decoder does.
        lineStart = true;
        startLine();
    }

    /** Matches content-length and transfer-encoding as trim().toLowerCase() and equals would. */
    private void headerByte(byte b) {
        switch (header) {
            case NAME_START -> {
                if (b == ' ' || b == '\t' || b == '\r') {
                    return;
                }
                int c = lower(b);
                if (c == 'c') {
                    name = CONTENT_LENGTH;
                } else if (c == 't') {
                    name = TRANSFER_ENCODING;
                } else {
                    header = SKIP;
                    return;
                }
                matched = 1;
                header = NAME;
            }
            case NAME -> {
                if (matched < name.length) {
                    if (lower(b) == name[matched]) {
                        matched++;
                    } else {
                        header = SKIP;
                    }
                } else {
                    afterName(b);
                }
            }
            case NAME_END -> afterName(b);
            case CONTENT_LENGTH_VALUE -> decimalByte(b);
            case TRANSFER_ENCODING_VALUE -> {
                // "chunked" has no prefix that is also its suffix, so a mismatch restarts the match.
                int c = lower(b);
                if (c == CHUNKED[matched]) {
                    if (++matched == CHUNKED.length) {
                        chunked = true;
                        header = SKIP;
                    }
                } else {
                    matched = c == 'c' ? 1 : 0;
                }
            }
            default -> { }
        }
    }

    private void afterName(byte b) {
        if (b == ':') {
            header = name == CONTENT_LENGTH ? CONTENT_LENGTH_VALUE : TRANSFER_ENCODING_VALUE;
            matched = 0;
        } else if (b == ' ' || b == '\t' || b == '\r') {
            header = NAME_END;
        } else {
            header = SKIP;
        }
    }

    /** A content-length value as Long.parseLong of the trimmed text: optional sign, decimal digits. */
    private void decimalByte(byte b) {
        int d = b - '0';
        numberByte(b, d >= 0 && d <= 9 ? d : -1, b == ' ' || b == '\t' || b == '\r', 10, false);
        if (number == NUM_BAD) {
            // Garbage or overflow: the rest of the line cannot change that, and contentLength is
            // only read once this line has ended.
            contentLength = -1;
            header = SKIP;
        }
    }

    /**
     * A chunk-size line as Long.parseLong(hex, 16) of the trimmed text before any ';' (CRs
     * dropped); the decoder is left to refuse what does not parse.
     */
    private boolean chunkSizeByte(byte b) {
        if (b == '\n') {
            if (number != NUM_DIGITS && number != NUM_TRAILING && number != NUM_EXTENSION || negative && value != 0) {
                state = PASS;
                return false;
            }
            if (value == 0) {
                state = TRAILERS;
                lineStart = true;
                startLine();
                return true;
            }
            remaining = value;
            state = CHUNK_DATA;
            return false;
        }
        if (b == '\r') {
            return true;
        }
        if (lineLength++ >= MAX_CHUNK_SIZE_LINE) {
            state = PASS;
            return false;
        }
        if (number == NUM_EXTENSION) {
            return true;
        }
        // As String.trim(): every char up to space; bytes from 0x80 are negative here.
        numberByte(b, hex(b), b >= 0 && b <= ' ', 16, true);
        if (number == NUM_BAD) {
            // It cannot parse whatever follows on this line, so the decoder gets the rest as is.
            state = PASS;
            return false;
        }
        return true;
    }

    /**
     * One byte of a number as Long.parseLong(trimmed text, radix) reads it, with {@code digit} -1
     * for a byte that is no digit; where {@code extensions} may follow (chunk sizes), ';' ends it.
     */
    private void numberByte(byte b, int digit, boolean space, int radix, boolean extensions) {
        switch (number) {
            case NUM_LEADING, NUM_SIGN -> {
                if (digit >= 0) {
                    value = digit;
                    number = NUM_DIGITS;
                } else if (number == NUM_LEADING && (b == '+' || b == '-')) {
                    negative = b == '-';
                    number = NUM_SIGN;
                } else if (number == NUM_SIGN || !space) {
                    number = NUM_BAD;
                }
            }
            case NUM_DIGITS -> {
                if (digit >= 0) {
                    if (value > (Long.MAX_VALUE - digit) / radix) {
                        number = NUM_BAD;
                    } else {
                        value = value * radix + digit;
                    }
                } else if (extensions && b == ';') {
                    number = NUM_EXTENSION;
                } else {
                    number = space ? NUM_TRAILING : NUM_BAD;
                }
            }
            case NUM_TRAILING -> {
                if (extensions && b == ';') {
                    number = NUM_EXTENSION;
                } else if (!space) {
                    number = NUM_BAD;
                }
            }
            default -> { }
        }
    }

    private void endOfHead() {
        if (state == TRAILERS) {
            startHead();
            return;
        }
        if (chunked) {
            startChunkSize();
        } else if (contentLength > 0) {
            state = BODY_LENGTH;
            remaining = contentLength;
        } else if (contentLength < 0) {
            state = PASS;
        } else {
            startHead();
        }
    }

    private void startHead() {
        state = HEAD;
        firstLine = true;
        lineStart = true;
        chunked = false;
        contentLength = 0;
        startLine();
    }

    private void startChunkSize() {
        state = CHUNK_SIZE;
        startLine();
    }

    /** Resets the per-line state; only header lines of a head (not the request line) are matched. */
    private void startLine() {
        lineLength = 0;
        firstByteCr = false;
        header = state == HEAD && !firstLine ? NAME_START : SKIP;
        matched = 0;
        number = NUM_LEADING;
        negative = false;
        value = 0;
    }

    private static int lower(byte b) {
        return b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b;
    }

    private static int hex(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        }
        if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        return -1;
    }
}
