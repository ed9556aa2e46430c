package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The LUKS1 partition header (cryptsetup's "LUKS On-Disk Format Specification", version 1.2), which a qcow2 image
 * encrypted with crypt_method 2 keeps in the area its full disk encryption header extension points to. Field names
 * follow that specification; numbers are big-endian; sector numbers count 512-byte sectors from the start of the
 * header area.
 *
 * <p>{@link #decode} refuses what is not a LUKS1 header at all (magic, version, unterminated strings);
 * {@link #checkLayout} applies the layout rules QEMU enforces before it uses a header; {@link #algorithms} names the
 * cipher the way QEMU reports it. Each throws a {@link FormatException} whose message is QEMU's for the same fault.
 */
public record LuksHeader(
        int version,
        String cipherName,
        String cipherMode,
        String hashSpec,
        long payloadOffset,
        long keyBytes,
        byte[] mkDigest,
        byte[] mkDigestSalt,
        long mkDigestIter,
        String uuid,
        List<KeySlot> keySlots) {

    /** Bytes of the header up to the end of the last key slot. */
    public static final int SIZE = 592;
    public static final int NUM_KEY_SLOTS = 8;
    /** A key slot's {@code active} value when it holds a key. */
    public static final int KEY_ENABLED = 0x00AC71F3;
    /** A key slot's {@code active} value when it is unused. */
    public static final int KEY_DISABLED = 0x0000DEAD;
    /** The anti-forensic stripe count cryptsetup always writes, and the only one QEMU accepts. */
    public static final long STRIPES = 4000;
    public static final int SECTOR_SIZE = 512;
    private static final byte[] MAGIC = {'L', 'U', 'K', 'S', (byte) 0xBA, (byte) 0xBE};
    private static final int NAME_LEN = 32;
    private static final int DIGEST_LEN = 20;
    private static final int SALT_LEN = 32;
    private static final int UUID_LEN = 40;
    private static final int KEY_SLOT_OFFSET = 208;
    private static final int KEY_SLOT_SIZE = 48;
    /** Sectors taken by the header itself (4096 bytes): key material and payload start at or after it. */
    private static final int HEADER_SECTORS = 4096 / SECTOR_SIZE;

    /** One of the eight key slots. */
    public record KeySlot(int active, long iterations, byte[] salt, long keyMaterialOffset, long stripes) {
        public KeySlot {
            salt = salt.clone();
        }

        @Override
        public byte[] salt() {
            return salt.clone();
        }

        /** True when the slot holds a key ({@link #KEY_ENABLED}). */
        public boolean isActive() {
            return active == KEY_ENABLED;
        }

        /** Offset of the slot's key material in bytes from the start of the header. */
        public long keyMaterialOffsetBytes() {
            return keyMaterialOffset * SECTOR_SIZE;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof KeySlot k && k.active == active && k.iterations == iterations
                    && Arrays.equals(k.salt, salt) && k.keyMaterialOffset == keyMaterialOffset && k.stripes == stripes;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(iterations) * 31 + Arrays.hashCode(salt) + active;
        }

        @Override
        public String toString() {
            return String.format("KeySlot[active=0x%08x, iterations=%d, keyMaterialOffset=%d, stripes=%d]", active,
                    iterations, keyMaterialOffset, stripes);
        }
    }

    public LuksHeader {
        mkDigest = mkDigest.clone();
        mkDigestSalt = mkDigestSalt.clone();
        keySlots = List.copyOf(keySlots);
    }

    @Override
    public byte[] mkDigest() {
        return mkDigest.clone();
    }

    @Override
    public byte[] mkDigestSalt() {
        return mkDigestSalt.clone();
    }

    /** Offset of the encrypted payload in bytes (QEMU's "payload-offset"). */
    public long payloadOffsetBytes() {
        return payloadOffset * SECTOR_SIZE;
    }

    /**
     * Decodes the first {@link #SIZE} bytes of {@code data}. Refuses a header without the LUKS magic, of another
     * version than 1, or whose cipher name, cipher mode or hash spec fills its 32 bytes without a terminating NUL.
     */
    public static LuksHeader decode(byte[] data) throws FormatException {
        if (data.length < SIZE) {
            throw new FormatException("LUKS header: " + data.length + " bytes, below the " + SIZE
                    + " bytes of a LUKS1 header");
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.BIG_ENDIAN);
        if (!Arrays.equals(data, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new FormatException("Volume is not in LUKS format");
        }
        int version = b.getShort(6) & 0xffff;
        if (version != 1) {
            throw new FormatException("LUKS version " + version + " is not supported");
        }
        String cipherName = cString(data, 8, NAME_LEN, "cipher name");
        String cipherMode = cString(data, 40, NAME_LEN, "cipher mode");
        String hashSpec = cString(data, 72, NAME_LEN, "hash spec");
        List<KeySlot> slots = new ArrayList<>(NUM_KEY_SLOTS);
        for (int i = 0; i < NUM_KEY_SLOTS; i++) {
            int at = KEY_SLOT_OFFSET + i * KEY_SLOT_SIZE;
            slots.add(new KeySlot(b.getInt(at), u32(b, at + 4), Arrays.copyOfRange(data, at + 8, at + 8 + SALT_LEN),
                    u32(b, at + 40), u32(b, at + 44)));
        }
        // QEMU takes at most 40 bytes of the UUID and stops at a NUL.
        int uuidEnd = 168;
        while (uuidEnd < 168 + UUID_LEN && data[uuidEnd] != 0) {
            uuidEnd++;
        }
        String uuid = new String(data, 168, uuidEnd - 168, StandardCharsets.UTF_8);
        return new LuksHeader(version, cipherName, cipherMode, hashSpec, u32(b, 104), u32(b, 108),
                Arrays.copyOfRange(data, 112, 112 + DIGEST_LEN), Arrays.copyOfRange(data, 132, 132 + SALT_LEN),
                u32(b, 164), uuid, slots);
    }

    /**
     * Encodes the header ({@link #SIZE} bytes) as {@link #decode} reads it: the magic, big-endian numbers, strings
     * NUL-padded to their fields.
     *
     * @return the bytes
     */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.BIG_ENDIAN);
        b.put(MAGIC).putShort((short) version);
        putString(b, 8, cipherName, NAME_LEN);
        putString(b, 40, cipherMode, NAME_LEN);
        putString(b, 72, hashSpec, NAME_LEN);
        b.putInt(104, (int) payloadOffset).putInt(108, (int) keyBytes);
        b.put(112, mkDigest, 0, Math.min(DIGEST_LEN, mkDigest.length));
        b.put(132, mkDigestSalt, 0, Math.min(SALT_LEN, mkDigestSalt.length));
        b.putInt(164, (int) mkDigestIter);
        putString(b, 168, uuid, UUID_LEN);
        for (int i = 0; i < keySlots.size() && i < NUM_KEY_SLOTS; i++) {
            KeySlot s = keySlots.get(i);
            int at = KEY_SLOT_OFFSET + i * KEY_SLOT_SIZE;
            byte[] salt = s.salt();
            b.putInt(at, s.active()).putInt(at + 4, (int) s.iterations());
            b.put(at + 8, salt, 0, Math.min(SALT_LEN, salt.length));
            b.putInt(at + 40, (int) s.keyMaterialOffset()).putInt(at + 44, (int) s.stripes());
        }
        return b.array();
    }

    private static void putString(ByteBuffer b, int at, String s, int len) {
        byte[] v = s.getBytes(StandardCharsets.UTF_8);
        b.put(at, v, 0, Math.min(v.length, len - 1));
    }

    private static long u32(ByteBuffer b, int at) {
        return Integer.toUnsignedLong(b.getInt(at));
    }

    private static String cString(byte[] data, int at, int len, String what) throws FormatException {
        for (int i = 0; i < len; i++) {
            if (data[at + i] == 0) {
                return new String(data, at, i, StandardCharsets.UTF_8);
            }
        }
        throw new FormatException("LUKS header " + what + " is not NUL terminated");
    }

    /**
     * The layout rules QEMU checks (qcrypto_block_luks_check_header), in its order: the payload starts after the
     * 4096-byte header, the master key digest has iterations, and each slot has 4000 stripes, a valid state,
     * iterations when active, and key material that starts after the header, ends before the payload and overlaps
     * no later slot's. Key material lengths use QEMU's 32-bit arithmetic, so that hostile values give its verdict.
     */
    public void checkLayout() throws FormatException {
        if (payloadOffset < HEADER_SECTORS) {
            throw new FormatException("LUKS payload is overlapping with the header");
        }
        if (mkDigestIter == 0) {
            throw new FormatException("LUKS key iteration count is zero");
        }
        for (int i = 0; i < NUM_KEY_SLOTS; i++) {
            KeySlot s1 = keySlots.get(i);
            int start1 = (int) s1.keyMaterialOffset();
            int len1 = keyMaterialSectors(s1.stripes());
            if (s1.stripes() != STRIPES) {
                throw new FormatException("Keyslot " + i + " is corrupted (stripes " + (int) s1.stripes() + " != "
                        + STRIPES + ")");
            }
            if (s1.active() != KEY_DISABLED && s1.active() != KEY_ENABLED) {
                throw new FormatException("Keyslot " + i + " state (active/disable) is corrupted");
            }
            if (s1.isActive() && s1.iterations() == 0) {
                throw new FormatException("Keyslot " + i + " iteration count is zero");
            }
            if (Integer.compareUnsigned(start1, HEADER_SECTORS) < 0) {
                throw new FormatException("Keyslot " + i + " is overlapping with the LUKS header");
            }
            if (Integer.compareUnsigned(start1 + len1, (int) payloadOffset) > 0) {
                throw new FormatException("Keyslot " + i + " is overlapping with the encrypted payload");
            }
            for (int j = i + 1; j < NUM_KEY_SLOTS; j++) {
                KeySlot s2 = keySlots.get(j);
                int start2 = (int) s2.keyMaterialOffset();
                int len2 = keyMaterialSectors(s2.stripes());
                if (Integer.compareUnsigned(start1 + len1, start2) > 0
                        && Integer.compareUnsigned(start2 + len2, start1) > 0) {
                    throw new FormatException("Keyslots " + i + " and " + j + " are overlapping in the header");
                }
            }
        }
    }

    /**
     * Sectors of key material for a slot: key bytes × stripes (a 32-bit product, as in QEMU), rounded up to
     * sectors and then to the header's 8 sectors (cryptsetup's rule).
     */
    int keyMaterialSectors(long stripes) {
        long split = Integer.toUnsignedLong((int) keyBytes * (int) stripes);
        long sectors = (split + SECTOR_SIZE - 1) / SECTOR_SIZE;
        return (int) ((sectors + HEADER_SECTORS - 1) & -HEADER_SECTORS);
    }

    /** The cipher, IV generator and hashes named as QEMU's QAPI names them (see {@link LuksAlgorithms#of}). */
    public LuksAlgorithms algorithms() throws FormatException {
        return LuksAlgorithms.of(this);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LuksHeader h && h.version == version && h.cipherName.equals(cipherName)
                && h.cipherMode.equals(cipherMode) && h.hashSpec.equals(hashSpec) && h.payloadOffset == payloadOffset
                && h.keyBytes == keyBytes && Arrays.equals(h.mkDigest, mkDigest)
                && Arrays.equals(h.mkDigestSalt, mkDigestSalt) && h.mkDigestIter == mkDigestIter
                && h.uuid.equals(uuid) && h.keySlots.equals(keySlots);
    }

    @Override
    public int hashCode() {
        return uuid.hashCode() * 31 + keySlots.hashCode();
    }

    @Override
    public String toString() {
        return "LuksHeader[cipher=" + cipherName + "-" + cipherMode + ", hash=" + hashSpec + ", keyBytes=" + keyBytes
                + ", payloadOffset=" + payloadOffset + ", uuid=" + uuid + "]";
    }
}
