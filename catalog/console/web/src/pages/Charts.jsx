// Size and file count over time, from the snapshots' summaries (uPlot, drawn on a canvas).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useRef } from "preact/hooks";

function Chart({ title, xs, ys, label }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current || xs.length === 0) return undefined;
    const width = Math.max(240, Math.min(box.current.clientWidth || 600, 720));
    const plot = new uPlot(
      {
        title,
        width,
        height: 200,
        series: [{}, { label, stroke: "#1f5f99", width: 2, points: { show: true } }],
        axes: [{}, { size: 70 }],
      },
      [xs, ys],
      box.current,
    );
    // Follow the box's width (a phone turned, a window resized): never wider than the page.
    const fit = new ResizeObserver(() => {
      const w = Math.max(240, Math.min(box.current ? box.current.clientWidth : width, 720));
      if (w !== plot.width) plot.setSize({ width: w, height: 200 });
    });
    fit.observe(box.current);
    return () => {
      fit.disconnect();
      plot.destroy();
    };
  }, [xs.join(","), ys.join(",")]);
  return <figure class="chart" ref={box} aria-label={title} />;
}

export function SnapshotCharts({ snapshots }) {
  const sorted = [...snapshots].sort((a, b) => a["timestamp-ms"] - b["timestamp-ms"]);
  const xs = sorted.map((s) => s["timestamp-ms"] / 1000);
  const num = (s, key) => Number((s.summary || {})[key] || 0);
  if (!sorted.length) return <p class="muted">No snapshots yet.</p>;
  return (
    <div class="charts">
      <Chart title="Data size (bytes)" label="bytes" xs={xs} ys={sorted.map((s) => num(s, "total-files-size"))} />
      <Chart title="Data files" label="files" xs={xs} ys={sorted.map((s) => num(s, "total-data-files"))} />
    </div>
  );
}
