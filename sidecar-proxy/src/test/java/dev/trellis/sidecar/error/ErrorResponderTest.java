package dev.trellis.sidecar.error;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ErrorResponderTest {
    @Test
    void httpFailuresCarryStatusFlagAndBody() {
        StreamInfo info = new StreamInfo(0);
        ErrorResponder.LocalReply r = ErrorResponder.reply(ResponseFlag.UT, "upstream request timeout", false, info);
        assertThat(r.headers().status().toString()).isEqualTo("504");
        assertThat(r.headers().get(ErrorResponder.FLAGS_HEADER).toString()).isEqualTo("UT");
        assertThat(new String(r.body())).isEqualTo("upstream request timeout\n");
        assertThat(info.responseCode()).isEqualTo(504);
        assertThat(info.flags()).containsExactly(ResponseFlag.UT);
        assertThat(ErrorResponder.reply(ResponseFlag.UF, "x", false, new StreamInfo(0)).headers().status().toString()).isEqualTo("503");
        assertThat(ErrorResponder.reply(ResponseFlag.NR, "x", false, new StreamInfo(0)).headers().status().toString()).isEqualTo("404");
    }

    @Test
    void grpcFailuresAreTrailersOnly() {
        StreamInfo info = new StreamInfo(0);
        ErrorResponder.LocalReply r = ErrorResponder.reply(ResponseFlag.UF, "connect error: 100% down", true, info);
        assertThat(r.endStreamWithHeaders()).isTrue();
        assertThat(r.headers().status().toString()).isEqualTo("200");
        assertThat(r.headers().get("grpc-status").toString()).isEqualTo("14");
        assertThat(r.headers().get("grpc-message").toString()).isEqualTo("connect error: 100%25 down");
        assertThat(r.headers().get("content-type").toString()).isEqualTo("application/grpc");
        assertThat(ErrorResponder.reply(ResponseFlag.UT, "t", true, new StreamInfo(0)).headers().get("grpc-status").toString()).isEqualTo("4");
    }
}
