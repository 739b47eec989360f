package dev.trellis.bench.report;

import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

/**
 * Latency by percentile as a standalone SVG, drawn like HdrHistogram's plotter: the percentile
 * axis is logarithmic in {@code 1 / (1 - percentile)} so 90%, 99%, 99.9% ... are evenly spaced and
 * the tail gets the room; one line per scenario. Latency is on a log scale too, so a 0.1 ms
 * proxy and a 100 ms stall stay readable in one picture.
 */
public final class LatencyPlot {
    private static final int WIDTH = 900;
    private static final int HEIGHT = 520;
    private static final int LEFT = 80;
    private static final int RIGHT = 190;
    private static final int TOP = 50;
    private static final int BOTTOM = 60;
    private static final Map<String, String> COLORS = Map.of(
            "direct", "#555555",
            "sidecar", "#1f77b4",
            "mesh", "#17becf",
            "haproxy", "#ff7f0e",
            "haproxy-mtls", "#d62728",
            "nginx", "#2ca02c");
    private static final String[] SPARE = {"#9467bd", "#8c564b", "#e377c2", "#bcbd22"};

    private LatencyPlot() {}

    /** The plot of {@code series} (name -> histogram in nanoseconds), in the map's order. */
    public static String svg(String title, Map<String, Histogram> series) {
        double xMax = 2;
        double minMs = Double.MAX_VALUE;
        double maxMs = 0;
        for (Histogram h : series.values()) {
            if (h.getTotalCount() > 0) {
                xMax = Math.max(xMax, Math.ceil(Math.log10(h.getTotalCount())));
                minMs = Math.min(minMs, h.getMinNonZeroValue() / 1e6);
                maxMs = Math.max(maxMs, h.getMaxValue() / 1e6);
            }
        }
        if (maxMs == 0) {
            minMs = 0.1;
            maxMs = 1;
        }
        xMax = Math.min(xMax, 6);
        double yLo = Math.floor(Math.log10(minMs));
        double yHi = Math.max(yLo + 1, Math.ceil(Math.log10(maxMs)));
        double plotW = WIDTH - LEFT - RIGHT;
        double plotH = HEIGHT - TOP - BOTTOM;
        java.util.function.DoubleUnaryOperator yOf = ms ->
                TOP + plotH - plotH * (Math.log10(Math.max(ms, Math.pow(10, yLo))) - yLo) / (yHi - yLo);

        StringBuilder s = new StringBuilder();
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT)
                .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(HEIGHT)
                .append("\" font-family=\"sans-serif\" font-size=\"12\">\n");
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        s.append(text(WIDTH / 2.0, 28, escape(title), "middle", 14, "bold"));
        // grid and axes
        for (int d = 0; d <= (int) xMax; d++) {
            double x = LEFT + plotW * d / xMax;
            s.append(line(x, TOP, x, TOP + plotH, "#dddddd"));
            s.append(text(x, TOP + plotH + 18, percentileLabel(d), "middle", 12, "normal"));
        }
        for (int e = (int) yLo; e <= (int) yHi; e++) {
            for (int m : new int[] {1, 2, 5}) {
                double v = m * Math.pow(10, e);
                if (v > Math.pow(10, yHi) * 1.0001) {
                    break;
                }
                double y = yOf.applyAsDouble(v);
                s.append(line(LEFT, y, LEFT + plotW, y, m == 1 ? "#cccccc" : "#eeeeee"));
                s.append(text(LEFT - 8, y + 4, label(v), "end", m == 1 ? 12 : 10, "normal"));
            }
        }
        s.append(line(LEFT, TOP + plotH, LEFT + plotW, TOP + plotH, "#000000"));
        s.append(line(LEFT, TOP, LEFT, TOP + plotH, "#000000"));
        s.append(text(LEFT + plotW / 2, HEIGHT - 15, "percentile", "middle", 13, "normal"));
        s.append("<text x=\"20\" y=\"").append(fmt(TOP + plotH / 2)).append("\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 20 ")
                .append(fmt(TOP + plotH / 2)).append(")\">latency (ms, log scale)</text>\n");

        int i = 0;
        int spare = 0;
        for (Map.Entry<String, Histogram> e : series.entrySet()) {
            String color = COLORS.get(e.getKey());
            if (color == null) {
                color = SPARE[spare++ % SPARE.length];
            }
            Histogram h = e.getValue();
            if (h.getTotalCount() > 0) {
                StringBuilder pts = new StringBuilder();
                for (HistogramIterationValue v : h.percentiles(5)) {
                    double q = v.getPercentileLevelIteratedTo() / 100.0;
                    double x = q >= 1 ? xMax : Math.min(xMax, Math.log10(1 / (1 - q)));
                    appendPoint(pts, LEFT + plotW * x / xMax, yOf.applyAsDouble(v.getValueIteratedTo() / 1e6));
                    if (q >= 1 || x >= xMax) {
                        break;
                    }
                }
                appendPoint(pts, LEFT + plotW, yOf.applyAsDouble(h.getMaxValue() / 1e6));
                s.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"2\" points=\"")
                        .append(pts.toString().trim()).append("\"/>\n");
            }
            double ly = TOP + 10 + i * 22;
            s.append(line(WIDTH - RIGHT + 20, ly, WIDTH - RIGHT + 50, ly, color).replace("/>", " stroke-width=\"3\"/>"));
            s.append(text(WIDTH - RIGHT + 58, ly + 4, escape(e.getKey()), "start", 13, "normal"));
            i++;
        }
        s.append("</svg>\n");
        return s.toString();
    }

    private static void appendPoint(StringBuilder pts, double x, double y) {
        pts.append(fmt(x)).append(',').append(fmt(y)).append(' ');
    }

    /** {@code 0%, 90%, 99%, 99.9%, ...} for decade 0, 1, 2, 3, ... */
    static String percentileLabel(int decade) {
        if (decade == 0) {
            return "0%";
        }
        if (decade == 1) {
            return "90%";
        }
        return "99" + (decade > 2 ? "." + "9".repeat(decade - 2) : "") + "%";
    }

    /** {@code 0.05}, {@code 2}, {@code 500}: a tick value without trailing zeros. */
    static String label(double v) {
        return java.math.BigDecimal.valueOf(v).round(new java.math.MathContext(3)).stripTrailingZeros().toPlainString();
    }

    private static String line(double x1, double y1, double x2, double y2, String color) {
        return "<line x1=\"" + fmt(x1) + "\" y1=\"" + fmt(y1) + "\" x2=\"" + fmt(x2) + "\" y2=\"" + fmt(y2)
                + "\" stroke=\"" + color + "\"/>\n";
    }

    private static String text(double x, double y, String body, String anchor, int size, String weight) {
        return "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" text-anchor=\"" + anchor + "\" font-size=\"" + size
                + "\" font-weight=\"" + weight + "\">" + body + "</text>\n";
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
