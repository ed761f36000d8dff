export * from './ledger-client';
export * from './seed-scenario';
export * from './demo-accounts';
export * from './webhook-signature';
