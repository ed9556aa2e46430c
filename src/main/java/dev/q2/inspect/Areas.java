package dev.q2.inspect;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Byte ranges of the file that hold metadata, for overlap queries: built once (sorted by offset, with the running
 * maximum end), then asked in O(log n + overlaps) per query.
 */
final class Areas {
    record Area(String what, long offset, long length) {
        long end() {
            return offset + length;
        }
    }

    private final List<Area> list = new ArrayList<>();
    private long[] maxEnd;
    private boolean sorted;

    void add(String what, long offset, long length) {
        if (length > 0) {
            list.add(new Area(what, offset, length));
            sorted = false;
        }
    }

    int size() {
        return list.size();
    }

    private void sort() {
        if (sorted) {
            return;
        }
        list.sort(Comparator.comparingLong(Area::offset));
        maxEnd = new long[list.size()];
        long m = Long.MIN_VALUE;
        for (int i = 0; i < list.size(); i++) {
            m = Math.max(m, list.get(i).end());
            maxEnd[i] = m;
        }
        sorted = true;
    }

    /** One area that overlaps [offset, offset + length), or null. */
    Area overlapping(long offset, long length) {
        sort();
        long end = offset + length;
        int lo = 0;
        int hi = list.size() - 1;
        int idx = -1; // last area starting before end
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (list.get(mid).offset() < end) {
                idx = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        for (int i = idx; i >= 0 && maxEnd[i] > offset; i--) {
            if (list.get(i).end() > offset) {
                return list.get(i);
            }
        }
        return null;
    }

    /** Each area that overlaps an earlier one (by offset), with the earlier one. */
    List<Area[]> overlaps() {
        sort();
        List<Area[]> out = new ArrayList<>();
        Area widest = null;
        for (Area a : list) {
            if (widest != null && widest.end() > a.offset()) {
                out.add(new Area[] {widest, a});
            }
            if (widest == null || a.end() > widest.end()) {
                widest = a;
            }
        }
        return out;
    }
}
