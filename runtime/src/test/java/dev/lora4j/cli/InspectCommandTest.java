package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lora4j inspect} on the real PEFT fixture. */
class InspectCommandTest {

    @TempDir
    Path tmp;

    @Test
    void tableListsEveryModuleAndTheTotals() throws Exception {
        CliRun run = CliRun.of("inspect", MergeCommandTest.fixture().toString());
        assertEquals(0, run.exitCode(), run.err());
        String out = run.out();
        assertTrue(out.contains("r 8, lora_alpha 16, lora_dropout 0.1"), out);
        assertTrue(out.contains("target_modules [q_lin, v_lin]"), out);
        assertTrue(out.contains("task_type SEQ_CLS, base_model_name_or_path distilbert-base-uncased, peft_version 0.20.0"), out);
        long rows = out.lines().filter(l -> l.matches("distilbert\\.transformer\\.layer\\.\\d\\.attention\\.[qv]_lin\\s+linear\\s+8\\s+16\\s+2\\s+"
                + "\\[8, 768\\]\\s+\\[768, 8\\]\\s+12,288")).count();
        assertEquals(12, rows, out);
        assertTrue(out.contains("base_model.model.classifier.weight"), out);
        assertTrue(out.contains("totals: 12 adapted modules, 147,456 LoRA parameters; 4 other tensors, 595,206 parameters;"
                + " 742,662 parameters in all"), out);
    }

    @Test
    void convolutionAdaptersShowTheirKernelShapes() throws Exception {
        Path fixture = Path.of(InspectCommandTest.class.getResource("/fixtures/peft/tiny-cnn/grouped").toURI());
        CliRun run = CliRun.of("inspect", fixture.toString());
        assertEquals(0, run.exitCode(), run.err());
        String out = run.out();
        assertTrue(out.lines().anyMatch(l -> l.matches("conv1\\s+conv\\s+4\\s+8\\s+2\\s+\\[4, 1, 3, 3\\]\\s+\\[4, 4, 1, 1\\]\\s+52")), out);
        assertTrue(out.lines().anyMatch(l -> l.matches("conv2\\s+conv\\s+4\\s+8\\s+2\\s+\\[4, 4, 3, 3\\]\\s+\\[8, 2, 1, 1\\]\\s+160")), out);
    }

    @Test
    void jsonHasTheConfigModulesAndTotals() throws Exception {
        CliRun run = CliRun.of("inspect", MergeCommandTest.fixture().toString(), "--json");
        assertEquals(0, run.exitCode(), run.err());
        JsonNode all = new ObjectMapper().readTree(run.out());
        assertEquals(1, all.get("adapters").size(), "one adapter in the fixture's folder");
        JsonNode json = all.get("adapters").get(0);
        assertEquals("default", json.get("name").textValue());
        assertEquals("0.20.0", json.get("config").get("peft_version").textValue());
        assertEquals(12, json.get("modules").size());
        JsonNode first = json.get("modules").get(0);
        assertEquals("distilbert.transformer.layer.0.attention.q_lin", first.get("module").textValue());
        assertEquals(8, first.get("r").intValue());
        assertEquals(16.0, first.get("alpha").doubleValue());
        assertEquals(2.0, first.get("scaling").doubleValue());
        assertEquals("[8,768]", first.get("a_shape").toString());
        assertEquals("[768,8]", first.get("b_shape").toString());
        assertEquals(147_456, json.get("totals").get("lora_parameters").longValue());
        assertEquals(595_206, json.get("totals").get("other_parameters").longValue());
    }

    /** PEFT's layout for several adapters: default in the folder, the others in subfolders of their names. */
    private Path folderOfThree() throws Exception {
        Path root = tmp.resolve("three");
        copyAdapter(MergeCommandTest.fixture(), root);
        copyAdapter(MergeCommandTest.loraOnlyAdapter(tmp.resolve("lora-only")), root.resolve("heads-off"));
        copyAdapter(MergeCommandTest.fixture(), root.resolve("another"));
        Files.createDirectories(root.resolve("not-an-adapter"));
        return root;
    }

    private static void copyAdapter(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        for (String file : new String[] {"adapter_config.json", "adapter_model.safetensors"}) {
            Files.copy(from.resolve(file), to.resolve(file));
        }
    }

