package dev.q2.cli;

import picocli.CommandLine;

/** Version string from the jar manifest, or "dev" when run from classes. */
final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"q2 version " + (v == null ? "dev" : v)};
    }
}
