/**
 * Small shared helpers: GNU getopt_long as qemu-img and qemu-io read their words, qemu-img's size parsing and
 * printing, QEMU's ordered dictionaries and JSON printing (QDict, QJson, GHashOrder), and debug diagnostics through
 * SLF4J.
 */
package dev.q2.util;
