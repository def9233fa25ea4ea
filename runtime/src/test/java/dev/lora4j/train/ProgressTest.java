package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.api.TrainingListener.EvaluationReport;
import dev.lora4j.api.TrainingListener.StepReport;
import dev.lora4j.api.TrainingListener.TrainingEnd;
import dev.lora4j.api.TrainingListener.TrainingStart;
import dev.lora4j.train.internal.LineProgress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class ProgressTest {

    private static StepReport step(long s) {
        return new StepReport(s, 1, 0.5 / s, 1e-4, 1.0, 256.0, 10, 90.0 - 9 * s);
    }

    /** Ten steps with an evaluation after the fifth, through {@code progress}; what it printed. */
    private static String run(Function<PrintStream, TrainingListener> progressOn,
            Runnable beforeEachStep) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TrainingListener progress = progressOn.apply(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        progress.onStart(new TrainingStart(10, 1, 50, 1000));
        for (long s = 1; s <= 10; s++) {
            beforeEachStep.run();
            progress.onStep(step(s));
            if (s == 5) {
                progress.onEvaluation(new EvaluationReport(5, "val_loss", 0.25, 0.25, true));
            }
        }
        progress.onFinish(new TrainingEnd(10, false, 0.25, 5));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void linesAtASteadyIntervalForLogs() {
        // a step every 3 s, a line at most every 10 s: steps 1 (t = 3 s), 5 (15 s), 9 (27 s) and the last
        AtomicLong clock = new AtomicLong();
        String out = run(o -> new LineProgress(o, Duration.ofSeconds(10), clock::get),
                () -> clock.addAndGet(Duration.ofSeconds(3).toNanos()));
        String[] lines = out.split("\n");
        assertEquals("training 10 steps over 1 epoch; 50 of 1,000 parameters trainable (5.00%)", lines[0]);
        assertTrue(lines[1].startsWith("step 1/10 [==>   "), lines[1]);
        assertTrue(lines[1].contains("loss 0.5000 | lr 1.00e-04 | 256.0 ex/s | ETA 0:01:21"), lines[1]);
        assertTrue(lines[2].startsWith("step 5/10 "), lines[2]);
        assertEquals("eval after step 5: val_loss 0.2500 (best)", lines[3]);
        assertTrue(lines[4].startsWith("step 9/10 "), lines[4]);
        assertTrue(lines[5].startsWith("step 10/10 [====================] 100%"), lines[5]);
        assertEquals("done after 10 steps; best val_loss 0.2500 at step 5", lines[6]);
        assertEquals(7, lines.length, out);
        assertTrue(!out.contains("\r"));
    }

    @Test
    void slowStepsEachGetALine() {
        // steps slower than the interval: never a silent stretch longer than the interval plus a step
        AtomicLong clock = new AtomicLong();
        String out = run(o -> new LineProgress(o, Duration.ofSeconds(10), clock::get),
                () -> clock.addAndGet(Duration.ofSeconds(25).toNanos()));
        assertEquals(10, out.lines().filter(line -> line.startsWith("step ")).count(), out);
    }

    @Test
    void aZeroIntervalPrintsEveryStep() {
        String out = run(o -> new ConsoleProgress(ConsoleProgress.Mode.LINES, Duration.ZERO, o), () -> {});
        assertEquals(10, out.lines().filter(line -> line.startsWith("step ")).count(), out);
    }

    @Test
    void theIntervalPropertyIsCheckedAndNamed() {
        String before = System.getProperty(ConsoleProgress.LINE_INTERVAL_PROPERTY);
        try {
            System.setProperty(ConsoleProgress.LINE_INTERVAL_PROPERTY, "soon");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ConsoleProgress::new);
            assertEquals("system property lora4j.progress.seconds must be a number of seconds >= 0, got 'soon'",
                    e.getMessage());
            System.setProperty(ConsoleProgress.LINE_INTERVAL_PROPERTY, "-1");
            assertThrows(IllegalArgumentException.class, ConsoleProgress::new);
            System.setProperty(ConsoleProgress.LINE_INTERVAL_PROPERTY, "0.5");
            new ConsoleProgress();
        } finally {
            if (before == null) {
                System.clearProperty(ConsoleProgress.LINE_INTERVAL_PROPERTY);
            } else {
                System.setProperty(ConsoleProgress.LINE_INTERVAL_PROPERTY, before);
            }
        }
    }

    @Test
    void barDrawsWithTheLibrary() {
        String out = run(o -> new ConsoleProgress(ConsoleProgress.Mode.BAR, Duration.ZERO, o), () -> {});
        assertTrue(out.contains("train 100%"), out);
        assertTrue(out.contains("10/10"), out);
        assertTrue(out.contains("done after 10 steps"), out);
    }

    @Test
    void lossHistoryRecordsStepsAndEvaluations() {
        LossHistory history = new LossHistory();
        history.onStart(new TrainingStart(2, 1, 1, 1));
        history.onStep(step(1));
        history.onStep(step(2));
        history.onEvaluation(new EvaluationReport(2, "val_loss", 0.3, 0.3, true));
        assertEquals(2, history.losses().length);
        assertEquals(0.25, history.losses()[1]);
        assertEquals("step,metric,value,val_loss,improved\n2,val_loss,0.3,0.3,true\n", history.evaluationsCsv());
        history.onStart(new TrainingStart(2, 1, 1, 1));
        assertEquals(0, history.steps().size());
    }
}
