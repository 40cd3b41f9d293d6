/**
 * Which Plaid environment and credentials a command uses.
 * Order: flags, then PLAID_CLIENT_ID / PLAID_SECRET / PLAID_ENV, then the stored profile.
 * Credentials from the environment variables belong to the environment PLAID_ENV names
 * (sandbox when unset), so they are never sent to the other environment.
 */
import { configError, usageError } from './errors.js';
import type { Store } from './store/store.js';
import { aad } from './store/seal.js';
import { ENVIRONMENTS, type Environment } from './types.js';

export function parseEnvironment(value: string, source: string): Environment {
  const v = value.trim().toLowerCase();
  if ((ENVIRONMENTS as readonly string[]).includes(v)) return v as Environment;
  if (v === 'development') {
    throw usageError(
      `Plaid retired the "development" environment (${source}).`,
      'Use "sandbox" for test data, or "production" (which now includes free limited-production access) for real accounts.',
    );
  }
  throw usageError(`Unknown Plaid environment "${value}" (${source}).`, 'Use "sandbox" or "production".');
}

/** The environment a command runs in: --env, then PLAID_ENV, then sandbox. */
export function resolveEnvironment(flag: string | undefined, env: NodeJS.ProcessEnv): Environment {
  if (flag !== undefined) return parseEnvironment(flag, '--env');
  if (env.PLAID_ENV) return parseEnvironment(env.PLAID_ENV, 'PLAID_ENV');
  return 'sandbox';
}

/** The environment whose credentials PLAID_CLIENT_ID / PLAID_SECRET are. */
export function envCredentialsEnvironment(env: NodeJS.ProcessEnv): Environment {
  return env.PLAID_ENV ? parseEnvironment(env.PLAID_ENV, 'PLAID_ENV') : 'sandbox';
}

export interface Credentials {
  environment: Environment;
  clientId: string;
  secret: string;
  clientName: string;
  countryCodes: string[];
  language: string;
}

export const DEFAULT_CLIENT_NAME = 'plaidbal';
export const DEFAULT_COUNTRY_CODES = ['US'];
export const DEFAULT_LANGUAGE = 'en';

export async function resolveCredentials(store: Store, environment: Environment, env: NodeJS.ProcessEnv, flags: { clientId?: string } = {}): Promise<Credentials> {
  const fromEnv = envCredentialsEnvironment(env) === environment;
  const profile = store.meta.profiles[environment];
  const clientId = flags.clientId || (fromEnv ? env.PLAID_CLIENT_ID : undefined) || profile?.client_id;
  let secret = fromEnv ? env.PLAID_SECRET || undefined : undefined;
  if (!secret && profile?.secret) secret = await store.open(profile.secret, aad.secret(environment), `${environment} Plaid secret`);
  if (!clientId || !secret) {
    const missing = [!clientId && 'client id', !secret && 'secret'].filter(Boolean).join(' and ');
    throw configError(
      `No Plaid ${missing} for ${environment}.`,
      `Run \`plaidbal config init --env ${environment}\`, or set PLAID_CLIENT_ID and PLAID_SECRET${environment === 'sandbox' ? '' : ` with PLAID_ENV=${environment}`}.`,
    );
  }
  return {
    environment,
    clientId,
    secret,
    clientName: profile?.client_name ?? DEFAULT_CLIENT_NAME,
    countryCodes: profile?.country_codes ?? DEFAULT_COUNTRY_CODES,
    language: profile?.language ?? DEFAULT_LANGUAGE,
  };
}
