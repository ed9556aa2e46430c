package dev.q2.create;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Encrypted creates without a secret: q2 must refuse every one exactly as qemu-img 7.2 refuses it
 * without one: same stdout ("Formatting" line), same error, same exit code, no file left behind. Unencrypted
 * creates with encryption options (encryption=off) still succeed with the same bytes.
 */
@Tag("qemu")
class CreateEncryptionDifferentialTest {
    @TempDir
    Path tmp;

    private void compare(String... args) throws IOException {
        Qemu.assumeAvailable();
        List<String> full = new ArrayList<>(List.of("create", "-f", "qcow2"));
        full.addAll(List.of(args));
        TwoFolders.sameInNewFolders(tmp, full.toArray(String[]::new));
    }

    @ParameterizedTest(name = "-o {0}")
    @ValueSource(strings = {
        "encrypt.format=luks",
        "encrypt.format=aes",
        "encrypt.format=qcow",
        "encryption=on",
        "encryption=off",
        "encryption=yes",
        "encryption=no",
        "encryption=off,encrypt.format=luks",
        "encryption=on,encrypt.format=luks",
        "encryption=true,encrypt.format=aes",
        "encrypt.format=luks,encrypt.key-secret=sec0",
        "encrypt.format=luks,encrypt.key-secret=",
        "encrypt.format=aes,encrypt.key-secret=a,compat=0.10",
        "encrypt.format=foo",
        "encrypt.format=LUKS",
        "encrypt.key-secret=sec0",
        "encrypt.cipher-alg=aes-128",
        "encryption=off,encrypt.key-secret=x",
        "encrypt.format=aes,encrypt.cipher-alg=aes-128",
        "encrypt.format=luks,encrypt.cipher-alg=foo",
        "encrypt.format=luks,encrypt.cipher-alg=des",
        "encrypt.format=luks,encrypt.cipher-mode=foo,encrypt.cipher-alg=bar",
        "encrypt.format=luks,encrypt.hash-alg=foo,encrypt.ivgen-alg=bar",
        "encrypt.format=luks,encrypt.ivgen-hash-alg=foo",
        "encrypt.format=luks,encrypt.hash-alg=sha1,encrypt.cipher-alg=twofish-256",
        "encrypt.format=luks,encrypt.ivgen-alg=essiv,encrypt.cipher-alg=cast5-128",
        "encrypt.format=luks,encrypt.key-secret=s,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,"
                + "encrypt.ivgen-alg=essiv,encrypt.ivgen-hash-alg=sha1,encrypt.hash-alg=sha1,encrypt.iter-time=10",
        "encrypt.iter-time=10,encrypt.hash-alg=sha1,encrypt.key-secret=s,encrypt.format=luks,encryption=off,"
                + "compat=1.1,preallocation=off",
        "encrypt.format=luks,encrypt.iter-time=abc",
        "encrypt.format=luks,encrypt.iter-time=",
        "encrypt.format=luks,encrypt.iter-time=1.5",
        "encrypt.format=luks,encrypt.iter-time=0x",
        "encrypt.format=luks,encrypt.iter-time=08",
        "encrypt.format=luks,encrypt.iter-time=010",
        "encrypt.format=luks,encrypt.iter-time=0x10",
        "encrypt.format=luks,encrypt.iter-time=-5",
        "encrypt.format=luks,encrypt.iter-time= 7",
        "encrypt.format=luks,encrypt.iter-time=99999999999999999999",
        "encrypt.format=luks,encrypt.iter-time=-99999999999999999999",
        "encrypt.format=luks,encrypt.iter-time=18446744073709551615",
        "encrypt.format=luks,encrypt.iter-time=9223372036854775808",
        "encrypt.format=luks,cluster_size=3",
        "encrypt.format=foo,cluster_size=3",
        "encrypt.format=aes,encrypt.cipher-alg=x,cluster_size=3",
        "encrypt.format=luks,encrypt.key-secret=s,cluster_size=3",
        "encrypt.format=luks,refcount_bits=3",
        "encrypt.format=luks,compat=0.10,lazy_refcounts=on",
        "encrypt.format=luks,extended_l2=on,cluster_size=4k",
        "compat=9,encrypt.format=foo",
        "encryption=on,encrypt.format=luks,cluster_size=3,compat=9",
        "encrypt.format=foo,preallocation=bad",
        "encrypt.format=foo,backing_fmt=bad",
        "encrypt.format=luks,data_file=d.raw",
        "encrypt.format=luks,preallocation=full",
        "encrypt.format=luks,preallocation=metadata,cluster_size=512",
    })
    void refusedOrCreatedAsQemuImg(String options) throws IOException {
        compare("-o", options, "img.qcow2", "1M");
        compare("-q", "-o", options, "img.qcow2", "1M");
    }

    @Test
    void encryptedOverlayOfABaseAndAnEncryptedBase() throws IOException {
        Qemu.assumeAvailable();
        compare("-b", "base.qcow2", "-F", "qcow2", "-u", "-o", "encrypt.format=luks", "img.qcow2", "1M");
        // an encrypted backing file is opened for its size only, without a secret, by both
        Path q = Files.createDirectory(tmp.resolve("backing-q"));
        Path ours = Files.createDirectory(tmp.resolve("backing-o"));
        for (Path d : List.of(q, ours)) {
            Qemu.img(d, "create", "-q", "-f", "qcow2", "--object", "secret,id=s,data=x", "-o",
                    "encrypt.format=aes,encrypt.key-secret=s", "base.qcow2", "3M");
        }
        Qemu.Result expected = Qemu.img(q, "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "img.qcow2");
        Cli.Result actual = Cli.runIn(ours, "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
                "img.qcow2");
        assertThat(expected.exitCode()).as(expected.err()).isZero();
        assertThat(actual.exitCode()).as(actual.err()).isZero();
        assertThat(actual.out()).isEqualTo(expected.out());
        assertThat(Files.mismatch(q.resolve("img.qcow2"), ours.resolve("img.qcow2"))).isEqualTo(-1L);
    }

    /** AES takes none of the LUKS options; qemu-img names one of those given, in GLib hash table order. */
    @Test
    void everySetOfLuksOptionsGivenToAes() throws IOException {
        String[] keys = {"cipher-alg", "cipher-mode", "ivgen-alg", "ivgen-hash-alg", "hash-alg", "iter-time"};
        String[] values = {"aes-128", "cbc", "plain", "sha1", "sha1", "5"};
        for (int mask = 1; mask < 1 << keys.length; mask++) {
            for (boolean secret : new boolean[] {false, true}) {
                StringBuilder o = new StringBuilder(mask % 3 == 0 ? "encryption=on" : "encrypt.format=aes");
                if (secret) {
                    o.append(",encrypt.key-secret=s");
                }
                for (int k = 0; k < keys.length; k++) {
                    if ((mask & (1 << k)) != 0) {
                        o.append(",encrypt.").append(keys[k]).append('=').append(values[k]);
                    }
                }
                compare("-q", "-o", o.toString(), "img.qcow2", "1M");
            }
        }
    }
}
