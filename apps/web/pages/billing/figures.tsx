/** The headline figures and the balance-bucket cards, each bucket with what it means. */
import type { Overview } from '../shared/api-types';
import { formatAmount } from '../shared/amounts';

export function HeadlineFigures({ overview }: { overview: Overview }) {
  const { buckets, settlement, project } = overview;
  return (
    <section aria-labelledby="headline-title" class="headline">
      <h2 id="headline-title" class="visually-hidden">
        Headline figures
      </h2>
      <dl class="figures">
        <Figure name="available" label="Available" value={formatAmount(overview.accountAvailable)}>
          {project ? 'the account’s wallet, shared by every project' : 'spendable now'}
        </Figure>
        <Figure name="reserved" label="Reserved" value={formatAmount(buckets.reserved)}>
          held for accepted runs
        </Figure>
        <Figure name="hold" label="Hold" value={formatAmount(buckets.hold)}>
          awaiting settlement
        </Figure>
        <Figure
          name="settlement-threshold"
          label="Settlement threshold"
          value={settlement ? `${formatAmount(settlement.thresholdCny)} CNY` : 'not set'}
        >
          {settlement
            ? `held value ${formatAmount(settlement.heldValueCny)} CNY${settlement.reached ? ', reached' : ''}`
            : 'no plan yet'}
        </Figure>
      </dl>
    </section>
  );
}

function Figure(props: { name: string; label: string; value: string; children: string }) {
  return (
    <div class="figure" data-figure={props.name}>
      <dt>{props.label}</dt>
      <dd class="value">{props.value}</dd>
      <dd class="hint">{props.children}</dd>
    </div>
  );
}

interface BucketCard {
  readonly bucket: keyof Overview['buckets'];
  readonly title: string;
  readonly explanation: string;
}

const bucketCards: BucketCard[] = [
  {
    bucket: 'included',
    title: 'Included plan credits',
    explanation: 'Credits the subscription granted for this period; they refill at each renewal.',
  },
  {
    bucket: 'bonus',
    title: 'Granted and top-up credits',
    explanation: 'Manual grants and top-ups, beside the plan’s allowance; each expires on its own date, if any.',
  },
  {
    bucket: 'available',
    title: 'Available credits',
    explanation:
      'What runs can still reserve: granted credits less what is reserved, consumed, held or expired. The wallet belongs to the account.',
  },
  {
    bucket: 'reserved',
    title: 'Reserved credits',
    explanation:
      'Held by accepted runs that passed identity, account, account state, plan, project and action checks, until they finish.',
  },
  {
    bucket: 'consumed',
    title: 'Consumed credits',
    explanation: 'What finished runs actually cost, settled from their reservations.',
  },
  {
    bucket: 'hold',
    title: 'Settlement hold',
    explanation: 'Consumed credits held for a provider after accepted usage, until paid out or reversed.',
  },
  {
    bucket: 'expired',
    title: 'Expired credits',
    explanation: 'Grants that reached their end unspent; they no longer count as available.',
  },
];

export function BalanceBuckets({ overview }: { overview: Overview }) {
  const planName = overview.subscription?.planName ?? 'No plan yet';
  return (
    <section aria-labelledby="buckets-title" class="section">
      <h2 id="buckets-title">Balance buckets</h2>
      <p class="lede">
        Plan balance, reserved execution cost and settlement hold, side by side
        {overview.project ? `, for project ${overview.project}` : ''}.
      </p>
      <p class="plan" data-plan>
        {planName}
      </p>
      <ul class="cards buckets">
        {bucketCards.map((card) => {
          const value = card.bucket === 'available' ? overview.accountAvailable : overview.buckets[card.bucket];
          return (
            <li key={card.bucket} class="card" data-bucket={card.bucket}>
              <h3>{card.title}</h3>
              <p class="kind">{card.bucket}</p>
              <p class="amount">{formatAmount(value ?? '0')}</p>
              <p>{card.explanation}</p>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
