package dev.trellis.demo.user;

/** The demo user service (see issue 9); it knows nothing of the mesh. */
public final class UserServiceMain {
    public static void main(String[] args) {
        System.err.println("user-service: not available yet in this build of Trellis.");
        System.exit(2);
    }
}
