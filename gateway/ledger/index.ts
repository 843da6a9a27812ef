/**
 * The provider economy (issue 12) as pure functions: no I/O, no clock. Time comes in as the
 * `at` of events and the era numbers; the logs come in as arrays. docs/economy.md has the model.
 */
export * from './types.js';
export * from './params.js';
export * from './canonical.js';
export * from './ledger.js';
export * from './state.js';
export * from './events.js';
export * from './apply.js';
export * from './service.js';
export * from './rewards.js';
export * from './slash.js';
export * from './passports.js';
export * from './settle.js';
export * from './replay.js';
