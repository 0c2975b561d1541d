/**
 * Contracts of every boundary. Imports no project code.
 * @module
 */
export * from './errors.ts';
export * from './pivot-token.ts';
export * from './frame.ts';
export * from './chat.ts';
export * from './vault-api.ts';
export * from './csp-report.ts';
