# Bar chart of natsd / nats-server ratios from natsd-bench compare CSV files.
# gnuplot -e "unpinned='compare-unpinned.csv'; pinned='compare-pinned.csv'" ratios.gp > ratios.svg
set terminal svg size 960,520 dynamic font "sans,11"
set datafile separator ","
set termoption noenhanced
set title "natsd / nats-server (medians of 5 alternating rounds, 2 vCPUs)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -40 nomirror
set ylabel "natsd / nats-server"
set yrange [0:*]
set grid ytics
set key top left
plot unpinned using 5:xtic(1) every ::1 title "unpinned", \
     pinned using 5 every ::1 title "server on CPU 0, generator on CPU 1", \
     1 with lines lw 2 dt 2 lc rgb "black" title "parity", \
     1.3 with lines lw 1 dt 3 lc rgb "red" title "throughput bar 1.3"
