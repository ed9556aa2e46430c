/**
 * The q2 command line (picocli): one class per command, parsing arguments, calling the library, printing qemu-img's
 * text and mapping errors to qemu-img's exit codes. Not part of the library jar: it ships only in the command line's
 * shaded jar.
 */
package dev.q2.cli;
