package dev.trellis.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
    @Test
    void parsesUnitsAndCompounds() {
        assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(Durations.parse("5s")).isEqualTo(Duration.ofSeconds(5));
        assertThat(Durations.parse("0.25s")).isEqualTo(Duration.ofMillis(250));
        assertThat(Durations.parse("1m30s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Durations.parse("24h")).isEqualTo(Duration.ofHours(24));
        assertThat(Durations.parse("-5s")).isEqualTo(Duration.ofSeconds(-5));
        assertThat(Durations.parse("1500us")).isEqualTo(Duration.ofNanos(1_500_000));
    }

    @Test
    void rejectsWithTheTextAndWhatWasExpected() {
        for (String bad : new String[] {"", "5", "s", "5 s", "5sec", "abc", "1m30"}) {
            assertThatThrownBy(() -> Durations.parse(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "'")
                    .hasMessageContaining("expected:");
        }
    }

    @Test
    void formatsTheShortestFormParseReadsBack() {
        for (String s : new String[] {"0s", "250ms", "5s", "1m30s", "24h", "1h1s", "-5s", "1ms"}) {
            assertThat(Durations.format(Durations.parse(s))).isEqualTo(s);
        }
        assertThat(Durations.format(Duration.ofNanos(1500))).isEqualTo("1500ns");
    }
}
