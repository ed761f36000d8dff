/** Each project's share of the buckets, and the account-wide part no project accounts for. */
import { formatAmount } from '../shared/amounts';
import type { Buckets, ProjectBuckets } from '../shared/api-types';

const columns: Array<{ bucket: Exclude<keyof Buckets, 'available'>; label: string }> = [
  { bucket: 'included', label: 'Included' },
  { bucket: 'bonus', label: 'Granted' },
  { bucket: 'reserved', label: 'Reserved' },
  { bucket: 'consumed', label: 'Consumed' },
  { bucket: 'hold', label: 'Hold' },
  { bucket: 'expired', label: 'Expired' },
];

export function ProjectBreakdown({ breakdown }: { breakdown: ProjectBuckets }) {
  const rows: Array<{ key: string; label: string; buckets: Buckets; total?: boolean }> = [
    ...breakdown.projects.map((p) => ({
      key: p.projectId,
      label: p.name ? `${p.name} (${p.projectId})` : p.projectId,
      buckets: p.buckets,
    })),
    { key: 'unassigned', label: 'Account-wide (no project)', buckets: breakdown.unassigned },
    { key: 'account', label: 'Whole account', buckets: breakdown.account, total: true },
  ];
  return (
    <section aria-labelledby="breakdown-title" class="section">
      <h2 id="breakdown-title">Buckets by project</h2>
      <p class="lede">
        The wallet is account-owned; each project’s rows show where its reserved, consumed and held credits went. The
        account’s available credits: <strong>{formatAmount(breakdown.account.available ?? '0')}</strong>.
      </p>
      <div class="table-scroll">
        <table class="breakdown">
          <thead>
            <tr>
              <th scope="col">Project</th>
              {columns.map((c) => (
                <th key={c.bucket} scope="col" class="num">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.key} data-project={row.key} class={row.total ? 'total' : undefined}>
                <th scope="row">{row.label}</th>
                {columns.map((c) => (
                  <td key={c.bucket} class="num" data-label={c.label}>
                    {formatAmount(row.buckets[c.bucket])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
