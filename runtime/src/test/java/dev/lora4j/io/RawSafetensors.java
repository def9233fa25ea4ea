package dev.lora4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte, valid or not, for tests. */
final class RawSafetensors {

    private RawSafetensors() {}

    /** An 8-byte little-endian length, the header as UTF-8, then {@code dataBytes} bytes 0, 1, 2, ... */
    static byte[] build(String header, int dataBytes) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        byte[] rest = new byte[json.length + dataBytes];
        System.arraycopy(json, 0, rest, 0, json.length);
        for (int i = 0; i < dataBytes; i++) {
            rest[json.length + i] = (byte) i;
        }
        return withLength(json.length, rest);
    }

    /** {@code declaredLength} as 8 little-endian bytes followed by {@code rest}. */
    static byte[] withLength(long declaredLength, byte[] rest) {
        return ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(declaredLength).put(rest).array();
    }

    /** Writes {@code bytes} to {@code dir/name}. */
    static Path write(Path dir, String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    /** The header JSON of an existing file (padding included). */
    static String header(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return new String(all, 8, (int) n, StandardCharsets.UTF_8);
    }
}
