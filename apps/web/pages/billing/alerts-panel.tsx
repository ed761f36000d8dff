/**
 * The account's alerts: which rules fire now (what crossed what, and when), and every rule with its
 * record. Alerts are account-wide, so a project filter leaves them as they are. Figures arrive as
 * decimal strings and stay strings: a share becomes a percentage and fen become CNY by moving the
 * decimal point in the text.
 */
import { formatAmount, formatInstant } from '../shared/amounts';
import type { AlertFiringView, AlertRuleView, AlertRules } from '../shared/api-types';
import { hrefFor, type Place } from '../shared/place';
import type { AccountWorkspace } from '../shared/workspace';

export function loadAlerts(workspace: AccountWorkspace): Promise<AlertRules> {
  return workspace.api.alertRules(workspace.accountId, { atLeastPosition: workspace.atLeastPosition });
}

/** Moves a decimal string's point `places` to the right or left, as text ("0.25", 2 → "25"). */
function shiftPoint(decimal: string, places: number): string {
  const [whole = '0', fraction = ''] = decimal.split('.');
  const digits = `${whole}${fraction}`;
  const point = whole.length + places;
  const padded = point < 0 ? `${'0'.repeat(-point)}${digits}` : digits.padEnd(point, '0');
  const at = Math.max(point, 0);
  const head = padded.slice(0, at).replace(/^0+(?=\d)/, '') || '0';
  const tail = padded.slice(at).replace(/0+$/, '');
  return tail ? `${head}.${tail}` : head;
}

const credits = (text: string) => `${formatAmount(text)} credits`;
const cny = (fen: string) => `${formatAmount(shiftPoint(fen, -2))} CNY`;

/** What the rule watches, in a sentence. */
export function ruleCondition({ kind, threshold }: Pick<AlertRuleView, 'kind' | 'threshold'>): string {
  switch (kind) {
    case 'available_below':
      return `Available credits below ${credits(threshold ?? '0')}`;
    case 'available_below_share':
      return `Available credits below ${shiftPoint(threshold ?? '0', 2)} % of the period’s included credits`;
    case 'settlement_threshold_reached':
      return 'Held credits reach the settlement threshold';
    case 'credits_expiring':
      return `Credits expiring within ${threshold ?? '?'} days`;
    case 'commercial_exception':
      return 'A commercial exception is recorded';
    case 'account_suspended':
      return 'The account is suspended';
  }
}

/** What the firing saw. */
function observation(kind: AlertRuleView['kind'], observed: string | null, subject: string | null): string {
  switch (kind) {
    case 'available_below':
    case 'available_below_share':
      return observed === null ? '' : `${credits(observed)} available`;
    case 'settlement_threshold_reached':
      return observed === null ? '' : `${cny(observed)} held`;
    case 'credits_expiring':
      return observed === null ? '' : `${credits(observed)} expiring, the soonest from grant ${subject ?? '?'}`;
    case 'commercial_exception':
      return observed === null ? '' : `${credits(observed)} beyond every balance, run ${subject ?? '?'}`;
    case 'account_suspended':
      return 'suspended';
  }
}

export function AlertsPanel({ alerts, place }: { alerts: AlertRules; place: Place }) {
  const scope: Place = { state: place.state, account: place.account };
  const firing = alerts.rules.filter((rule) => rule.firing);
  const lastFiring = (ruleId: string): AlertFiringView | undefined =>
    alerts.recent.find((f) => f.ruleId === ruleId && f.status === 'fired');
  return (
    <section aria-labelledby="alerts-title" class="section alerts" data-alert-rules={alerts.rules.length}>
      <h2 id="alerts-title">Alerts</h2>
      <p class="lede">
        Rules on this account’s balance, each firing once when its condition starts to hold and again only after it
        cleared. A firing is an event, appended with the movement that crossed: the{' '}
        <a href={hrefFor('usage', { ...scope, alerts: 'fired' })}>usage rows that fired an alert</a>. Alerts are
        account-wide.
      </p>
      <h3>Active alerts</h3>
      {firing.length === 0 ? (
        <p class="panel quiet-panel" data-active-alerts="0">
          No alert is firing.
        </p>
      ) : (
        <ul class="cards active-alerts" data-active-alerts={firing.length}>
          {firing.map((rule) => {
            const fired = lastFiring(rule.ruleId);
            return (
              <li key={rule.ruleId} class="card alert-card" data-rule-id={rule.ruleId}>
                <h4>{ruleCondition(rule)}</h4>
                <p class="amount" data-observed={rule.lastObserved ?? ''}>
                  {observation(rule.kind, rule.lastObserved, rule.lastSubject)}
                </p>
                <p class="meta">
                  Rule <code>{rule.ruleId}</code>
                  {rule.lastFiredAt && (
                    <>
                      {' '}
                      · since <time dateTime={rule.lastFiredAt}>{formatInstant(rule.lastFiredAt)}</time>
                    </>
                  )}
                  {fired && (
                    <>
                      {' '}
                      · <a href={hrefFor('usage', { ...scope, command: fired.commandId })}>the movement that crossed</a>
                    </>
                  )}
                </p>
              </li>
            );
          })}
        </ul>
      )}
      <h3>Rules</h3>
      {alerts.rules.length === 0 ? (
        <p class="panel quiet-panel">
          No alert rules yet. Define one with <code>POST /v1/accounts/{alerts.accountId}/alert-rules</code>.
        </p>
      ) : (
        <div class="table-scroll">
          <table class="alert-rules">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Condition</th>
                <th scope="col">State</th>
                <th scope="col" class="num">
                  Fired
                </th>
                <th scope="col">Last fired</th>
              </tr>
            </thead>
            <tbody>
              {alerts.rules.map((rule) => (
                <tr key={rule.ruleId} data-rule-id={rule.ruleId} data-firing={String(rule.firing)}>
                  <td data-label="Rule">
                    <code>{rule.ruleId}</code>
                  </td>
                  <td data-label="Condition">{ruleCondition(rule)}</td>
                  <td data-label="State">
                    {rule.kind === 'commercial_exception' ? 'on each exception' : rule.firing ? 'firing' : 'armed'}
                  </td>
                  <td data-label="Fired" class="num">
                    {formatAmount(rule.firedCount)}
                  </td>
                  <td data-label="Last fired">
                    {rule.lastFiredAt ? (
                      <time dateTime={rule.lastFiredAt}>{formatInstant(rule.lastFiredAt)}</time>
                    ) : (
                      'never'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
