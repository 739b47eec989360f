package dev.trellis.demo.user.outbox;

import dev.trellis.demo.user.store.OutboxMessage;

/** Sends one outbox message to its subscriber; returns null on success, else why it failed. */
@FunctionalInterface
public interface Delivery {
    String deliver(OutboxMessage message);
}
