package dev.lora4j.train;

/** Why training ended. */
public enum StopReason {
    /** All epochs ran. */
    COMPLETED,
    /** The configured maximum number of steps was reached first. */
    MAX_STEPS,
    /** The monitored metric stopped improving for the configured patience. */
    EARLY_STOPPING,
    /** A NaN or infinite loss or gradient, under {@link NonFinitePolicy#STOP}. */
    NON_FINITE
}
