/**
 * The commercial relationship map: how subscription posture feeds the wallet, the wallet the
 * accepted-execution bridge, and that the usage ledger — each card with this account's own facts.
 */
import type { ComponentChildren } from 'preact';
import { formatAmount, formatInstant } from '../shared/amounts';
import type { Overview } from '../shared/api-types';
import { hrefFor, type Place } from '../shared/place';

interface Stage {
  readonly id: string;
  readonly title: string;
  readonly owner: string;
  readonly summary: string;
  readonly upstream: string[];
  readonly downstream: string[];
  readonly surface: '/workspace/billing' | '/workspace/usage';
  readonly facts: Array<[string, ComponentChildren]>;
}

function stages(overview: Overview): Stage[] {
  const { subscriptionPosture, creditWallet, acceptedExecution, usageLedger } = overview.relationship;
  const bands = subscriptionPosture.capabilityBands;
  return [
    {
      id: 'subscription-posture',
      title: 'Subscription posture',
      owner: 'account entitlement',
      summary:
        'The subscription decides whether the account is active and which capability bands runs may use; it refills the included credits each period.',
      upstream: ['identity → billing account → account state', 'plan capability'],
      downstream: ['included credits become wallet balance', 'runs may reserve credits only where the plan allows'],
      surface: '/workspace/billing',
      facts: [
        ['Account', subscriptionPosture.accountStatus],
        ['Plan', subscriptionPosture.planName ?? 'none yet'],
        ['Capability bands', bands.length ? bands.join(', ') : 'none'],
        [
          'Period',
          overview.subscription?.period
            ? `${overview.subscription.period.start.slice(0, 10)} → ${overview.subscription.period.end.slice(0, 10)}`
            : 'none',
        ],
      ],
    },
    {
      id: 'credit-wallet',
      title: 'Credit wallet',
      owner: 'account-owned wallet',
      summary:
        'Credits are the spendable unit for every accepted run. The wallet belongs to the account; the figures stay filterable by project.',
      upstream: ['included subscription credits', 'manual grants and top-ups'],
      downstream: ['reservation when a run is accepted', 'consumption, release or settlement hold after it'],
      surface: '/workspace/billing',
      facts: [
        ['Wallet available', formatAmount(creditWallet.available)],
        ['Included', formatAmount(creditWallet.included)],
        ['Granted and top-up', formatAmount(creditWallet.bonus)],
        ...(creditWallet.scheduled !== '0'
          ? [['Scheduled, not yet in effect', formatAmount(creditWallet.scheduled)] as [string, string]]
          : []),
      ],
    },
    {
      id: 'accepted-execution',
      title: 'Accepted execution bridge',
      owner: 'project execution → account billing',
      summary:
        'Previewing a run is free. Accepting one keeps its project, reserves account credits, and is the first durable receipt usage and settlement build on.',
      upstream: ['workflow, project and object ownership', 'credit gate after the permission order passes'],
      downstream: ['queued run receipt', 'reservation, then terminal usage evidence'],
      surface: '/workspace/usage',
      facts: [
        ['Accepted runs', String(acceptedExecution.acceptedRuns)],
        ['Still running', String(acceptedExecution.openRuns)],
        ['Reserved', formatAmount(acceptedExecution.reserved)],
      ],
    },
    {
      id: 'usage-ledger',
      title: 'Usage ledger',
      owner: 'account ledger with project filters',
      summary:
        'One row per money movement ties reservation, consumption and settlement holds together, readable by project, provable from events.',
      upstream: ['accepted run receipts', 'reservation, completion and settlement events'],
      downstream: ['this overview and audit review', 'settlement eligibility and payout release'],
      surface: '/workspace/usage',
      facts: [
        ['Ledger rows', String(usageLedger.rows)],
        ['Last movement', usageLedger.lastMovementAt ? formatInstant(usageLedger.lastMovementAt) : 'none yet'],
      ],
    },
  ];
}

export function RelationshipMap({ overview, place }: { overview: Overview; place: Place }) {
  return (
    <section aria-labelledby="map-title" class="section">
      <h2 id="map-title">Commercial relationship map</h2>
      <p class="lede">
        Subscription posture → credit wallet → accepted execution → usage ledger, with this account’s facts.
      </p>
      <ol class="cards map">
        {stages(overview).map((stage) => (
          <li key={stage.id} class="card" data-stage={stage.id}>
            <h3>{stage.title}</h3>
            <p class="kind">{stage.owner}</p>
            <p>{stage.summary}</p>
            <dl class="facts">
              {stage.facts.map(([label, value]) => (
                <div key={label}>
                  <dt>{label}</dt>
                  <dd>{value}</dd>
                </div>
              ))}
            </dl>
            <div class="flow">
              <h4>Upstream</h4>
              <ul>
                {stage.upstream.map((item) => (
                  <li key={item}>{item}</li>
                ))}
              </ul>
              <h4>Downstream</h4>
              <ul>
                {stage.downstream.map((item) => (
                  <li key={item}>{item}</li>
                ))}
              </ul>
            </div>
            <p class="surface">
              Surface:{' '}
              <a href={hrefFor(stage.surface === '/workspace/usage' ? 'usage' : 'billing', place)}>{stage.surface}</a>
            </p>
          </li>
        ))}
      </ol>
    </section>
  );
}
