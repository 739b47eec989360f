package dev.trellis.sidecar.config;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.config.envoy.BootstrapTranslator;
import org.junit.jupiter.api.Test;

/** normalize_path, merge_slashes and path_with_escaped_slashes_action from a bootstrap. */
class PathNormalizationConfigTest {
    static PathNormalization of(String hcmExtra) {
        String b = bootstrap(listener("in", hcmExtra, vhost(route("/", "app"))), cluster("app", "", 8080));
        return BootstrapTranslator.translate(BootstrapLoader.parse(b, false)).listeners().get(0).http().pathNormalization();
    }

    @Test
    void defaultsResolveEverything() {
        assertThat(of("")).isEqualTo(PathNormalization.DEFAULT);
        assertThat(of("")).isEqualTo(new PathNormalization(true, true, PathNormalization.EscapedSlashes.UNESCAPE_AND_FORWARD));
    }

    @Test
    void outboundListenersKeepEnvoysDefaults() {
        String b = bootstrap(listener("out", "", vhost(route("/", "app"))).replace(j("'name': 'out',"), j("'name': 'out', 'traffic_direction': 'OUTBOUND',")),
                cluster("app", "", 8080));
        PathNormalization out = BootstrapTranslator.translate(BootstrapLoader.parse(b, false)).listeners().get(0).http().pathNormalization();
        assertThat(out).isEqualTo(PathNormalization.OUTBOUND_DEFAULT);
        assertThat(out).isEqualTo(new PathNormalization(false, false, PathNormalization.EscapedSlashes.KEEP_UNCHANGED));
        String asked = b.replace(j("'stat_prefix': 'out',"), j("'stat_prefix': 'out', 'normalize_path': true, 'merge_slashes': true,"));
        assertThat(BootstrapTranslator.translate(BootstrapLoader.parse(asked, false)).listeners().get(0).http().pathNormalization())
                .isEqualTo(new PathNormalization(true, true, PathNormalization.EscapedSlashes.KEEP_UNCHANGED));
    }

    @Test
    void operatorChoices() {
        assertThat(of(j("'normalize_path': false, 'path_with_escaped_slashes_action': 'KEEP_UNCHANGED'")))
                .isEqualTo(new PathNormalization(false, true, PathNormalization.EscapedSlashes.KEEP_UNCHANGED));
        assertThat(of(j("'merge_slashes': true, 'path_with_escaped_slashes_action': 'REJECT_REQUEST'")).escapedSlashes())
                .isEqualTo(PathNormalization.EscapedSlashes.REJECT_REQUEST);
        assertThatThrownBy(() -> of(j("'path_with_escaped_slashes_action': 'UNESCAPE_AND_REDIRECT'")))
                .hasMessageContaining("typed_config.path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT (expected: KEEP_UNCHANGED, REJECT_REQUEST or UNESCAPE_AND_FORWARD)");
    }
}
