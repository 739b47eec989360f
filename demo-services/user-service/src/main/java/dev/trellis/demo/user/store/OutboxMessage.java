package dev.trellis.demo.user.store;

import java.util.Map;

/** One outbox row waiting to be delivered: the event as JSON, with the trace headers of the request that caused it. */
public record OutboxMessage(long seq, String eventId, String aggregateId, String topic, String payload,
                            Map<String, String> headers, int attempts) {}
