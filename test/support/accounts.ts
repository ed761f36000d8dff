/**
 * Accounts as end-to-end tests open them over HTTP: one plan, a period that began a day ago and
 * runs a month, and project p1 attached.
 */
import { randomUUID } from 'node:crypto';
import type { JsonBody, LedgerClient } from '@ledger/client';

const DAY = 24 * 60 * 60 * 1000;

/** One band, no minimum cost (any estimate passes the rate card), 100 credits included. */
export const TEST_PLAN = {
  planId: 'growth',
  name: 'Growth',
  includedCredits: '100',
  capabilityBands: ['standard'],
  rateCard: [{ action: 'workflow.run', capabilityBand: 'standard', minimumCost: '0' }],
  creditPriceFen: '100',
  settlementThresholdFen: '10000',
};

/** POSTs a command under a fresh key; throws with the answer unless it was accepted. */
export async function sendAccepted(client: LedgerClient, path: string, body: unknown): Promise<JsonBody> {
  const response = await client.command(path, body, randomUUID());
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Opens `accountId` on TEST_PLAN with p1 attached; resolves to the last receipt. */
export async function openTestAccount(client: LedgerClient, accountId: string): Promise<JsonBody> {
  const now = Date.now();
  await sendAccepted(client, '/v1/accounts', { accountId, name: accountId });
  await sendAccepted(client, `/v1/accounts/${accountId}/subscription`, {
    plan: TEST_PLAN,
    period: { start: new Date(now - DAY).toISOString(), end: new Date(now + 30 * DAY).toISOString() },
  });
  return sendAccepted(client, `/v1/accounts/${accountId}/projects`, { projectId: 'p1' });
}
