package dev.lora4j.guice;

import com.google.inject.AbstractModule;
import dev.lora4j.lora.AdapterFactory;

/** Binds how adapters are put on a model: {@link AdapterFactory#standard()} by default. */
public final class AdapterModule extends AbstractModule {

    @Override
    protected void configure() {
        bind(AdapterFactory.class).toInstance(AdapterFactory.standard());
    }
}
