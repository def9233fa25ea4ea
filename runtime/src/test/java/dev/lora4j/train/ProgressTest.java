package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.TrainingListener.EvaluationReport;
import dev.lora4j.api.TrainingListener.StepReport;
import dev.lora4j.api.TrainingListener.TrainingEnd;
import dev.lora4j.api.TrainingListener.TrainingStart;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressTest {

    private static StepReport step(long s) {
        return new StepReport(s, 1, 0.5 / s, 1e-4, 1.0, 256.0, 10, 90.0 - 9 * s);
    }

    private static String run(ConsoleProgress.Mode mode) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleProgress progress = new ConsoleProgress(mode, 4, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        progress.onStart(new TrainingStart(10, 1, 50, 1000));
        for (long s = 1; s <= 10; s++) {
            progress.onStep(step(s));
            if (s == 5) {
                progress.onEvaluation(new EvaluationReport(5, "val_loss", 0.25, 0.25, true));
            }
        }
        progress.onFinish(new TrainingEnd(10, false, 0.25, 5));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void linesEveryNStepsForLogs() {
        String out = run(ConsoleProgress.Mode.LINES);
        String[] lines = out.split("\n");
        assertEquals("training 10 steps over 1 epoch; 50 of 1,000 parameters trainable (5.00%)", lines[0]);
        assertTrue(lines[1].startsWith("step 1/10 [==>   "), lines[1]);
        assertTrue(lines[1].contains("loss 0.5000 | lr 1.00e-04 | 256.0 ex/s | ETA 0:01:21"), lines[1]);
        assertTrue(lines[2].startsWith("step 4/10 "), lines[2]);
        assertEquals("eval after step 5: val_loss 0.2500 (best)", lines[3]);
        assertTrue(lines[4].startsWith("step 8/10 "), lines[4]);
        assertTrue(lines[5].startsWith("step 10/10 [====================] 100%"), lines[5]);
        assertEquals("done after 10 steps; best val_loss 0.2500 at step 5", lines[6]);
        assertEquals(7, lines.length);
        assertTrue(!out.contains("\r"));
    }

    @Test
    void barDrawsWithTheLibrary() {
        String out = run(ConsoleProgress.Mode.BAR);
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
