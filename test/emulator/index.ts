/**
 * A local Plaid API for tests: same paths, bodies, errors and statuses as sandbox.plaid.com
 * (API version 2020-09-14), with state, Sandbox fixtures, rate limits and fault injection.
 *
 *   const plaid = await startEmulator();
 *   // point the product at plaid.url (PLAIDBAL_BASE_URL), with TEST_CLIENT_ID / TEST_SECRET
 *   plaid.inject({ path: '/accounts/balance/get', error_code: 'INSTITUTION_DOWN' });
 *   await plaid.close();
 */
export { startEmulator, TEST_CLIENT_ID, TEST_SECRET, PLAID_VERSION, SANDBOX_RATE_LIMITS } from './server.js';
export { plaidLike, PLAID_BALANCE_LATENCY, PLAID_PRODUCTION_BALANCE_LIMITS, logNormalSampler } from './plaid-like.js';
export { PLAID_ERRORS, type PlaidErrorCode, type PlaidErrorDefinition } from './errors.js';
export { SANDBOX_INSTITUTIONS, CAPITAL_ONE, DEFAULT_INSTITUTION, userGoodAccounts, type SandboxInstitution } from './fixtures.js';
export type {
  CompleteLinkExit,
  CompleteLinkOptions,
  CompleteLinkSuccess,
  Competition,
  LatencyModel,
  EmulatedItem,
  Emulator,
  EmulatorOptions,
  Fault,
  FaultKind,
  RateLimits,
  RecordedRequest,
  WireAccount,
  WireBalance,
} from './types.js';
export type { Wire } from './wire.js';
export { callPlaid, createSandboxItem, type CallOptions, type PlaidReply, type SandboxItem } from './client.js';
