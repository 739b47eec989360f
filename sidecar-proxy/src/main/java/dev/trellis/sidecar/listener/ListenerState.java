package dev.trellis.sidecar.listener;

import dev.trellis.sidecar.config.ListenerConfig;
import dev.trellis.sidecar.http.HttpConnectionManager;
import io.netty.handler.ssl.SslContext;

/** What a new connection on a listener uses: replaced as a whole on reload. */
public record ListenerState(ListenerConfig config, HttpConnectionManager hcm, SslContext ssl) {}
