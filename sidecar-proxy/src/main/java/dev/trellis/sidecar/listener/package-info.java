/**
 * Listeners: accept connections, optional TLS, and pick the HTTP codec (HTTP/1.1, HTTP/2 with
 * prior knowledge detected by its preface, or h2 by ALPN).
 */
package dev.trellis.sidecar.listener;
