/** Where the store lives. Kept apart from store.ts so `config path` loads nothing heavy. */
import { join } from 'node:path';
import envPaths from 'env-paths';

export const STORE_FILE = 'store.json';

/** PLAIDBAL_CONFIG_DIR, else the platform's config directory (~/.config/plaidbal on Linux). */
export function storeDir(env: NodeJS.ProcessEnv): string {
  const override = env.PLAIDBAL_CONFIG_DIR;
  if (override !== undefined && override !== '') return override;
  return envPaths('plaidbal', { suffix: '' }).config;
}

export function storePath(env: NodeJS.ProcessEnv): string {
  return join(storeDir(env), STORE_FILE);
}

/** The copy of the last version plaidbal wrote, kept beside the store (see store.ts). */
export const backupPath = (storeFile: string) => `${storeFile}.bak`;
