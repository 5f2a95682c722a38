export * from './enums.js';
export * from './gateways.js';
export * from './recipients.js';
export * from './tenants.js';
export * from './messages.js';
export * from './webhooks.js';
export * from './idempotency.js';
export * from './budgets.js';
