/**
 * `npm run demo`: drives a running API (LEDGER_URL, default http://127.0.0.1:3000) through the seed
 * scenario and prints the account's buckets, which match the seed page.
 */
import { LedgerClient } from './ledger-client';
import { runSeedScenario } from './seed-scenario';

async function main(): Promise<void> {
  const url = process.env.LEDGER_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`;
  const accountId = process.argv[2] ?? 'acct-demo';
  const client = new LedgerClient(url, process.env.LEDGER_API_KEY ?? 'dev-service-key');
  const receipt = await runSeedScenario(client, accountId, new Date(), (step) => console.log(`  ✓ ${step}`));
  const { buckets, settlement } = receipt.body as {
    buckets: Record<string, string>;
    settlement: { thresholdFen: string; heldValueFen: string; reached: boolean };
  };
  console.log(`\naccount ${accountId}`);
  for (const [bucket, amount] of Object.entries(buckets)) console.log(`  ${bucket.padEnd(10)} ${amount}`);
  console.log(
    `  settlement threshold ${BigInt(settlement.thresholdFen) / 100n} CNY, held value ${settlement.heldValueFen} fen, reached: ${settlement.reached}`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
