/**
 * The block graph: an image opened with its backing chain, its files and data files as QEMU's block layer opens it
 * ({@link dev.q2.block.BlockGraph}), answering block status as {@code bdrv_block_status} does
 * ({@link dev.q2.block.BlockStatus}), and qemu-img's words for images that cannot be opened
 * ({@link dev.q2.block.OpenErrors}).
 */
package dev.q2.block;
