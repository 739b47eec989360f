package dev.trellis.demo.user.store;

import java.time.Instant;

/**
 * One stored change of a user: {@code UserCreated} or {@code UserUpdated}, with the user's id as the
 * aggregate id and a version that is 1 for the creation and one more for every change after.
 */
public record UserEvent(String eventId, String aggregateId, long version, String type, String name, String email,
                        Instant occurredAt) {
    public static final String USER_CREATED = "UserCreated";
    public static final String USER_UPDATED = "UserUpdated";
}
