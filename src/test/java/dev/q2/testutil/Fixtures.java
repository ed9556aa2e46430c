package dev.q2.testutil;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/** Access to testdata/ (made by testdata/make-fixtures.sh with qemu-img 7.2). */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path root() {
        Path p = Path.of("testdata");
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("testdata/ not found from " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    public static List<String> caseNames() {
        try (Stream<Path> s = Files.list(root().resolve("cases"))) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The folder of one fixture image case (testdata/cases/NAME). */
    public static Path caseDir(String name) {
        return root().resolve("cases").resolve(name);
    }

    /** 1 to N, a number a line of testdata/{@code list}: the cases of a numbered list. */
    public static Stream<Integer> lineNumbers(String list) {
        return IntStream.rangeClosed(1, lines(root().resolve(list)).size()).boxed();
    }

    /** Line {@code n} (from 1) of testdata/{@code list}. */
    public static String line(String list, int n) {
        return lines(root().resolve(list)).get(n - 1);
    }

    /** The fixture folder of case {@code n} of a numbered list: testdata/{@code folder}/NN. */
    public static Path numbered(String folder, int n) {
        return root().resolve(folder).resolve(String.format("%02d", n));
    }

    /** Copies every file of a fixture folder into {@code dir}, unpacking .gz files (non-sparse, as qemu saw them). */
    public static void unpack(Path fixtureDir, Path dir) throws IOException {
        try (Stream<Path> s = Files.list(fixtureDir)) {
            for (Path f : s.toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".gz")) {
                    try (InputStream in = new GZIPInputStream(Files.newInputStream(f))) {
                        Files.copy(in, dir.resolve(name.substring(0, name.length() - 3)));
                    }
                } else if (name.endsWith(".qcow2") || name.endsWith(".raw")) {
                    Files.copy(f, dir.resolve(name));
                }
            }
        }
    }

    public static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Lines of a file, skipping none (line N of the file is element N-1). */
    public static List<String> lines(Path p) {
        try {
            return new ArrayList<>(Files.readAllLines(p));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Splits a shell-words line as make-fixtures.sh writes them (only '' quoting is used). */
    public static List<String> shellWords(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        boolean inWord = false;
        for (char c : line.toCharArray()) {
            if (c == '\'') {
                quoted = !quoted;
                inWord = true;
            } else if (c == ' ' && !quoted) {
                if (inWord) {
                    out.add(cur.toString());
                    cur.setLength(0);
                    inWord = false;
                }
            } else {
                cur.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            out.add(cur.toString());
        }
        return out;
    }
}
