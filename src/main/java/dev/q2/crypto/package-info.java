/**
 * Encryption of qcow2 guest data as QEMU does it: secrets ({@code --object secret}), LUKS1 key slots (PBKDF2,
 * anti-forensic split, master key digest), AES sector ciphers (XTS, CBC, ECB with the plain, plain64 and essiv IV
 * generators) and the legacy qcow AES-CBC method. Loaded only when an image is encrypted.
 */
package dev.q2.crypto;
