/**
 * Operations on backing chains, as qemu-img 7.2 does them: {@link dev.q2.chain.Rebase} (qemu-img rebase, safe and
 * unsafe) and {@link dev.q2.chain.Commit} (qemu-img commit). They write through the engine
 * ({@link dev.q2.image.Qcow2Disk}), ask the block graph ({@link dev.q2.block.BlockGraph}) for block status, and fail
 * with {@link dev.q2.chain.ChainException}s worded as qemu-img words them.
 */
package dev.q2.chain;
