package dev.lora4j.train;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.train.internal.BarProgress;
import dev.lora4j.train.internal.LineProgress;
import jakarta.inject.Inject;
import java.io.PrintStream;
import java.util.Objects;

/**
 * Prints training progress — step/total, loss, learning rate, examples/s, ETA, and each
 * evaluation — to {@code System.err} by default.
 *
 * <p>In a terminal ({@link Mode#BAR}) a single bar is redrawn in place (the {@code progressbar}
 * library). Elsewhere ({@link Mode#LINES}: output redirected to a file, CI logs) a plain line is
 * printed every N steps instead, because a redrawn bar turns into one enormous line of carriage
 * returns there. {@link Mode#AUTO} picks {@code BAR} when the JVM has a console and the {@code CI}
 * environment variable is not set, and {@code LINES} otherwise.
 */
public final class ConsoleProgress implements TrainingListener {

    /** How progress is shown. */
    public enum Mode {
        /** A bar in a terminal, lines otherwise. */
        AUTO,
        /** A bar redrawn in place. */
        BAR,
        /** A line every N steps. */
        LINES
    }

    /** Lines are printed every this many steps by default. */
    public static final int DEFAULT_LINE_EVERY = 50;

    private final TrainingListener delegate;

    /** {@link Mode#AUTO} on {@code System.err}, a line every 50 steps when not in a terminal. */
    @Inject
    public ConsoleProgress() {
        this(Mode.AUTO, DEFAULT_LINE_EVERY, System.err);
    }

    /**
     * Progress in the given mode.
     *
     * @param lineEvery steps between lines in {@link Mode#LINES}, ≥ 1
     */
    public ConsoleProgress(Mode mode, int lineEvery, PrintStream out) {
        Objects.requireNonNull(out, "out");
        if (lineEvery < 1) {
            throw new IllegalArgumentException("lineEvery must be >= 1, got " + lineEvery);
        }
        Mode resolved = mode == Mode.AUTO ? (isTerminal() ? Mode.BAR : Mode.LINES) : mode;
        this.delegate = resolved == Mode.BAR ? new BarProgress(out) : new LineProgress(out, lineEvery);
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
