package dev.trellis.interop;

import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.xds.XdsCredentialsProvider;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * xDS channel credentials {@code trellis_join_token} for a proxyless gRPC client: TLS trusting
 * {@code ca_certificate_file} (the mesh bundle) plus {@code authorization: Bearer <join token>}
 * from {@code token_file} on every call, because the Trellis control plane serves ADS only to
 * callers that prove a service (grpc-java's own {@code tls} credentials carry neither a client
 * certificate nor a token). Found by grpc-xds through {@code META-INF/services}.
 */
public final class JoinTokenXdsCredentials extends XdsCredentialsProvider {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    @Override
    protected ChannelCredentials newChannelCredentials(Map<String, ?> config) {
        Object ca = config == null ? null : config.get("ca_certificate_file");
        Object tokenFile = config == null ? null : config.get("token_file");
        if (!(ca instanceof String) || !(tokenFile instanceof String)) {
            return null; // grpc-xds reports the bootstrap as having no usable channel credentials
        }
        try {
            String token = Files.readString(Path.of((String) tokenFile), StandardCharsets.UTF_8).strip();
            return CompositeChannelCredentials.create(
                    TlsChannelCredentials.newBuilder().trustManager(new File((String) ca)).build(), bearer(token));
        } catch (IOException e) {
            throw new IllegalArgumentException("trellis_join_token: " + e.getMessage(), e);
        }
    }

    static CallCredentials bearer(String token) {
        return new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                Metadata md = new Metadata();
                md.put(AUTHORIZATION, "Bearer " + token);
                applier.apply(md);
            }
        };
    }

    @Override
    protected String getName() {
        return "trellis_join_token";
    }

    @Override
    public boolean isAvailable() {
        return true;
    }

    @Override
    public int priority() {
        return 5;
    }
}
