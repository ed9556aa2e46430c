package dev.q2;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/library.md as a library user meets it: the library jar that {@code mvn package} just built, with only the
 * dependencies the pom gives a consumer (its non-optional compile dependencies), compiles every {@code java} block of
 * the guide, and each example runs in its own JVM on images this test makes. The same classpath holds no logging
 * backend, no logging configuration, no picocli and no command-line classes.
 */
class LibraryGuideIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir"));
    private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern CLASS = Pattern.compile("public class (\\w+)");

    @TempDir
    Path dir;

    /** The pom's dependencies that reach a consumer: compile scope (or none) and not optional. */
    private static List<String> consumerDependencies() throws Exception {
        var doc = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(ROOT.resolve("pom.xml").toFile());
        Element project = doc.getDocumentElement();
        List<String> out = new ArrayList<>();
        NodeList children = project.getChildNodes();
        for (int i = 0; i < children.getLength(); i++) {
            if (children.item(i) instanceof Element e && e.getTagName().equals("dependencies")) {
                NodeList deps = e.getElementsByTagName("dependency");
                for (int j = 0; j < deps.getLength(); j++) {
                    Element d = (Element) deps.item(j);
                    String scope = text(d, "scope");
                    if ((scope == null || scope.equals("compile") || scope.equals("runtime"))
                            && !"true".equals(text(d, "optional"))) {
                        out.add(text(d, "artifactId"));
                    }
                }
            }
        }
        return out;
    }

    private static String text(Element e, String tag) {
        NodeList l = e.getElementsByTagName(tag);
        return l.getLength() == 0 ? null : l.item(0).getTextContent().strip();
    }

    private static List<Path> consumerClasspath() throws Exception {
        List<Path> cp = new ArrayList<>();
        try (Stream<Path> s = Files.list(ROOT.resolve("target"))) {
            cp.add(s.filter(p -> p.getFileName().toString().matches("q2-[0-9].*\\.jar")
                    && !p.getFileName().toString().matches(".*-(cli|sources|javadoc)\\.jar")).findFirst()
                    .orElseThrow(() -> new AssertionError("no library jar in target/: run mvn package first")));
        }
        List<String> deps = consumerDependencies();
        assertThat(deps).as("what a consumer of q2 gets").containsExactlyInAnyOrder("slf4j-api", "zstd-jni", "jzlib");
        for (String artifact : deps) {
            cp.add(Stream.of(System.getProperty("java.class.path").split(File.pathSeparator)).map(Path::of)
                    .filter(p -> p.getFileName().toString().matches(Pattern.quote(artifact) + "-[0-9].*\\.jar"))
                    .findFirst().orElseThrow(() -> new AssertionError(artifact + " not on the test classpath")));
        }
        return cp;
    }

    @Test
    void theConsumerClasspathHoldsTheLibraryOnly() throws Exception {
        List<Path> cp = consumerClasspath();
        for (Path jar : cp) {
            try (ZipFile z = new ZipFile(jar.toFile())) {
                assertThat(z.stream().map(e -> e.getName())).as(jar.toString())
                        .noneMatch(n -> n.startsWith("ch/qos/logback/") || n.startsWith("picocli/")
                                || n.equals("logback.xml") || n.equals("logback-test.xml")
                                || n.startsWith("dev/q2/cli/"));
            }
        }
        try (ZipFile lib = new ZipFile(cp.get(0).toFile())) {
            String manifest = new String(lib.getInputStream(lib.getEntry("META-INF/MANIFEST.MF")).readAllBytes(),
                    StandardCharsets.UTF_8);
            assertThat(manifest).contains("Automatic-Module-Name: dev.q2");
            assertThat(lib.getEntry("dev/q2/Qcow2.class")).isNotNull();
        }
    }

    @Test
    void everyExampleOfTheGuideCompilesAndRuns() throws Exception {
        String guide = Files.readString(ROOT.resolve("docs/library.md"));
        Map<String, String> sources = new LinkedHashMap<>();
        Matcher m = BLOCK.matcher(guide);
        while (m.find()) {
            Matcher c = CLASS.matcher(m.group(1));
            assertThat(c.find()).as("a java block without a public class:\n" + m.group(1)).isTrue();
            sources.put(c.group(1), m.group(1));
        }
        assertThat(sources.keySet()).containsExactly("ReadGuestBytes", "WalkAllocationMap", "CheckAndRepair",
                "CreateExtendedL2", "L2CacheAdvice", "InMemory");

        List<Path> cp = consumerClasspath();
        String classpath = String.join(File.pathSeparator, cp.stream().map(Path::toString).toList());
        Path src = Files.createDirectories(dir.resolve("src"));
        Path classes = Files.createDirectories(dir.resolve("classes"));
        List<String> args = new ArrayList<>(List.of("--release", "17", "-Xlint:all", "-Werror",
                "-classpath", classpath, "-d", classes.toString()));
        for (var e : sources.entrySet()) {
            Path f = src.resolve(e.getKey() + ".java");
            Files.writeString(f, e.getValue());
            args.add(f.toString());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, args.toArray(String[]::new));
        assertThat(rc).as(diagnostics.toString(StandardCharsets.UTF_8)).isZero();

        Path top = images();
        String runCp = classes + File.pathSeparator + classpath;
        Map<String, List<String>> expected = new LinkedHashMap<>();
        expected.put("ReadGuestBytes", List.of("virtual size: 4194304", "first bytes: 0101010101010101",
                "non-zero bytes: " + (65536 + 4096)));
        expected.put("WalkAllocationMap", List.of("0+65536 depth 1 data at " + dir.resolve("base.qcow2") + ":",
                "1048576+65536 depth 0 data at " + top + ":"));
        expected.put("CheckAndRepair", List.of("  Leaked cluster", ": 0 errors, 1 leaked clusters (qemu-img check"
                + " would exit 3)", "repaired 0 errors and 1 leaks; now clean"));
        expected.put("CreateExtendedL2", List.of("read back: hello, subclusters", "refused: ", "[INVALID_ARGUMENT]"));
        expected.put("L2CacheAdvice", List.of("L2 tables for full coverage: 1", "full coverage needs: 65536 bytes",
                "QEMU's default covers the disk: true", "QEMU option: l2-cache-size=65536", "libvirt: <driver"));
        expected.put("InMemory", List.of("memory copy: ", "clean: true"));
        for (String example : sources.keySet()) {
            Path out = dir.resolve(example + ".out");
            String stdout = run(runCp, example, top.toString(), out.toString());
            assertThat(stdout).as(example).contains(expected.get(example));
        }
        try (Image made = Qcow2.open(dir.resolve("CreateExtendedL2.out"), OpenOptions.readOnly())) {
            assertThat(made.extendedL2()).isTrue();
            assertThat(made.size()).isEqualTo(1L << 30);
        }
        assertThat(Qcow2.check(dir.resolve("InMemory.out"), Repair.NONE).clean()).isTrue();
    }

    /** base.qcow2 (4 MiB, 64 KiB of 0x01 at 0) under top.qcow2 (4 KiB of 0x02 at 1 MiB, and one leaked cluster). */
    private Path images() throws IOException {
        Path base = dir.resolve("base.qcow2");
        Qcow2.create(base, ImageSpec.builder(4 << 20).build());
        try (Image image = Qcow2.open(base, OpenOptions.readWrite())) {
            byte[] ones = new byte[65536];
            java.util.Arrays.fill(ones, (byte) 1);
            image.write(0, ByteBuffer.wrap(ones));
        }
        Path top = dir.resolve("top.qcow2");
        Qcow2.create(top, ImageSpec.builder(4 << 20).backingFile("base.qcow2", ImageFormat.QCOW2).build());
        try (Image image = Qcow2.open(top, OpenOptions.readWrite())) {
            byte[] twos = new byte[4096];
            java.util.Arrays.fill(twos, (byte) 2);
            image.write(1 << 20, ByteBuffer.wrap(twos));
        }
        try (FileChannel ch = FileChannel.open(top, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            // a leak: the refcount of the first cluster past the end of the file raised to 1, the file grown to it
            long cluster = ch.size() / 65536;
            ByteBuffer h = ByteBuffer.allocate(8);
            ch.read(h, 48);
            long refcountTable = h.flip().getLong();
            h.clear();
            ch.read(h, refcountTable);
            long block = h.flip().getLong();
            ch.write(ByteBuffer.wrap(new byte[] {0, 1}), block + 2 * cluster);
            ch.write(ByteBuffer.allocate(1), (cluster + 1) * 65536 - 1);
        }
        return top;
    }

    private String run(String classpath, String mainClass, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classpath, mainClass));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(false).start();
        var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(mainClass + " finished").isTrue();
        assertThat(p.exitValue()).as(mainClass + ":\n" + out + err.join()).isZero();
        assertThat(err.join()).as(mainClass + " stderr").doesNotContain("Exception", "logback");
        return out;
    }
}
