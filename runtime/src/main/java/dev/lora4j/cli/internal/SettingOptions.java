package dev.lora4j.cli.internal;

import dev.lora4j.dsl.FineTuneSpec;
import dev.lora4j.pipeline.FineTuneSetting;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * The {@code finetune} command's options for {@link FineTuneSetting#ALL}, made from the settings
 * themselves (a picocli model transformer, so they are in place before any parsing and in the
 * help), and read back as the settings the command line gave.
 */
public final class SettingOptions implements CommandLine.IModelTransformer {

    /** Picocli makes one through the command's {@code modelTransformer}. */
    public SettingOptions() {}

    @Override
    public CommandSpec transform(CommandSpec command) {
        for (FineTuneSetting<?> setting : FineTuneSetting.ALL) {
            OptionSpec.Builder option = OptionSpec.builder(setting.option()).description(setting.description());
            if (setting.flagValue() != null) {
                option.arity("0").type(boolean.class);
            } else if (setting.type() == List.class) {
                option.type(List.class).auxiliaryTypes(String.class).paramLabel(setting.paramLabel());
                if (setting.commaSeparated()) {
                    option.splitRegex(",");
                }
            } else {
                option.type(setting.type()).paramLabel(setting.paramLabel());
            }
            command.addOption(option.build());
        }
        return command;
    }

    /** Gives {@code spec} every setting {@code parsed} has a value for. */
    public static void giveTo(ParseResult parsed, FineTuneSpec spec) {
        for (FineTuneSetting<?> setting : FineTuneSetting.ALL) {
            OptionSpec matched = parsed.matchedOption(setting.option());
            if (matched != null) {
                give(spec, setting, setting.flagValue() != null ? setting.flagValue() : matched.getValue());
            }
        }
    }

    private static <T> void give(FineTuneSpec spec, FineTuneSetting<T> setting, Object value) {
        spec.set(setting, setting.type().cast(value));
    }
}
