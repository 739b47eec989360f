package dev.trellis.demo.notification.store;

import java.time.Instant;

/** One notification sent (here: recorded) to a user, with the event and request that caused it. */
public record Notification(long id, String userId, String kind, String recipient, String message, String eventId,
                           String requestId, String traceId, Instant createdAt) {}
