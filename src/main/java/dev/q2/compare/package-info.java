/**
 * Comparison of two images' guest contents, as qemu-img compare does it (strict mode, sizes that differ, the first
 * differing offset), over the block status of both chains.
 */
package dev.q2.compare;
