/** Credits consumed each day, stacked by project; with a project chosen, that project's alone. */
import { useMemo } from 'preact/hooks';
import type { DailyFigures } from '../shared/api-types';
import { Chart, ChartFigure, DailyTable, type ChartSeries } from '../shared/chart';

const PROJECT_COLORS = ['#0b5cad', '#1a7f37', '#bf8700', '#8250df', '#cf222e', '#57606a'];

export function consumptionSeries(figures: DailyFigures): ChartSeries[] {
  return figures.projects.map((p, i) => ({
    label: p.name ?? p.projectId,
    amounts: figures.days.map((d) => d.consumedByProject[p.projectId] ?? '0'),
    color: PROJECT_COLORS[i % PROJECT_COLORS.length]!,
    stacked: true,
  }));
}

export function ConsumptionChart({ figures }: { figures: DailyFigures }) {
  const days = useMemo(() => figures.days.map((d) => d.day), [figures]);
  const series = useMemo(() => consumptionSeries(figures), [figures]);
  return (
    <ChartFigure
      id="consumption-chart-title"
      title="Consumption per day"
      lede={
        figures.project
          ? `Credits project ${figures.project}’s runs consumed each day (UTC).`
          : 'Credits consumed each day (UTC), stacked by project.'
      }
    >
      {series.length === 0 ? (
        <p class="panel quiet-panel">No projects attached yet.</p>
      ) : (
        <>
          <Chart label="Credits consumed per day, by project" days={days} series={series} />
          <DailyTable name="consumption" caption="Consumption, day by day" days={days} series={series} />
        </>
      )}
    </ChartFigure>
  );
}
