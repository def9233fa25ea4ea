package dev.lora4j.guice;

import com.google.inject.AbstractModule;
import dev.lora4j.lora.MergeStrategy;

/** Binds how adapters are merged: {@link MergeStrategy#safe()} by default. */
public final class MergingModule extends AbstractModule {

    @Override
    protected void configure() {
        bind(MergeStrategy.class).toInstance(MergeStrategy.safe());
    }
}
