import type { Ctx } from '../../context.js';
import { envCredentialsEnvironment } from '../../credentials.js';
import { describeKeySource } from '../../store/keys.js';
import { ENVIRONMENTS } from '../../types.js';
import { withoutUserinfo } from '../../text.js';
import type { ConfigShowOptions } from './index.js';

export async function runConfigShow(ctx: Ctx, opts: ConfigShowOptions): Promise<number> {
  const store = await ctx.store();
  const doc = store.doc;
  const envCreds = envCredentialsEnvironment(ctx.env);
  const profiles = ENVIRONMENTS.map((environment) => {
    const p = doc.profiles[environment];
    const fromEnv = envCreds === environment;
    const secret = fromEnv && ctx.env.PLAID_SECRET ? 'PLAID_SECRET' : p?.secret ? 'store (sealed)' : null;
    return {
      environment,
      client_id: (fromEnv && ctx.env.PLAID_CLIENT_ID) || p?.client_id || null,
      client_id_source: fromEnv && ctx.env.PLAID_CLIENT_ID ? 'PLAID_CLIENT_ID' : p ? 'store' : null,
      secret: secret ? '[redacted]' : null,
      secret_source: secret,
      client_name: p?.client_name ?? null,
      country_codes: p?.country_codes ?? null,
      language: p?.language ?? null,
      items: doc.items.filter((i) => i.environment === environment).length,
    };
  });
  const summary = {
    store_path: store.path,
    store_exists: store.exists,
    key_source: doc.key?.source ?? null,
    key_source_detail: describeKeySource(doc.key),
    default_environment: envCreds,
    base_url: ctx.env.PLAIDBAL_BASE_URL ? withoutUserinfo(ctx.env.PLAIDBAL_BASE_URL) : null,
    profiles,
  };
  if (opts.json) {
    ctx.io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }
  const o = ctx.io.out;
  const lines = [
    `${o.bold('Store:')}       ${store.path}${store.exists ? '' : o.dim(' (not created yet)')}`,
    `${o.bold('Key source:')}  ${summary.key_source_detail}`,
    `${o.bold('Environment:')} ${summary.default_environment}${ctx.env.PLAID_ENV ? o.dim(' (PLAID_ENV)') : o.dim(' (default)')}`,
  ];
  if (summary.base_url) lines.push(`${o.bold('Base URL:')}    ${summary.base_url} ${o.dim('(PLAIDBAL_BASE_URL)')}`);
  for (const p of profiles) {
    lines.push('', o.bold(p.environment));
    if (!p.client_id && !p.secret) {
      lines.push(`  ${o.dim('no credentials')} — run \`plaidbal config init --env ${p.environment}\``);
    } else {
      lines.push(`  client_id:     ${p.client_id ?? '—'}${p.client_id_source ? o.dim(` (${p.client_id_source})`) : ''}`);
      lines.push(`  secret:        ${p.secret ? `${p.secret} ${o.dim(`(${p.secret_source})`)}` : '—'}`);
    }
    if (p.client_name) lines.push(`  client name:   ${p.client_name}`, `  country codes: ${p.country_codes?.join(', ')}`, `  language:      ${p.language}`);
    lines.push(`  items:         ${p.items}`);
  }
  ctx.io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
