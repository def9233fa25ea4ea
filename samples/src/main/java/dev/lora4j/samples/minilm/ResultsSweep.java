package dev.lora4j.samples.minilm;

import dev.lora4j.guice.Lora4j;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneReport;
import dev.lora4j.pipeline.FineTuneRunner;
import dev.lora4j.pipeline.FineTuneVariant;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Produces RESULTS.md: the genre fine-tune under one training budget with (a) the encoder frozen
 * and only the head trained, (b) LoRA of rank 1, 2, 4, 8 and 16 on query and value plus the head,
 * (c) every weight trained. The table is rewritten after every row, so an interrupted sweep still
 * leaves the rows it finished.
 *
 * <pre>
 * mvn -B -ntp -q install -DskipTests
 * MAVEN_OPTS=-Xmx1500m mvn -B -ntp -q -pl samples exec:java@results -Dexec.args="RESULTS.md 3"
 * </pre>
 *
 * Arguments: the output file (default {@code RESULTS.md}) and the epochs per row (default 3, the main job's).
 */
public final class ResultsSweep {

    /** Where the generated part of the MiniLM section starts in RESULTS.md. */
    static final String BEGIN = "<!-- BEGIN MiniLM table (written by ResultsSweep) -->";
    /** Where it ends; the hand-written discussion follows. */
    static final String TABLE_END = "<!-- END MiniLM table; the discussion below is kept -->";

    private ResultsSweep() {}

    /** One row of the table: its label and the variant it runs. */
    private record Row(String name, FineTuneVariant variant) {}

    public static void main(String[] args) throws IOException {
        Path file = Path.of(args.length > 0 ? args[0] : "RESULTS.md");
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        GenreFineTune job = new GenreFineTune();
        FineTuneOptions base = job.defaults(FineTuneMode.LORA).toBuilder().epochs(epochs).maxSteps(Long.MAX_VALUE)
                .agent(false).outputDir(Path.of("target", "results-sweep")).build();
        Map<String, Row> rows = new LinkedHashMap<>();
        rows.put("head", new Row("(a) frozen encoder + head", FineTuneVariant.parse("head")));
        for (int r : new int[] {1, 2, 4, 8, 16}) {
            rows.put("lora" + r, new Row("(b) LoRA r=" + r + " q/v + head", FineTuneVariant.parse("lora" + r + ":16")));
        }
        rows.put("full", new Row("(c) full fine-tuning", FineTuneVariant.parse("full")));
        // the most telling rows first, in case the sweep is cut short
        List<String> order = List.of("head", "lora8", "full", "lora1", "lora4", "lora16", "lora2");
        FineTuneRunner runner = Lora4j.injector().getInstance(FineTuneRunner.class);
        Map<String, FineTuneReport> done = new LinkedHashMap<>();
        long start = System.nanoTime();
        for (String key : order) {
            Row row = rows.get(key);
            System.out.println("######## " + row.name() + " ########");
            done.put(key, runner.run(job, row.variant().apply(base, job), System.out));
            write(file, rows, done, epochs, (System.nanoTime() - start) / 1e9);
        }
        System.exit(0);
    }

    private static void write(Path file, Map<String, Row> rows, Map<String, FineTuneReport> done, int epochs,
            double seconds) {
        StringBuilder b = new StringBuilder();
        FineTuneOptions any = done.values().iterator().next().options();
        b.append(BEGIN).append("\n# Results: MiniLM genre fine-tune\n\n");
        b.append("all-MiniLM-L6-v2 (22.6 M parameters) fine-tuned on the Brown Corpus sentence-genre task shipped in\n")
                .append("`samples/src/main/resources/data/brown-genres/` (6 classes; 2,400 training, 360 validation,\n")
                .append("720 test sentences; document-level splits). Made by `ResultsSweep` (").append(LocalDate.now())
                .append("):\n\n```bash\nmvn -B -ntp -q install -DskipTests\n")
                .append("MAVEN_OPTS=-Xmx1500m mvn -B -ntp -q -pl samples exec:java@results -Dexec.args=\"RESULTS.md ")
                .append(epochs).append("\"\n```\n\n");
        b.append(String.format(Locale.ROOT, "Same budget for every row: %d epochs (%d steps) of batches of %d sentences cut at %d tokens,%n",
                epochs, done.values().iterator().next().training().steps() > 0 ? epochs * stepsPerEpoch(any) : 0,
                any.batchSize(), GenreFineTune.Parameters.of(any).maxLength()));
        b.append("AdamW (no weight decay), linear warm-up over 10 % of the steps then linear decay, gradients clipped at\n")
                .append("norm 1, validation accuracy every half epoch with the best weights restored (early stopping\n")
                .append("after ").append(GenreFineTune.Parameters.of(any).patience()).append(" validations without improvement), seed ")
                .append(any.seed()).append(", ").append(any.threads()).append(" BLAS/ND4J thread(s).\n")
                .append("Learning rates: head alone 3e-3, LoRA (adapters and head) 1e-3, full fine-tuning 5e-5.\n\n");
        b.append("| setting | trainable params | test accuracy | best val accuracy | steps run | training wall time | optimizer + gradient memory |\n");
        b.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, Row> e : rows.entrySet()) {
            FineTuneReport r = done.get(e.getKey());
            if (r == null) {
                b.append("| ").append(e.getValue().name()).append(" | not run | | | | | |\n");
                continue;
            }
            b.append(String.format(Locale.ROOT, "| %s | %,d (%.2f%%) | %.4f | %.4f | %d | %s | %s |%n", e.getValue().name(),
                    r.trainable(), 100.0 * r.trainable() / r.total(), r.testAccuracy(), r.bestValidationMetric(),
                    r.training().steps(), FineTuneReport.duration(r.trainingTime()),
                    FineTuneReport.bytes(r.optimizerAndGradientBytes())));
        }
        b.append("\nOptimizer + gradient memory = trainable parameters × 4 bytes × 3 (AdamW's two moments and the\n")
                .append("gradient, float32); activations are not counted. Wall times are single runs on a 2-core machine,\n")
                .append("so they carry noise; the sweep took ")
                .append(FineTuneReport.duration(java.time.Duration.ofSeconds((long) seconds))).append(" in all.\n");
        List<String> merges = new ArrayList<>();
        done.forEach((k, r) -> {
            if (r.merge() != null) {
                merges.add(String.format(Locale.ROOT, "r=%d: %.2f%% same predictions, max |logit diff| %.1e",
                        r.options().rank(), 100 * r.merge().agreement(), r.merge().maxAbsLogitDiff()));
            }
        });
        if (!merges.isEmpty()) {
            b.append("\nMerged vs unmerged on the test split: ").append(String.join("; ", merges)).append(".\n");
        }
        b.append(TABLE_END).append("\n");
        try {
            String old = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
            Files.writeString(file, replaceTable(old, b.toString()), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /**
     * {@code document} with the sweep's generated part (from {@link #BEGIN} to {@link #TABLE_END})
     * replaced by {@code table}; the discussion after it and every other section of the file are
     * kept. Without the markers the table goes first, above the old text.
     */
    static String replaceTable(String document, String table) {
        int begin = document.indexOf(BEGIN);
        int end = document.indexOf(TABLE_END, Math.max(begin, 0));
        if (begin < 0 || end < 0) {
            return table + (document.isEmpty() ? "" : "\n" + document);
        }
        int after = end + TABLE_END.length();
        if (after < document.length() && document.charAt(after) == '\n') {
            after++;
        }
        return document.substring(0, begin) + table + document.substring(after);
    }

    private static int stepsPerEpoch(FineTuneOptions s) {
        return (2400 + s.batchSize() - 1) / s.batchSize();
    }
}
