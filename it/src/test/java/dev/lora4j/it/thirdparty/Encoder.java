package dev.lora4j.it.thirdparty;

import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;

/** Query/key/value projections; the no-argument constructor delegates with {@code this(...)}. */
public class Encoder extends Module {

    public final Linear query;
    public final Linear key;
    public final Linear value;

    public Encoder() {
        this(6);
    }

    public Encoder(int dim) {
        query = new Linear(dim, dim);
        key = new Linear(dim, dim);
        value = new Linear(dim, dim);
    }
}
