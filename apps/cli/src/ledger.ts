#!/usr/bin/env node
/** `ledger` (npm run ledger -- …): the auditor's command line; see audit/cli.ts. */
import { runLedgerCli } from './audit/cli';
import { processIo } from './audit/io';

runLedgerCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 2;
  },
);
