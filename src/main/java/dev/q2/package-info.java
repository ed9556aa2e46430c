/**
 * q2's library entry point. {@link dev.q2.Qcow2} opens, creates, checks, maps and inspects qcow2 images from a path or
 * a {@link dev.q2.io.Storage}; {@link dev.q2.Image} is an open image as a guest disk (positioned reads and writes, a
 * {@code SeekableByteChannel}, an {@code InputStream}); {@link dev.q2.OpenOptions} and {@link dev.q2.ImageSpec} are the
 * typed options, and {@link dev.q2.CheckSummary}, {@link dev.q2.Extent}, {@link dev.q2.ImageSummary} and {@link
 * dev.q2.CacheReport} the immutable results. Every failure is an {@code IOException}; problems with an image or a
 * request are {@link dev.q2.Q2Exception}s. Start here; the other packages are the implementation and may change. See
 * docs/library.md.
 */
package dev.q2;
