package dev.trellis.demo.notification.web;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.slf4j.MDC;

/**
 * The request id and trace context headers of one request, kept so that the calls the service makes
 * on its behalf carry them on (as apps under Istio must, since the proxies cannot correlate an
 * inbound request with the outbound calls it causes).
 */
public record TraceHeaders(Map<String, String> values) {

    /** Headers copied from a request to the calls it causes: request id, W3C, B3 (single and multi), OpenTracing. */
    public static final List<String> PROPAGATED = List.of(
            "x-request-id",
            "traceparent", "tracestate",
            "b3",
            "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags",
            "x-ot-span-context");

    private static final Pattern TRACE_ID = Pattern.compile("[0-9a-f]{16}|[0-9a-f]{32}");
    private static final int MAX_VALUE_LENGTH = 1024;

    public TraceHeaders {
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /**
     * Reads the propagated headers through {@code lookup} (case-insensitive names are the caller's
     * concern). A request without {@code x-request-id} gets a fresh one so that its logs and the calls
     * it causes can still be tied together.
     */
    public static TraceHeaders from(Function<String, String> lookup) {
        Map<String, String> found = new LinkedHashMap<>();
        for (String name : PROPAGATED) {
            String value = lookup.apply(name);
            if (value != null && !value.isBlank() && value.length() <= MAX_VALUE_LENGTH) {
                found.put(name, value.trim());
            }
        }
        found.putIfAbsent("x-request-id", UUID.randomUUID().toString());
        return new TraceHeaders(found);
    }

    /** Headers as stored (e.g. with an outbox row); no request id is invented. */
    public static TraceHeaders of(Map<String, String> stored) {
        Map<String, String> kept = new LinkedHashMap<>();
        stored.forEach((k, v) -> {
            String name = k.toLowerCase(Locale.ROOT);
            if (PROPAGATED.contains(name) && v != null) {
                kept.put(name, v);
            }
        });
        return new TraceHeaders(kept);
    }

    public String requestId() {
        return values.get("x-request-id");
    }

    /** The trace id from traceparent, then b3, then x-b3-traceid; null when none is valid. */
    public String traceId() {
        String traceparent = values.get("traceparent");
        if (traceparent != null) {
            String[] parts = traceparent.split("-");
            if (parts.length >= 4 && isTraceId(parts[1]) && parts[1].length() == 32) {
                return parts[1].toLowerCase(Locale.ROOT);
            }
        }
        String b3 = values.get("b3");
        if (b3 != null) {
            String first = b3.split("-", 2)[0];
            if (isTraceId(first)) {
                return first.toLowerCase(Locale.ROOT);
            }
        }
        String multi = values.get("x-b3-traceid");
        if (multi != null && isTraceId(multi)) {
            return multi.toLowerCase(Locale.ROOT);
        }
        return null;
    }

    /** Puts request_id and trace_id into the logging MDC of the current thread. */
    public void putMdc() {
        if (requestId() != null) {
            MDC.put("request_id", requestId());
        }
        String traceId = traceId();
        if (traceId != null) {
            MDC.put("trace_id", traceId);
        }
    }

    public static void clearMdc() {
        MDC.remove("request_id");
        MDC.remove("trace_id");
    }

    private static boolean isTraceId(String s) {
        return TRACE_ID.matcher(s.toLowerCase(Locale.ROOT)).matches() && !s.chars().allMatch(c -> c == '0');
    }
}
