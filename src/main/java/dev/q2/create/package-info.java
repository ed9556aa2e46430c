/**
 * Creation of qcow2 images as qemu-img create makes them, byte for byte: option parsing and validation in qemu-img's
 * order and words ({@link dev.q2.create.CreatePlanner}), the checked {@link dev.q2.create.CreateSpec}, metadata layout
 * and preallocation. Library users call {@link dev.q2.Qcow2#create(java.nio.file.Path, dev.q2.ImageSpec)} instead.
 */
package dev.q2.create;
