#!/usr/bin/env bash
# Plots of the L2 cache study (bench/l2-study.sh) for docs/l2-cache.md.
#
#   bench/plot-l2-study.sh [IN.jsonl] [OUTDIR]   (defaults: bench/results/l2-study.jsonl, docs)
#
# Writes OUTDIR/l2-hit-ratio.png (hit ratio of 4 KiB random reads with QEMU's default cache against disk size,
# measured points over the formula's line) and OUTDIR/l2-write-amplification.png (4 KiB random writes over a
# backing file: host bytes per guest byte, with and without the metadata, median over the runs).
# Needs jq and gnuplot (Debian: apt-get install jq gnuplot-nox): one small, long-maintained package that reads
# the numbers jq extracts, no Python stack.
set -euo pipefail

IN=${1:-bench/results/l2-study.jsonl}
OUTDIR=${2:-docs}
for tool in jq gnuplot; do
    command -v "$tool" >/dev/null || { echo "plot-l2-study: needs $tool (apt-get install jq gnuplot-nox)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One gnuplot data block per configuration (blocks separated by two blank lines, addressed by 'index'):
# disk GiB, measured hit ratio (NaN where not measured), formula's hit ratio.
jq -rs '
  def cfg: (if ."cluster-size" >= 1048576 then "\(."cluster-size" / 1048576) MiB"
              else "\(."cluster-size" / 1024) KiB" end) + (if ."extended-l2" then ", extended L2" else "" end);
  [.[] | select(.study == "read")] | group_by([."cluster-size", ."extended-l2"])
  | map("# \(.[0] | cfg)\n" + (sort_by(."disk-size") | map(
        "\(."disk-size" / 1073741824)\t\(if .measured then .bench."l2-hit-ratio" else "NaN" end)\t\(."predicted-hit-ratio")")
        | join("\n")))
  | join("\n\n\n")' "$IN" > "$tmp/read.dat"
jq -rs '
  def cfg: (if ."cluster-size" >= 1048576 then "\(."cluster-size" / 1048576) MiB"
              else "\(."cluster-size" / 1024) KiB" end) + (if ."extended-l2" then " + ext L2" else "" end);
  [.[] | select(.study == "read")] | group_by([."cluster-size", ."extended-l2"]) | map(.[0] | cfg) | .[]' \
  "$IN" > "$tmp/read.titles"
# What the default cache maps, per configuration (GiB): the formula's hit ratio is min(1, that / disk size).
jq -rs '[.[] | select(.study == "read")] | group_by([."cluster-size", ."extended-l2"])
  | map(.[0] | (.formula."default-cache-bytes" / .formula."l2-entry-size" * ."cluster-size" / 1073741824)) | .[]' \
  "$IN" > "$tmp/read.cov"

# One line per configuration: label, median write amplification, median data amplification (data + copy-on-write
# only), median ops/s.
jq -rs '
  def median: sort | .[(length - 1) / 2 | floor];
  def cfg: (if ."cluster-size" >= 1048576 then "\(."cluster-size" / 1048576) MiB"
              else "\(."cluster-size" / 1024) KiB" end) + (if ."extended-l2" then "\\n+ ext L2" else "\\nstandard" end);
  [.[] | select(.study == "write")] | group_by([."cluster-size", ."extended-l2"])
  | .[] | "\"\(.[0] | cfg)\"\t\(map(.bench."write-amplification") | median)\t\(map(."data-amplification") | median)\t\(map(.bench."ops-per-second") | median)"' \
  "$IN" > "$tmp/write.dat"

mapfile -t titles < "$tmp/read.titles"
mapfile -t cov < "$tmp/read.cov"
gnuplot <<EOF
set terminal pngcairo size 960,600 font "DejaVu Sans,12"
set output "$OUTDIR/l2-hit-ratio.png"
set title "L2 cache hit ratio, 4 KiB uniformly random reads, QEMU's default cache (at most 32 MiB)"
set xlabel "virtual disk size (log scale)"
set ylabel "L2 cache hit ratio"
set logscale x 2
set xtics ("64 GiB" 64, "128 GiB" 128, "256 GiB" 256, "512 GiB" 512, "1 TiB" 1024, "2 TiB" 2048, "4 TiB" 4096)
set xrange [48:4700]
set yrange [0:1.08]
set ytics 0.1
set grid
set key outside right center spacing 1.4
set datafile missing "NaN"
array T[6] = ["${titles[0]}", "${titles[1]}", "${titles[2]}", "${titles[3]}", "${titles[4]}", "${titles[5]}"]
array PT[6] = [7, 5, 9, 11, 13, 4]
array PS[6] = [2.2, 1.9, 2.0, 1.7, 1.6, 1.3]
array C[6] = [${cov[0]}, ${cov[1]}, ${cov[2]}, ${cov[3]}, ${cov[4]}, ${cov[5]}]
set samples 400
f(x, c) = x <= c ? 1 : c / x
plot for [i=1:6] f(x, C[i]) with lines dt 2 lw (3.6 - 0.4 * i) lc i notitle, \
     for [i=0:5] "$tmp/read.dat" index i using 1:2 with points pt PT[i+1] ps PS[i+1] lw 2 lc i+1 title T[i+1], \
     NaN with lines dt 2 lc "gray40" title "formula"
EOF

gnuplot <<EOF
set terminal pngcairo size 960,600 font "DejaVu Sans,12"
set output "$OUTDIR/l2-write-amplification.png"
set title "4 KiB random writes over a fully written raw backing file"
set ylabel "host bytes written per guest byte (log scale)"
set logscale y 10
set yrange [0.8:5000]
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top left
set bmargin 4
set xtics font ",11"
plot "$tmp/write.dat" using 2:xtic(1) title "write amplification (data + copy-on-write + metadata)" lc rgb "#c0392b", \
     "" using 3 title "data + copy-on-write only" lc rgb "#2e86c1", \
     "" using (\$0 - 0.17):(\$2 * 1.25):(sprintf("%.3g", \$2)) with labels font ",10" notitle, \
     "" using (\$0 + 0.17):(\$3 * 1.25):(sprintf("%.3g", \$3)) with labels font ",10" notitle
EOF
echo "plot-l2-study: wrote $OUTDIR/l2-hit-ratio.png and $OUTDIR/l2-write-amplification.png"
