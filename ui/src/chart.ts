/**
 * One uPlot chart in a box of fixed height (no layout shift when data arrives), as wide as its
 * container (ResizeObserver). Axis and grid colours come from the page's CSS, so the chart reads
 * in dark and light.
 */
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export const PALETTE = ['#2f7ed8', '#e4572e', '#17a673', '#b07cd8', '#d8a31a', '#5bc0de', '#8c8c8c'];
const HEIGHT = 170;

export interface ChartProps {
  title: string;
  /** Names of the y series. */
  series: string[];
  /** [x seconds, ...one array per series]. */
  data: number[][];
  testid?: string;
  empty?: string | null;
}

function options(props: ChartProps, width: number): uPlot.Options {
  const css = getComputedStyle(document.body);
  const fg = css.getPropertyValue('--muted').trim() || '#888';
  const grid = css.getPropertyValue('--grid').trim() || 'rgba(128,128,128,0.2)';
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width,
    height: HEIGHT,
    legend: { show: true, live: false },
    cursor: { show: true, drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [axis, { ...axis, size: 48 }],
    series: [
      {},
      ...props.series.map((label, i) => ({
        label,
        stroke: PALETTE[i % PALETTE.length]!,
        width: 2,
        points: { show: false },
      })),
    ],
  };
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = props.series.join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(options(props, el.clientWidth || 300), props.data as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: el.clientWidth || 300, height: HEIGHT }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [key]);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);

  return html`<figure class="chart" data-testid=${props.testid}>
    <figcaption>${props.title}${props.empty ? html` <span class="muted">${props.empty}</span>` : ''}</figcaption>
    <div class="chart-box" ref=${box}></div>
  </figure>`;
}
