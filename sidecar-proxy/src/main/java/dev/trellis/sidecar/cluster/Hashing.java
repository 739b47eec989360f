package dev.trellis.sidecar.cluster;

import java.nio.charset.StandardCharsets;

/** The 64-bit hash used for ring entries and request hash keys (FNV-1a, then MurmurHash3's finalizer). */
public final class Hashing {
    private Hashing() {}

    public static long hash64(String s) {
        return hash64(s.getBytes(StandardCharsets.UTF_8));
    }

    public static long hash64(byte[] bytes) {
        long h = 0xcbf29ce484222325L;
        for (byte b : bytes) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix(h);
    }

    /** MurmurHash3's fmix64: spreads every input bit over the whole word. */
    public static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
