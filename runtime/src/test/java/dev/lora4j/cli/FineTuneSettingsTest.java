package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.dsl.FineTuneSpec;
import dev.lora4j.pipeline.FineTuneJobs;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneSetting;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link FineTuneSetting#ALL} is the one definition of a fine-tune's settings: the command line's
 * options, the DSL's properties and {@link FineTuneOptions}' components all follow it, so a setting
 * added there (and not elsewhere) fails here until it reaches all three.
 */
class FineTuneSettingsTest {

    /** A value for each type, other than the recording job's default. */
    private static Object sample(FineTuneSetting<?> setting) {
        Class<?> type = setting.type();
        if (setting.flagValue() != null) {
            return setting.flagValue();
        }
        if (type == Integer.class) {
            return 3;
        }
        if (type == Long.class) {
            return 5L;
        }
        if (type == Double.class) {
            return 0.25;
        }
        if (type == Path.class) {
            return Path.of("target", "settings-test", setting.name());
        }
        if (type == List.class) {
            return List.of("key", "head"); // modules of the recording job's model, unlike its default
        }
        throw new AssertionError("no sample for " + setting + " of " + type);
    }

    /** The command-line spelling of the sample. */
    private static List<String> argument(FineTuneSetting<?> setting) {
        Object value = sample(setting);
        if (setting.flagValue() != null) {
            return List.of(setting.option());
        }
        String text = value instanceof List<?> list ? String.join(",", list.stream().map(String::valueOf).toList())
                : String.valueOf(value);
        return List.of(setting.option(), text);
    }

    @Test
    void everySettingIsAnOptionOfTheCommandAndReachesTheOptions() throws Exception {
        CliRun help = CliRun.of("finetune", "--help");
        String helpText = help.out().replaceAll("\\s+", " "); // descriptions wrap at the console width
        for (FineTuneSetting<?> setting : FineTuneSetting.ALL) {
            assertTrue(help.out().contains(setting.option()), setting.option() + " in the help\n" + help.out());
            assertTrue(helpText.contains(setting.description()), setting + "'s description in the help");

            RecordingJob.lastOptions = null;
            List<String> args = new ArrayList<>(List.of("finetune", "--model", "recording"));
            args.addAll(argument(setting));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, run.exitCode(), setting + ": " + run.err());
            assertEquals(sample(setting), component(RecordingJob.lastOptions, setting), setting + " from the command line");
        }
    }

    @Test
    void everySettingIsAPropertyOfTheDslThatReadsAndWritesItsEntry() throws Exception {
        for (FineTuneSetting<?> setting : FineTuneSetting.ALL) {
            String property = Character.toUpperCase(setting.name().charAt(0)) + setting.name().substring(1);
            Method getter = FineTuneSpec.class.getMethod("get" + property);
            Method setter = FineTuneSpec.class.getMethod("set" + property, getter.getReturnType());
            assertEquals(setting.type(), getter.getReturnType(), setting + "'s property type");

            FineTuneSpec spec = new FineTuneSpec();
            assertNull(getter.invoke(spec), setting + " unset");
            setter.invoke(spec, sample(setting));
            assertEquals(sample(setting), spec.get(setting), setting + " written through the property");
            assertEquals(sample(setting), getter.invoke(spec), setting + " read through the property");
            FineTuneOptions options = spec.toOptions(FineTuneJobs.named("recording"));
            assertEquals(sample(setting), component(options, setting), setting + " from the DSL");
            setter.invoke(spec, new Object[] {null});
            assertNull(spec.get(setting), setting + " back to the job's");
        }
    }

    @Test
    void theOptionsNameEverySettingAndOnlyTheJobsOwnParametersBesides() {
        List<String> names = FineTuneSetting.ALL.stream().map(FineTuneSetting::name).toList();
        List<String> components = new ArrayList<>();
        for (var c : FineTuneOptions.class.getRecordComponents()) {
            components.add(c.getName());
        }
        List<String> notSettings = new ArrayList<>(components);
        notSettings.removeAll(names);
        assertEquals(List.of("mode", "parameters"), notSettings,
                "every option but the mode (it picks the defaults) and the job's parameters is a FineTuneSetting");
        assertTrue(components.containsAll(names), names + " ⊆ " + components);
    }

    private static Object component(FineTuneOptions options, FineTuneSetting<?> setting) throws Exception {
        return FineTuneOptions.class.getMethod(setting.name()).invoke(options);
    }

    @Test
    void eachSettingIsFoundByItsNameAndParsesItsTextOrNamesItself() {
        for (FineTuneSetting<?> setting : FineTuneSetting.ALL) {
            assertEquals(setting, FineTuneSetting.named(setting.name()).orElseThrow());
            Object sample = sample(setting);
            String text = sample instanceof List<?> list ? String.join(",", list.stream().map(String::valueOf).toList())
                    : String.valueOf(sample);
            assertEquals(sample, setting.parse(text), setting + " parsed from '" + text + "'");
        }
        assertTrue(FineTuneSetting.named("lr").isEmpty(), "DSL names only; the option is --lr");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> FineTuneSetting.RANK.parse("eight"));
        assertEquals("rank must be an integer, got 'eight'", e.getMessage());
        IllegalArgumentException flag = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> FineTuneSetting.AGENT.parse("yes"));
        assertEquals("agent must be true or false, got 'yes'", flag.getMessage());
    }
}
