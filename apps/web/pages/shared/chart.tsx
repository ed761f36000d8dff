/**
 * A chart of daily figures, drawn by uPlot (MIT, github.com/leeoniya/uPlot) on a canvas as wide as
 * its container. Amounts arrive as the API's decimal strings and stay so: each series keeps its
 * strings, which the legend shows exactly; only the y position of a point goes through a number,
 * at the last step, because a canvas has no other way to place it. Beside every chart the same
 * points are listed in a table (DailyTable), for screen readers and anyone who wants the figures.
 */
/*! uPlot v1.6.32 | (c) 2025 Leon Sorokin | MIT License | https://github.com/leeoniya/uPlot */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatAmount } from './amounts';

export interface ChartSeries {
  readonly label: string;
  /** One exact amount per day, as the API gave it. */
  readonly amounts: readonly string[];
  readonly color: string;
  /** Drawn as bars stacked on the series before it, instead of a line. */
  readonly stacked?: boolean;
}

export interface ChartProps {
  /** What the chart shows, for its accessible name. */
  readonly label: string;
  /** The days, 'YYYY-MM-DD' (UTC). */
  readonly days: readonly string[];
  readonly series: readonly ChartSeries[];
  /** Instants to mark with a vertical rule (subscription period boundaries). */
  readonly marks?: readonly string[];
  readonly height?: number;
}

const dayStart = (day: string): number => Date.parse(`${day}T00:00:00.000Z`) / 1000;

/** A decimal string as a canvas position needs it: for placing a point only, never shown. */
const plotted = (amount: string): number => Number(amount);

const MARK_COLOR = '#8250df';

/**
 * Stacked bars are drawn from the tallest down, each from zero to the running total of the series
 * up to it, so each bar's visible part is its own series' share.
 */
function plotData(props: ChartProps): uPlot.AlignedData {
  const x = props.days.map(dayStart);
  const totals = props.days.map(() => 0);
  const ys = props.series.map((series) =>
    series.amounts.map((amount, i) => {
      if (!series.stacked) return plotted(amount);
      totals[i]! += plotted(amount);
      return totals[i]!;
    }),
  );
  return [x, ...order(props.series).map((i) => ys[i]!)];
}

/** Lines in their own order; stacked series last to first, so each shorter bar is drawn over the taller. */
const order = (series: readonly ChartSeries[]): number[] => {
  const lines = series.flatMap((s, i) => (s.stacked ? [] : [i]));
  const stacked = series.flatMap((s, i) => (s.stacked ? [i] : [])).reverse();
  return [...lines, ...stacked];
};

function options(props: ChartProps, width: number): uPlot.Options {
  const bars = uPlot.paths.bars!({ size: [0.7, 24] });
  return {
    width,
    height: props.height ?? 240,
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    axes: [{}, { size: 56 }],
    series: [
      { label: 'Day', value: (_u, _v, _s, idx) => (idx === null ? '—' : (props.days[idx] ?? '—')) },
      ...order(props.series).map((i): uPlot.Series => {
        const series = props.series[i]!;
        return {
          label: series.label,
          stroke: series.color,
          width: series.stacked ? 0 : 2,
          fill: series.stacked ? series.color : undefined,
          paths: series.stacked ? bars : undefined,
          points: { show: false },
          // The legend shows the exact amount, never the plotted number.
          value: (_u, _v, _s, idx) => (idx === null ? '—' : formatAmount(series.amounts[idx] ?? '0')),
        };
      }),
    ],
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          ctx.save();
          ctx.strokeStyle = MARK_COLOR;
          ctx.setLineDash([4, 4]);
          ctx.lineWidth = devicePixelRatio;
          for (const mark of props.marks ?? []) {
            const at = Date.parse(mark) / 1000;
            const x = Math.round(u.valToPos(at, 'x', true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

/**
 * The legend in the series' own order (the table's columns), though stacked series are drawn last
 * to first: its rows are moved, not rebuilt, so uPlot still writes each one's live value.
 */
function listInOwnOrder(element: HTMLElement, series: readonly ChartSeries[]): void {
  const rows = [...element.querySelectorAll<HTMLElement>('.u-legend .u-series')];
  const [day, ...drawn] = rows;
  if (!day || drawn.length !== series.length) return;
  const byIndex = new Map(order(series).map((index, i) => [index, drawn[i]!]));
  const parent = day.parentElement!;
  for (let index = 0; index < series.length; index++) parent.appendChild(byIndex.get(index)!);
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const plot = new uPlot(options(props, element.clientWidth || 300), plotData(props), element);
    listInOwnOrder(element, props.series);
    // As wide as the container, on any screen: a narrow one must not scroll sideways.
    const resize = new ResizeObserver(() => {
      const width = element.clientWidth;
      if (width > 0 && width !== plot.width) plot.setSize({ width, height: plot.height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
    // Drawn again only when what it shows changes, not whenever the page around it renders.
  }, [props.label, props.days, props.series, props.marks, props.height]);
  return <div class="chart" ref={box} role="img" aria-label={props.label} data-chart={props.label} />;
}

/** The chart's points as a table: every day, every series, each amount exactly as the API gave it. */
export function DailyTable(props: {
  caption: string;
  days: readonly string[];
  series: readonly ChartSeries[];
  name: string;
}) {
  return (
    <details class="chart-table">
      <summary>{props.caption}</summary>
      <div class="table-scroll">
        <table data-points={props.name}>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {props.series.map((s) => (
                <th key={s.label} scope="col" class="num">
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.days.map((day, i) => (
              <tr key={day} data-day={day}>
                <th scope="row">{day}</th>
                {props.series.map((s) => (
                  <td key={s.label} class="num" data-series={s.label} data-amount={s.amounts[i]}>
                    {formatAmount(s.amounts[i] ?? '0')}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

export function ChartFigure(props: {
  title: string;
  id: string;
  lede: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <figure class="chart-figure" aria-labelledby={props.id}>
      <h3 id={props.id}>{props.title}</h3>
      <p class="hint">{props.lede}</p>
      {props.children}
    </figure>
  );
}
