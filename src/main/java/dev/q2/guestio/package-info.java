/**
 * Guest I/O scripts: the qemu-io command language (read, write, zero, discard with patterns and verification) run
 * against an open image, for q2 io.
 */
package dev.q2.guestio;
