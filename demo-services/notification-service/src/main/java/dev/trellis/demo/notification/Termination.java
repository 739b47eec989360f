package dev.trellis.demo.notification;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the service's graceful stop on SIGTERM and SIGINT, then exits with 128 + the signal number.
 * The stop runs before the JVM's shutdown hooks (not among them, in no order), so that an embedded
 * database whose library closes it from a hook (H2 in auto-server mode) is still open while requests
 * finish and the outbox relay flushes. Where signals cannot be handled, a shutdown hook does it.
 */
final class Termination {
    private static final Logger log = LoggerFactory.getLogger(Termination.class);

    private Termination() {}

    static void onSignal(Runnable stop) {
        AtomicBoolean done = new AtomicBoolean();
        Runnable once = () -> {
            if (done.compareAndSet(false, true)) {
                stop.run();
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(once, "shutdown"));
        for (String signal : new String[] {"TERM", "INT"}) {
            try {
                handle(signal, number -> {
                    once.run();
                    System.exit(128 + number);
                });
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                log.debug("cannot handle SIG{} ({}); stopping from a shutdown hook instead", signal, e.toString());
            }
        }
    }

    /** {@code sun.misc.Signal.handle}, reached reflectively: it is in jdk.unsupported and javac warns on direct use. */
    private static void handle(String name, java.util.function.IntConsumer action) throws ReflectiveOperationException {
        Class<?> signalClass = Class.forName("sun.misc.Signal");
        Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
        Method getNumber = signalClass.getMethod("getNumber");
        Object handler = Proxy.newProxyInstance(Termination.class.getClassLoader(), new Class<?>[] {handlerClass},
                (proxy, method, args) -> {
                    if (method.getName().equals("handle")) {
                        action.accept((Integer) getNumber.invoke(args[0]));
                        return null;
                    }
                    if (method.getName().equals("toString")) {
                        return "graceful stop on SIG" + name;
                    }
                    if (method.getName().equals("hashCode")) {
                        return System.identityHashCode(proxy);
                    }
                    if (method.getName().equals("equals")) {
                        return proxy == args[0];
                    }
                    return null;
                });
        Object signal = signalClass.getConstructor(String.class).newInstance(name);
        signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
    }
}
