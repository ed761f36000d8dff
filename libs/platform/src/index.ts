export * from './config';
export * from './database';
export * from './embedded-postgres';
export * from './csv';
export * from './project-root';
export * from './free-port';
export * from './log';
export * from './network-address';
