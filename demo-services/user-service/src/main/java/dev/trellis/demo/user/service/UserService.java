package dev.trellis.demo.user.service;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.trellis.demo.user.store.ConcurrencyConflictException;
import dev.trellis.demo.user.store.User;
import dev.trellis.demo.user.store.UserRepository;
import dev.trellis.demo.user.web.ApiException;
import dev.trellis.demo.user.web.ApiException.FieldError;
import dev.trellis.demo.user.web.TraceHeaders;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What both APIs (REST and gRPC) call: validates input, writes through the repository, and reads
 * cache-aside through Caffeine (a write invalidates the user's entry once it has committed; misses
 * are not cached, so a user created by another instance sharing the database is seen at once).
 */
public final class UserService {
    public static final int MAX_PAGE_SIZE = 100;
    public static final int DEFAULT_PAGE_SIZE = 20;
    private static final int MAX_NAME_LENGTH = 100;
    private static final int MAX_EMAIL_LENGTH = 254;
    private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");

    private final UserRepository repository;
    private final Cache<String, User> cache;
    private final Runnable onOutboxWrite;

    /** A read and whether the cache answered it. */
    public record Lookup(Optional<User> user, boolean cacheHit) {}

    public UserService(UserRepository repository, Duration cacheTtl, long cacheSize, Runnable onOutboxWrite) {
        this.repository = repository;
        this.cache = Caffeine.newBuilder().expireAfterWrite(cacheTtl).maximumSize(cacheSize).recordStats().build();
        this.onOutboxWrite = onOutboxWrite;
    }

    public User create(String name, String email, TraceHeaders trace) throws SQLException {
        validate(name, email);
        User user = repository.create(name.trim(), email.trim(), trace.values());
        onOutboxWrite.run();
        return user;
    }

    /** 404 when there is no such user, 409 when {@code expectedVersion} is not the current one. */
    public User update(String id, String name, String email, Long expectedVersion, TraceHeaders trace) throws SQLException {
        validate(name, email);
        try {
            Optional<User> updated = repository.update(id, name.trim(), email.trim(), expectedVersion, trace.values());
            if (updated.isEmpty()) {
                throw notFound(id);
            }
            onOutboxWrite.run();
            return updated.get();
        } catch (ConcurrencyConflictException e) {
            throw new ApiException(409, e.getMessage());
        } finally {
            // also after a conflict: the cached copy may be the stale one the caller based its write on
            cache.invalidate(id);
        }
    }

    public Lookup get(String id) throws SQLException {
        boolean[] loaded = {false};
        User user;
        try {
            // Loading inside the cache's compute means an invalidation that races with this load
            // waits for it and then removes its (possibly stale) result. Misses are not cached.
            user = cache.get(id, key -> {
                loaded[0] = true;
                try {
                    return repository.find(key).orElse(null);
                } catch (SQLException e) {
                    throw new LoadFailure(e);
                }
            });
        } catch (LoadFailure e) {
            throw e.cause;
        }
        return new Lookup(Optional.ofNullable(user), !loaded[0]);
    }

    private static final class LoadFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient SQLException cause;

        LoadFailure(SQLException cause) {
            super(cause.getMessage(), null, false, false);
            this.cause = cause;
        }
    }

    public UserRepository.Page list(String limitParam, String after) throws SQLException {
        int limit = DEFAULT_PAGE_SIZE;
        if (limitParam != null) {
            try {
                limit = Integer.parseInt(limitParam.trim());
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > MAX_PAGE_SIZE) {
                throw new ApiException(400, "invalid query", List.of(new FieldError("limit",
                        "'" + limitParam + "' (expected: an integer from 1 to " + MAX_PAGE_SIZE + ")")));
            }
        }
        return repository.list(limit, after == null || after.isEmpty() ? null : after);
    }

    public UserRepository repository() {
        return repository;
    }

    public CacheStats cacheStats() {
        return cache.stats();
    }

    public static ApiException notFound(String id) {
        return new ApiException(404, "user '" + id + "' not found");
    }

    /** 400 with one error per invalid field. */
    public static void validate(String name, String email) {
        List<FieldError> errors = new ArrayList<>();
        if (name == null || name.isBlank()) {
            errors.add(new FieldError("name", "required (expected: 1 to " + MAX_NAME_LENGTH + " characters)"));
        } else if (name.trim().length() > MAX_NAME_LENGTH) {
            errors.add(new FieldError("name", name.trim().length() + " characters (expected: at most " + MAX_NAME_LENGTH + ")"));
        }
        if (email == null || email.isBlank()) {
            errors.add(new FieldError("email", "required (expected: an address like name@example.com)"));
        } else if (email.trim().length() > MAX_EMAIL_LENGTH) {
            errors.add(new FieldError("email", email.trim().length() + " characters (expected: at most " + MAX_EMAIL_LENGTH + ")"));
        } else if (!EMAIL.matcher(email.trim()).matches()) {
            errors.add(new FieldError("email", "'" + email + "' (expected: an address like name@example.com)"));
        }
        if (!errors.isEmpty()) {
            throw new ApiException(400, "validation failed", errors);
        }
    }
}
