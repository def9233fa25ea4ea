package dev.lora4j.agent.internal;

/**
 * The agent's logger ({@code System.Logger} named {@value #NAME}), looked up on first use, never
 * in {@code premain}, so that an application can still choose its logging backend.
 */
final class AgentLog {

    /** The logger's name. */
    static final String NAME = "dev.lora4j.agent";

    private AgentLog() {}

    private static final class Holder {
        static final System.Logger LOGGER = System.getLogger(NAME);
    }

    static void info(String message) {
        Holder.LOGGER.log(System.Logger.Level.INFO, message);
    }

    static void debug(String message) {
        Holder.LOGGER.log(System.Logger.Level.DEBUG, message);
    }

    static void warning(String message) {
        Holder.LOGGER.log(System.Logger.Level.WARNING, message);
    }

    static void warning(String message, Throwable error) {
        Holder.LOGGER.log(System.Logger.Level.WARNING, message, error);
    }
}
