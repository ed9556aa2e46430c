package dev.q2.cli;

import picocli.CommandLine.Model.CommandSpec;

import java.util.concurrent.Callable;

/** q2 amend: qemu-img amend (placeholder until the amend package lands). */
final class AmendCommand implements Callable<Integer> {
    static final String NAME = "amend";
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);

    AmendCommand(Main main) {
        spec.name(NAME);
        spec.usageMessage().description("Change the format options of an image, as qemu-img amend");
    }

    CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() {
        return 1;
    }
}
