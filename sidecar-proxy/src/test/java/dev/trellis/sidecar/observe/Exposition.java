package dev.trellis.sidecar.observe;

import java.util.LinkedHashMap;
import java.util.Map;

/** Parses the Prometheus text exposition into series ({@code name{labels}}) and values. */
final class Exposition {
    private Exposition() {}

    static Map<String, Double> parse(String text) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int sp = line.lastIndexOf(' ');
            out.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
        }
        return out;
    }

    /** A request series with the labels in the exposition's (alphabetical) order. */
    static String series(String name, String reporter, String source, String destination, int code, String flags,
                         String grpcStatus, String protocol) {
        return name + "{destination_service=\"" + destination + "\",grpc_status=\"" + grpcStatus + "\",reporter=\""
                + reporter + "\",request_protocol=\"" + protocol + "\",response_code=\"" + code + "\",response_flags=\""
                + flags + "\",source_service=\"" + source + "\"}";
    }
}
