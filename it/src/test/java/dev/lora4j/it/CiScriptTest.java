package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code .ci/run} prints the tools' versions before the build; a version command that writes on
 * after its first line must not fail the run ({@code set -o pipefail} once turned a SIGPIPE from
 * {@code | head -1} into a failed CI run before any test).
 */
class CiScriptTest {

    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    /** A stand-in {@code mvn}: its version line, then a pause and 2 MB more, as a slow, chatty tool. */
    private static Path chattyMvn(Path bin) throws IOException {
        Files.createDirectories(bin);
        Path mvn = bin.resolve("mvn");
        Files.writeString(mvn, "#!/usr/bin/env bash\necho 'Apache Maven 9.9.9'\nsleep 0.3\nyes | head -c 2000000\n");
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    private static Result bash(Path bin, String script) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", script).directory(REPO.toFile()).redirectErrorStream(true);
        builder.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "bash finished");
        return new Result(process.exitValue(), out);
    }

    private record Result(int exit, String out) {}

    @Test
    void theVersionLinesSurviveAToolThatWritesOnAfterItsFirstLine(@TempDir Path tmp) throws Exception {
        Path bin = chattyMvn(tmp.resolve("bin"));

        Result old = bash(bin, "set -euo pipefail; mvn -version 2>&1 | head -1");
        assertNotEquals(0, old.exit(), "the stand-in reproduces the failure of `| head -1` under pipefail");

        Result fixed = bash(bin, "set -euo pipefail; source .ci/lib.sh; first_line mvn -version; echo next-step");
        assertEquals(0, fixed.exit(), fixed.out());
        assertEquals(List.of("Apache Maven 9.9.9", "next-step"), fixed.out().lines().toList());
    }

    @Test
    void theRunScriptPrintsVersionsThroughTheHelperAndStillFailsOnErrors(@TempDir Path tmp) throws Exception {
        String run = Files.readString(REPO.resolve(".ci/run"));
        assertTrue(run.contains("set -euo pipefail"), "failures still stop the run");
        assertTrue(run.contains("source .ci/lib.sh"));
        assertTrue(run.contains("first_line mvn -version") && run.contains("first_line java -version"));
        assertFalse(run.contains("| head"), "no pipe into head under pipefail");

        Result failing = bash(chattyMvn(tmp.resolve("bin")), "set -euo pipefail; source .ci/lib.sh; first_line false; echo unreachable");
        assertNotEquals(0, failing.exit(), "a failing command still fails the run");
        assertFalse(failing.out().contains("unreachable"));
    }
}
