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
        JsonNode json = new ObjectMapper().readTree(run.out());
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
