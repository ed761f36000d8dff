/**
 * Available, reserved and held credits at the end of every day, with the subscription periods'
 * boundaries marked. With a project chosen, reserved and held are that project's share, and
 * available stays the account's: the wallet belongs to the account and every project draws on it.
 */
import { useMemo } from 'preact/hooks';
import type { DailyFigures } from '../shared/api-types';
import { Chart, ChartFigure, DailyTable, type ChartSeries } from '../shared/chart';

export function balanceSeries(figures: DailyFigures): ChartSeries[] {
  const { days, project } = figures;
  return [
    {
      label: project ? 'Available (account)' : 'Available',
      amounts: days.map((d) => d.available),
      color: '#0b5cad',
    },
    { label: 'Reserved', amounts: days.map((d) => d.buckets.reserved), color: '#bf8700' },
    { label: 'Hold', amounts: days.map((d) => d.buckets.hold), color: '#a40e26' },
  ];
}

export function BalanceChart({ figures }: { figures: DailyFigures }) {
  const days = useMemo(() => figures.days.map((d) => d.day), [figures]);
  const series = useMemo(() => balanceSeries(figures), [figures]);
  const boundaries = useMemo(
    () => figures.periods.map((p) => p.start).filter((start) => start.slice(0, 10) >= figures.from),
    [figures],
  );
  return (
    <ChartFigure
      id="balance-chart-title"
      title="Credits over time"
      lede={
        <>
          Available, reserved and held credits at the end of each day (UTC)
          {figures.project ? `; reserved and hold are project ${figures.project}’s, available the account’s` : ''}.
          {boundaries.length > 0 && (
            <> Dashed lines: a subscription period begins ({boundaries.map((b) => b.slice(0, 10)).join(', ')}).</>
          )}
        </>
      }
    >
      <Chart label="Available, reserved and held credits per day" days={days} series={series} marks={boundaries} />
      <DailyTable name="balances" caption="The figures, day by day" days={days} series={series} />
    </ChartFigure>
  );
}
