/** An account with nothing in it yet: what it will show, and the commands that get it there. */
import type { Overview } from '../shared/api-types';

export const isEmptyAccount = (overview: Overview): boolean =>
  overview.subscription === null &&
  overview.relationship.usageLedger.rows === 0 &&
  overview.relationship.acceptedExecution.acceptedRuns === 0;

export function EmptyAccountGuide({ overview }: { overview: Overview }) {
  const account = `/v1/accounts/${overview.accountId}`;
  return (
    <section class="panel guide" aria-labelledby="empty-title" data-state="empty">
      <h2 id="empty-title">No credits or runs yet</h2>
      <p>
        This account is open but has no subscription, no grants and no runs, so every bucket below is zero. It fills in
        as services send commands:
      </p>
      <ol>
        <li>
          Start a subscription: <code>POST {account}/subscription</code> grants the plan’s included credits.
        </li>
        <li>
          Or grant credits directly: <code>POST {account}/grants</code> (a manual grant or a top-up).
        </li>
        <li>
          Attach projects and accept runs: <code>POST {account}/projects</code>, then <code>POST {account}/runs</code>{' '}
          reserves credits for each run.
        </li>
      </ol>
      <p>
        Every command is described in the <a href="/docs">API reference</a>.
      </p>
    </section>
  );
}
