package dev.lora4j.train;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.train.internal.BarProgress;
import dev.lora4j.train.internal.LineProgress;
import jakarta.inject.Inject;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Objects;

/**
 * Prints training progress — step/total, loss, learning rate, examples/s, ETA, and each
 * evaluation — to {@code System.err} by default.
 *
 * <p>In a terminal ({@link Mode#BAR}) a single bar is redrawn in place (the {@code progressbar}
 * library). Elsewhere ({@link Mode#LINES}: output redirected to a file, CI logs) a plain line is
 * printed at a steady interval instead (10 seconds by default), because a redrawn bar turns into
 * one enormous line of carriage returns there. {@link Mode#AUTO} picks {@code BAR} when the JVM has
 * a console and the {@code CI} environment variable is not set, and {@code LINES} otherwise.
 */
public final class ConsoleProgress implements TrainingListener {

    /** How progress is shown. */
    public enum Mode {
        /** A bar in a terminal, lines otherwise. */
        AUTO,
        /** A bar redrawn in place. */
        BAR,
        /** A plain line at a steady interval. */
        LINES
    }

    /** In {@link Mode#LINES}, a line at most this often by default. */
    public static final Duration DEFAULT_LINE_INTERVAL = Duration.ofSeconds(10);

    /**
     * System property that sets the default constructor's line interval, in seconds (e.g. {@code
     * -Dlora4j.progress.seconds=60} for a long run's log).
     */
    public static final String LINE_INTERVAL_PROPERTY = "lora4j.progress.seconds";

    private final TrainingListener delegate;

    /**
     * {@link Mode#AUTO} on {@code System.err}; when not in a terminal, a line every {@value
     * #LINE_INTERVAL_PROPERTY} seconds (system property), 10 if unset.
     *
     * @throws IllegalArgumentException when the property is set but is not a number of seconds ≥ 0
     */
    @Inject
    public ConsoleProgress() {
        this(Mode.AUTO, lineIntervalFromProperty(), System.err);
    }

    /**
     * Progress in the given mode.
     *
     * @param lineInterval in {@link Mode#LINES}, the least time between two step lines ({@link
     *     Duration#ZERO}: a line every step); the first and last step always get one
     */
    public ConsoleProgress(Mode mode, Duration lineInterval, PrintStream out) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(out, "out");
        if (lineInterval.isNegative()) {
            throw new IllegalArgumentException("lineInterval must not be negative, got " + lineInterval);
        }
        Mode resolved = mode == Mode.AUTO ? (isTerminal() ? Mode.BAR : Mode.LINES) : mode;
        this.delegate = resolved == Mode.BAR ? new BarProgress(out) : new LineProgress(out, lineInterval);
    }

    private static Duration lineIntervalFromProperty() {
        String value = System.getProperty(LINE_INTERVAL_PROPERTY);
        if (value == null) {
            return DEFAULT_LINE_INTERVAL;
        }
        try {
            double seconds = Double.parseDouble(value.trim());
            if (seconds >= 0 && Double.isFinite(seconds)) {
                return Duration.ofMillis(Math.round(seconds * 1000));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("system property " + LINE_INTERVAL_PROPERTY
                + " must be a number of seconds >= 0, got '" + value + "'");
    }

    private static boolean isTerminal() {
        return System.console() != null && System.getenv("CI") == null && !"dumb".equals(System.getenv("TERM"));
    }

    @Override
    public void onStart(TrainingStart start) {
        delegate.onStart(start);
    }

    @Override
    public void onStep(StepReport step) {
        delegate.onStep(step);
    }

    @Override
    public void onEvaluation(EvaluationReport evaluation) {
        delegate.onEvaluation(evaluation);
    }

    @Override
    public void onFinish(TrainingEnd end) {
        delegate.onFinish(end);
    }
}
