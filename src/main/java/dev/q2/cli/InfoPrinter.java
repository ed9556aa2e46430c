package dev.q2.cli;

import dev.q2.info.ImageInfo;
import dev.q2.util.QDict;
import dev.q2.util.QJson;
import dev.q2.util.Sizes;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/** Prints {@link ImageInfo} as qemu-img info does (human and JSON), followed by q2's L2 cache report. */
final class InfoPrinter {
    /** Only snapshot lists need java.time, whose initialisation is not free: a holder keeps it off the start-up path. */
    private static final class Dates {
        static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    }

    private InfoPrinter() {
    }

    /** The JSON object for one image: qemu-img's keys in its order, then "l2-cache" for qcow2. */
    static QDict jsonObject(ImageInfo info) {
        QDict q = info.qapi();
        if (info.l2() != null && q.get("l2-cache") == null) {
            q.putTrailing("l2-cache", L2CacheReport.json(info.l2(), info.allocatedL2Tables()));
        }
        return q;
    }

    static String json(ImageInfo info) {
        return QJson.pretty(jsonObject(info)) + "\n";
    }

    static String jsonChain(List<ImageInfo> chain) {
        List<Object> list = new ArrayList<>();
        for (ImageInfo i : chain) {
            list.add(jsonObject(i));
        }
        return QJson.pretty(list) + "\n";
    }

    static String humanChain(List<ImageInfo> chain) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < chain.size(); i++) {
            if (i > 0) {
                sb.append('\n');
            }
            sb.append(human(chain.get(i)));
        }
        return sb.toString();
    }

    /** bdrv_image_info_dump's lines, in its order. */
    static String human(ImageInfo info) {
        QDict q = info.qapi();
        StringBuilder sb = new StringBuilder();
        long vsize = ((Number) q.get("virtual-size")).longValue();
        sb.append("image: ").append(q.get("filename")).append('\n');
        sb.append("file format: ").append(q.get("format")).append('\n');
        sb.append("virtual size: ").append(Sizes.humanSize(vsize)).append(" (").append(vsize).append(" bytes)\n");
        Object actual = q.get("actual-size");
        sb.append("disk size: ").append(actual == null ? "unavailable" : Sizes.humanSize(((Number) actual)
                .longValue())).append('\n');
        if (Boolean.TRUE.equals(q.get("encrypted"))) {
            sb.append("encrypted: yes\n");
        }
        if (q.get("cluster-size") != null) {
            sb.append("cluster_size: ").append(q.get("cluster-size")).append('\n');
        }
        if (Boolean.TRUE.equals(q.get("dirty-flag"))) {
            sb.append("cleanly shut down: no\n");
        }
        String backing = (String) q.get("backing-filename");
        if (backing != null) {
            sb.append("backing file: ").append(backing);
            String full = (String) q.get("full-backing-filename");
            if (full == null) {
                sb.append(" (cannot determine actual path)");
            } else if (!full.equals(backing)) {
                sb.append(" (actual path: ").append(full).append(')');
            }
            sb.append('\n');
        }
        if (q.get("backing-filename-format") != null) {
            sb.append("backing file format: ").append(q.get("backing-filename-format")).append('\n');
        }
        if (q.get("snapshots") instanceof List<?> snaps) {
            sb.append("Snapshot list:\n");
            sb.append(String.format("%-10s%-17s%8s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
                    "ICOUNT")).append('\n');
            for (Object o : snaps) {
                sb.append(snapshotLine((QDict) o)).append('\n');
            }
        }
        if (q.get("format-specific") instanceof QDict spec) {
            sb.append("Format specific information:\n");
            QJson.dumpHuman(sb, spec.get("data"), 1);
        }
        if (info.l2() != null) {
            // (a json: name, with its commas, is no -drive file= value: the hint then says IMAGE)
            String file = (String) q.get("filename");
            L2CacheReport.human(sb, info.l2(), info.allocatedL2Tables(), file.startsWith("json:") ? null : file);
        }
        return sb.toString();
    }

    /** One row of bdrv_snapshot_dump; dates in the local time zone, as qemu-img prints them. */
    static String snapshotLine(QDict s) {
        long dateSec = ((Number) s.get("date-sec")).longValue();
        String date = Dates.DATE.format(Instant.ofEpochSecond(dateSec).atZone(ZoneId.systemDefault()));
        long clockSec = ((Number) s.get("vm-clock-sec")).longValue();
        long clockNsec = ((Number) s.get("vm-clock-nsec")).longValue();
        String clock = String.format("%02d:%02d:%02d.%03d", (int) (clockSec / 3600), (int) ((clockSec / 60) % 60),
                (int) (clockSec % 60), (int) ((clockNsec / 1_000_000) % 1000));
        String size = Sizes.humanSize(((Number) s.get("vm-state-size")).longValue());
        Object icount = s.get("icount");
        return String.format("%-9s %-16s %8s%20s%13s%11s", s.get("id"), s.get("name"), size, date, clock,
                icount == null ? "" : icount.toString());
    }
}
