package dev.trellis.demo.notification;

/** The demo notification service (see issue 9); it knows nothing of the mesh. */
public final class NotificationServiceMain {
    public static void main(String[] args) {
        System.err.println("notification-service: not available yet in this build of Trellis.");
        System.exit(2);
    }
}
