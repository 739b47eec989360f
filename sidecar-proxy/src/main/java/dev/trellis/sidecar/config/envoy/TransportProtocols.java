package dev.trellis.sidecar.config.envoy;

import dev.trellis.sidecar.config.ConfigException;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;

/**
 * PERMISSIVE mTLS as Istio writes it: an {@code envoy.filters.listener.tls_inspector} listener
 * filter and two filter chains matched by {@code transport_protocol}, {@code "tls"} (with the
 * TLS transport socket) and {@code "raw_buffer"} (plaintext), both with the same
 * {@code HttpConnectionManager} (the stat prefix may differ). The listener then sniffs the first
 * bytes of each connection. A single chain may name the transport protocol its transport socket
 * implies.
 */
final class TransportProtocols {
    static final String TLS_INSPECTOR = "envoy.filters.listener.tls_inspector";
    static final String TLS = "tls";
    static final String RAW_BUFFER = "raw_buffer";

    private TransportProtocols() {}

    /** The index of the chain to translate, and whether the listener also takes plaintext. */
    record Choice(int chain, boolean permissive) {}

    static Choice check(Listener l, String lp) {
        for (int i = 0; i < l.getListenerFiltersCount(); i++) {
            listenerFilter(l.getListenerFilters(i), lp + ".listener_filters[" + i + "]");
        }
        if (l.getFilterChainsCount() == 1) {
            FilterChain fc = l.getFilterChains(0);
            if (fc.hasFilterChainMatch()) {
                String want = fc.hasTransportSocket() ? TLS : RAW_BUFFER;
                String got = protocol(fc, lp + ".filter_chains[0]");
                if (!got.isEmpty() && !got.equals(want)) {
                    throw Fields.invalid(lp + ".filter_chains[0].filter_chain_match.transport_protocol", "'" + got + "'",
                            "'" + want + "' for a chain " + (fc.hasTransportSocket() ? "with" : "without") + " a transport_socket");
                }
            }
            return new Choice(0, false);
        }
        if (l.getFilterChainsCount() != 2) {
            throw Fields.invalid(lp + ".filter_chains", l.getFilterChainsCount() + " filter chains",
                    "one, or two matched by transport_protocol '" + TLS + "' and '" + RAW_BUFFER + "' (PERMISSIVE)");
        }
        String p0 = protocol(l.getFilterChains(0), lp + ".filter_chains[0]");
        String p1 = protocol(l.getFilterChains(1), lp + ".filter_chains[1]");
        int tls = p0.equals(TLS) ? 0 : p1.equals(TLS) ? 1 : -1;
        int raw = p0.equals(RAW_BUFFER) ? 0 : p1.equals(RAW_BUFFER) ? 1 : -1;
        if (tls < 0 || raw < 0 || tls == raw) {
            throw Fields.invalid(lp + ".filter_chains[*].filter_chain_match.transport_protocol", "'" + p0 + "', '" + p1 + "'",
                    "'" + TLS + "' and '" + RAW_BUFFER + "', one each");
        }
        FilterChain t = l.getFilterChains(tls);
        FilterChain r = l.getFilterChains(raw);
        String rp = lp + ".filter_chains[" + raw + "]";
        if (!t.hasTransportSocket()) {
            throw new ConfigException(lp + ".filter_chains[" + tls + "].transport_socket: missing (expected: TLS for transport_protocol '"
                    + TLS + "')");
        }
        Fields.allowOnly(r, rp, "name", "filters", "filter_chain_match");
        if (t.getFiltersCount() != 1 || r.getFiltersCount() != 1) {
            throw Fields.invalid(rp + ".filters", r.getFiltersCount() + " filters", "exactly one: " + ListenerTranslator.HCM
                    + ", like the tls chain's");
        }
        if (!withoutStatPrefix(t, lp).equals(withoutStatPrefix(r, rp))) {
            throw new ConfigException(rp + ".filters[0].typed_config: differs from the '" + TLS + "' chain's (expected: the same "
                    + "HttpConnectionManager on both chains; only stat_prefix may differ)");
        }
        return new Choice(tls, true);
    }

    private static HttpConnectionManager withoutStatPrefix(FilterChain fc, String fp) {
        Fields.allowOnly(fc.getFilters(0), fp + ".filters[0]", "name", "typed_config");
        return EnvoyTypes.unpack(fc.getFilters(0).getTypedConfig(), HttpConnectionManager.class,
                HttpConnectionManager.getDescriptor(), fp + ".filters[0].typed_config").toBuilder().clearStatPrefix().build();
    }

    private static String protocol(FilterChain fc, String fp) {
        if (!fc.hasFilterChainMatch()) {
            return "";
        }
        Fields.allowOnly(fc.getFilterChainMatch(), fp + ".filter_chain_match", "transport_protocol");
        String p = fc.getFilterChainMatch().getTransportProtocol();
        if (!p.isEmpty() && !p.equals(TLS) && !p.equals(RAW_BUFFER)) {
            throw Fields.invalid(fp + ".filter_chain_match.transport_protocol", "'" + p + "'", "'" + TLS + "' or '" + RAW_BUFFER + "'");
        }
        return p;
    }

    private static void listenerFilter(ListenerFilter f, String path) {
        Fields.allowOnly(f, path, "name", "typed_config");
        if (f.hasTypedConfig()) {
            TlsInspector t = EnvoyTypes.unpack(f.getTypedConfig(), TlsInspector.class, TlsInspector.getDescriptor(),
                    path + ".typed_config");
            Fields.allowOnly(t, path + ".typed_config");
        } else if (!f.getName().equals(TLS_INSPECTOR)) {
            throw Fields.invalid(path + ".name", "'" + f.getName() + "'", TLS_INSPECTOR);
        }
    }
}
