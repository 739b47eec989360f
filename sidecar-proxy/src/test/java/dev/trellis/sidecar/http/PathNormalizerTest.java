package dev.trellis.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.PathNormalization;
import dev.trellis.sidecar.config.PathNormalization.EscapedSlashes;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The path normaliser's table: what filters, routes and the upstream see for a raw {@code :path}. */
class PathNormalizerTest {
    static String run(String raw, PathNormalization cfg) {
        PathNormalizer.Result r = PathNormalizer.normalize(raw, cfg);
        return r.refused() ? "400" : r.path();
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "/                         | /",
        "/a/b                      | /a/b",
        "/admin/../public          | /public",
        "/public/../admin          | /admin",
        "/public/./x               | /public/x",
        "/a/b/..                   | /a/",
        "/a/.                      | /a/",
        "/../../etc/passwd         | /etc/passwd",
        "//admin                   | /admin",
        "/public//..//admin        | /public/admin",
        "/a///b                    | /a/b",
        "/public/%2e%2e/admin      | /admin",
        "/public/%2E%2e/admin      | /admin",
        "/public/.%2E/admin        | /admin",
        "/%61dmin                  | /admin",
        "/admin%2Fsecret           | /admin/secret",
        "/public%2F..%2Fadmin      | /admin",
        "/public%5c..%5cadmin      | /admin",
        "/public\\..\\admin        | /admin",
        "/admin;x/secret           | /admin/secret",
        "/public/..;/admin         | /admin",
        "/;jsessionid=1/admin      | /admin",
        "/a;b=c;d                  | /a",
        "/admin#frag               | /admin",
        "/public#/../admin         | /public",
        "/p?q=/../x#f              | /p?q=/../x",
        "/p/../q?a=%2F&b=..        | /q?a=%2F&b=..",
        "/a%3fb                    | /a%3Fb",
        "/a%c3%a9                  | /a%C3%A9",
        "/a%00b                    | 400",
        "/a%0ab                    | 400",
        "/a%zz                     | 400",
        "/a%4                      | 400",
        "relative                  | 400",
        "*                         | *",
    })
    void defaultResolvesEverything(String raw, String expected) {
        assertThat(run(raw, PathNormalization.DEFAULT)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "/admin%2Fsecret           | 400",
        "/a%5Cb                    | 400",
        "/admin/../public          | /public",
    })
    void rejectEscapedSlashes(String raw, String expected) {
        assertThat(run(raw, new PathNormalization(true, true, EscapedSlashes.REJECT_REQUEST))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "/admin%2fsecret           | /admin%2Fsecret",
        "/public%2F..%2Fadmin      | /public%2F..%2Fadmin",
        "/a/../b                   | /b",
    })
    void keepEscapedSlashes(String raw, String expected) {
        assertThat(run(raw, new PathNormalization(true, true, EscapedSlashes.KEEP_UNCHANGED))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "/a/../b#f                 | /a/../b",
        "/a%00                     | 400",
        "/a;x                      | /a;x",
        "/a%zz/%4                  | /a%zz/%4",
        "//a                       | //a",
    })
    void withoutNormalizePathOnlyFragmentsAndBadEscapesAreHandled(String raw, String expected) {
        assertThat(run(raw, new PathNormalization(false, false, EscapedSlashes.KEEP_UNCHANGED))).isEqualTo(expected);
    }
}
