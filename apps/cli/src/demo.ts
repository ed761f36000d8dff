/**
 * `npm run demo [account]`: drives a running API (LEDGER_URL, default http://127.0.0.1:3000) through
 * the seed scenario and prints the account's buckets, which match the seed page. An account that
 * already exists (the demo workspace the API makes on start, say) is shown, not seeded again.
 */
import { LedgerClient } from '@ledger/client';
import { seedUnlessPresent } from '@ledger/client';

interface Figures {
  buckets: Record<string, string>;
  settlement: { thresholdFen: string; heldValueFen: string; reached: boolean } | null;
}

async function main(): Promise<void> {
  const url = process.env.LEDGER_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`;
  const accountId = process.argv[2] ?? 'acct-demo';
  const client = new LedgerClient(url, process.env.LEDGER_API_KEY ?? 'dev-service-key');
  const seeded = await seedUnlessPresent(client, accountId, new Date(), (step) => console.log(`  ✓ ${step}`));
  let figures: Figures;
  if (seeded === 'present') {
    console.log(`account ${accountId} already exists: showing it as it is`);
    const overview = await client.get<Figures>(`/v1/accounts/${accountId}/overview`);
    if (overview.status !== 200) throw new Error(`could not read ${accountId}: ${JSON.stringify(overview.body)}`);
    figures = overview.body;
  } else {
    figures = seeded.body as Figures;
  }
  console.log(`\naccount ${accountId}`);
  for (const [bucket, amount] of Object.entries(figures.buckets)) console.log(`  ${bucket.padEnd(10)} ${amount}`);
  if (figures.settlement) {
    console.log(
      `  settlement threshold ${BigInt(figures.settlement.thresholdFen) / 100n} CNY, held value ${figures.settlement.heldValueFen} fen, reached: ${figures.settlement.reached}`,
    );
  }
  console.log(`\nopen ${url}/workspace/billing?state=live&account=${accountId}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
