package dev.lora4j.cli.internal;

/**
 * Settings the command line makes for its own process, first thing, before ND4J loads: they are
 * JVM-wide, so the library never makes them on an application's behalf (an application that
 * embeds lora4j makes them on its command line, as the README says).
 *
 * <p>{@value #MAX_PHYSICAL_BYTES} = 0: JavaCPP, under ND4J, otherwise reads {@code
 * /proc/self/statm} for every native pointer it hands out (ND4J takes two per array it creates,
 * views included), to call the garbage collector when the process's resident memory passes a
 * limit. A training step creates thousands of arrays, and that system call cost 2–3% of the main
 * job's step (BENCHMARKS.md). lora4j does not lean on that collection: a step's arrays live in
 * its step workspace and go when the step ends, and JavaCPP's own count of the bytes it
 * allocated still triggers a collection past its limit. A value the user set is kept.
 */
public final class ProcessDefaults {

    /** JavaCPP's limit on resident memory; 0 turns the check off. */
    public static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";

    private ProcessDefaults() {}

    /** Applies the defaults that the user has not set. */
    public static void apply() {
        if (System.getProperty(MAX_PHYSICAL_BYTES) == null) {
            System.setProperty(MAX_PHYSICAL_BYTES, "0");
        }
    }
}
