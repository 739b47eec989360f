package dev.trellis.demo.user.store;

import java.time.Instant;

/** The current state of one user (the read model); {@code version} counts its events. */
public record User(String id, String name, String email, long version, Instant createdAt, Instant updatedAt) {}