    @Test
    void everyAdapterOfAFolderIsShownUnderItsName() throws Exception {
        Path root = folderOfThree();
        CliRun run = CliRun.of("inspect", root.toString());
        assertEquals(0, run.exitCode(), run.err());
        String out = run.out();
        assertTrue(out.startsWith("3 adapters in " + root + ": [default, another, heads-off]"), out);
        assertTrue(out.contains("adapter  default  (" + root + ")"), out);
        assertTrue(out.contains("adapter  another  (" + root.resolve("another") + ")"), out);
        assertTrue(out.contains("adapter  heads-off  (" + root.resolve("heads-off") + ")"), out);
        assertEquals(3, out.lines().filter(l -> l.startsWith("totals: 12 adapted modules")).count(), out);
        assertTrue(out.contains("modules_to_save (none)"), "the adapter without a head: " + out);

        JsonNode json = new ObjectMapper().readTree(CliRun.of("inspect", root.toString(), "--json").out());
        assertEquals(3, json.get("adapters").size());
        assertEquals("heads-off", json.get("adapters").get(2).get("name").textValue());
        assertEquals(0, json.get("adapters").get(2).get("other_tensors").size());

        Files.delete(root.resolve("adapter_config.json"));
        Files.delete(root.resolve("adapter_model.safetensors"));
        CliRun subfoldersOnly = CliRun.of("inspect", root.toString());
        assertEquals(0, subfoldersOnly.exitCode(), subfoldersOnly.err());
        assertTrue(subfoldersOnly.out().startsWith("2 adapters in " + root + ": [another, heads-off]"), subfoldersOnly.out());
    }

    @Test
    void aBrokenAdapterInASubfolderIsAnErrorNamingItsFile() throws Exception {
        Path root = folderOfThree();
        Path broken = root.resolve("another").resolve("adapter_model.safetensors");
        Files.write(broken, new byte[] {1, 2, 3});
        CliRun run = CliRun.of("inspect", root.toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode());
        assertTrue(run.oneLineError() && run.err().contains(broken.toString()), run.err());
        assertEquals("", run.out(), "nothing half-printed");
    }

    @Test
    void fieldsAConfigLacksAreSaidSoNeverPrintedAsNull() throws Exception {
        Path dir = tmp.resolve("sparse");
        Files.createDirectories(dir);
        Files.copy(MergeCommandTest.fixture().resolve("adapter_model.safetensors"), dir.resolve("adapter_model.safetensors"));
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16,"
                + " \"target_modules\": [\"q_lin\", \"v_lin\"], \"modules_to_save\": [\"classifier\", \"pre_classifier\"]}");
        CliRun run = CliRun.of("inspect", dir.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("peft_version (not recorded)"), run.out());
        assertTrue(run.out().contains("task_type (not set), base_model_name_or_path (not set)"), run.out());
        assertTrue(!run.out().contains("null"), run.out());
    }

    @Test
    void layerSelectionFieldsAreShownWhenSet() throws Exception {
        Path dir = tmp.resolve("layers");
        Files.createDirectories(dir);
        Files.copy(MergeCommandTest.fixture().resolve("adapter_model.safetensors"), dir.resolve("adapter_model.safetensors"));
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16,"
                + " \"target_modules\": [\"q_lin\", \"v_lin\"], \"modules_to_save\": [\"classifier\", \"pre_classifier\"],"
                + " \"exclude_modules\": \".*\\\\.k_lin\", \"layers_to_transform\": [0, 1, 2, 3, 4, 5], \"layers_pattern\": \"layer\"}");
        CliRun run = CliRun.of("inspect", dir.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("exclude_modules \".*\\.k_lin\", layers_to_transform [0, 1, 2, 3, 4, 5],"
                + " layers_pattern [layer]"), run.out());
    }

    @Test
    void aDirectoryWithoutAnAdapterIsBadInput() throws Exception {
        CliRun run = CliRun.of("inspect", tmp.toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode());
        assertTrue(run.oneLineError() && run.err().contains("adapter_config.json"), run.err());
        Files.writeString(tmp.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 0}");
        CliRun bad = CliRun.of("inspect", tmp.toString());
        assertEquals(ExitCodes.BAD_INPUT, bad.exitCode());
        assertTrue(bad.oneLineError() && bad.err().contains("'r'"), bad.err());
    }
}
