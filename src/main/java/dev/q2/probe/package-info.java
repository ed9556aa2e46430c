/**
 * Image format probing as QEMU's block layer does it (qcow2, raw, and the foreign formats it recognises: qcow, qed,
 * vdi, vhdx, vmdk, vpc, parallels, luks), with the header readers q2 needs to report them.
 */
package dev.q2.probe;
