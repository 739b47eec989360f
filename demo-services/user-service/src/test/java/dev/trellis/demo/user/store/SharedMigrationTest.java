package dev.trellis.demo.user.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Instances sharing one database start at the same moment (as {@code trellis demo} starts both
 * user-service instances): each applies the migrations or waits for the one that is, none fails.
 */
class SharedMigrationTest {
    @TempDir
    Path dir;

    @Test
    void instancesOpeningASharedDatabaseTogetherAllStart() throws Exception {
        int last = UserSchema.MIGRATIONS.get(UserSchema.MIGRATIONS.size() - 1).version();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            for (int round = 0; round < 5; round++) {
                Path data = dir.resolve("round-" + round);
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Database>> opened = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    opened.add(pool.submit(() -> {
                        go.await();
                        return Database.open(data, "users", true, UserSchema.MIGRATIONS);
                    }));
                }
                go.countDown();
                List<Database> dbs = new ArrayList<>();
                for (Future<Database> f : opened) {
                    dbs.add(f.get(60, TimeUnit.SECONDS));
                }
                for (Database db : dbs) {
                    assertThat(db.schemaVersion()).isEqualTo(last);
                }
                dbs.forEach(Database::close);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
