/**
 * qemu-img measure: how large a new image file must be for a virtual size or for an existing image's contents,
 * computed as QEMU 7.2's qcow2_measure and raw_measure do, and the L2 cache the planned qcow2 image will need.
 * Nothing here prints; {@link dev.q2.measure.Measure} returns a {@link dev.q2.measure.MeasureResult}.
 */
package dev.q2.measure;
