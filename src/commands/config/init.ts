import type { Ctx } from '../../context.js';
import { DEFAULT_CLIENT_NAME, DEFAULT_COUNTRY_CODES, DEFAULT_LANGUAGE, parseEnvironment, resolveEnvironment } from '../../credentials.js';
import { configError, usageError } from '../../errors.js';
import { readStdinUpTo } from '../../io.js';
import { describeKeySource } from '../../store/keys.js';
import { aad } from '../../store/seal.js';
import type { Environment } from '../../types.js';
import type { ConfigInitOptions } from './index.js';

const COUNTRY = /^[A-Z]{2}$/;
const LANGUAGE = /^[a-z]{2}$/;
const CLIENT_ID = /^[A-Za-z0-9_-]{6,64}$/;

/**
 * Plaid's secrets are 30 characters. Far more on stdin is something else piped in by mistake (a
 * file, a key store's whole export): refused before it is kept, sealed and written twice (store and
 * backup), and never read further than this.
 */
export const MAX_SECRET_BYTES = 1024;

async function readSecretStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const text = await readStdinUpTo(stdin, MAX_SECRET_BYTES);
  if (text === null) {
    throw usageError(`--secret-stdin read more than ${MAX_SECRET_BYTES} bytes, which is no Plaid secret (those are 30 characters), so nothing was saved.`, 'Pipe in the secret alone, e.g. `printf %s "$PLAID_SECRET" | plaidbal config init ... --secret-stdin`.');
  }
  return text;
}

function checkCountries(codes: string[]): string[] {
  const upper = codes.map((c) => c.toUpperCase());
  const bad = upper.filter((c) => !COUNTRY.test(c));
  if (bad.length) throw usageError(`Not ISO-3166 country codes: ${bad.join(', ')}.`, 'Use two-letter codes such as US,CA,GB.');
  return upper;
}

function checkLanguage(lang: string): string {
  if (!LANGUAGE.test(lang)) throw usageError(`"${lang}" is not a Link language code.`, 'Use a two-letter code such as en, fr, es, nl, de.');
  return lang;
}

export async function runConfigInit(ctx: Ctx, opts: ConfigInitOptions): Promise<number> {
  const store = await ctx.store();
  const interactive = ctx.io.canPrompt && !opts.secretStdin;
  const { prompt } = ctx;

  let environment: Environment;
  if (opts.env !== undefined) environment = parseEnvironment(opts.env, '--env');
  else if (interactive) {
    environment = await prompt.select(
      'Plaid environment:',
      [
        { value: 'sandbox', name: 'sandbox', description: 'test institutions and data' },
        { value: 'production', name: 'production', description: 'real accounts; balance calls are billed' },
      ],
      { default: resolveEnvironment(undefined, ctx.env) },
    );
  } else environment = resolveEnvironment(undefined, ctx.env);

  const existing = store.doc.profiles[environment];
  let clientId = opts.clientId;
  if (clientId === undefined) {
    if (!interactive) throw usageError('--client-id is required when plaidbal cannot prompt.', 'Example: plaidbal config init --env sandbox --client-id <id> --secret-stdin < secret.txt');
    clientId = await prompt.input('Plaid client_id:', { default: existing?.client_id, validate: (v) => (CLIENT_ID.test(v.trim()) ? true : 'Letters and digits, as shown in the Plaid dashboard (Team Settings → Keys).') });
  }
  clientId = clientId.trim();
  if (!CLIENT_ID.test(clientId)) throw usageError('That does not look like a Plaid client_id: 6 to 64 letters, digits, _ or -.', 'Copy it from the Plaid Dashboard (Developers, Keys).');

  let secret: string;
  if (opts.secretStdin) {
    secret = (await readSecretStdin(ctx.io.stdin)).replace(/\r?\n$/, '');
    if (!secret.trim()) throw usageError('--secret-stdin read an empty secret.', 'Pipe the secret in, e.g. `printf %s "$SECRET" | plaidbal config init ... --secret-stdin`.');
  } else if (interactive) {
    secret = await prompt.password(`Plaid ${environment} secret (hidden):`, { validate: (v) => (v.trim() ? true : 'Required.') });
  } else {
    throw usageError('The Plaid secret must come from stdin when plaidbal cannot prompt.', 'Add --secret-stdin and pipe the secret in. Never pass it as an argument: `ps` would show it.');
  }
  secret = secret.trim();
  if (/\s/.test(secret)) throw usageError('The secret contains whitespace; check what was piped in.');

  const clientName = opts.clientName ?? (interactive ? await prompt.input('Client name shown in Link:', { default: existing?.client_name ?? DEFAULT_CLIENT_NAME }) : existing?.client_name ?? DEFAULT_CLIENT_NAME);
  if (!clientName.trim() || clientName.length > 30) throw usageError('The client name must be 1 to 30 characters (Plaid shows it in Link).');
  const countryCodes = checkCountries(
    opts.countryCodes ??
      (interactive ? (await prompt.input('Country codes for Link (comma-separated):', { default: (existing?.country_codes ?? DEFAULT_COUNTRY_CODES).join(',') })).split(',').map((s) => s.trim()).filter(Boolean) : existing?.country_codes ?? DEFAULT_COUNTRY_CODES),
  );
  const language = checkLanguage(opts.language ?? (interactive ? await prompt.input('Link language:', { default: existing?.language ?? DEFAULT_LANGUAGE }) : existing?.language ?? DEFAULT_LANGUAGE));

  const currentKey = store.doc.key;
  if (currentKey && opts.keySource && opts.keySource !== currentKey.source) {
    throw configError(`The store already uses ${describeKeySource(currentKey)}.`, 'Changing the key source re-seals every secret; that is `plaidbal config rekey`.');
  }
  let keySource: 'keychain' | 'passphrase' | 'auto' = opts.keySource ?? 'auto';
  if (!currentKey && !opts.keySource && interactive) {
    const choice = await prompt.select('Protect the store with:', [
      { value: 'keychain', name: 'the OS keychain (recommended)', description: 'a random key kept by macOS Keychain, Windows Credential Manager or Secret Service' },
      { value: 'passphrase', name: 'a passphrase', description: 'asked for (or read from PLAIDBAL_PASSPHRASE) on every use' },
    ]);
    keySource = choice === 'keychain' ? 'auto' : 'passphrase';
  }

  const sealer = await store.sealerForWriting(keySource);
  const sealedSecret = sealer.seal(secret, aad.secret(environment));
  const doc = await store.update((d) => {
    d.profiles[environment] = { client_id: clientId, secret: sealedSecret, client_name: clientName.trim(), country_codes: countryCodes, language };
  });
  const e = ctx.io.err;
  ctx.info(`${e.green('✓')} Saved ${environment} credentials for client_id ${clientId} in ${store.path}`);
  ctx.info(`  Key source: ${describeKeySource(doc.key)}`);
  return 0;
}
