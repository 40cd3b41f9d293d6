/**
 * `plaidbal items import`: access tokens linked elsewhere (an application's backend, a secrets
 * manager) brought into the store, from stdin only.
 *
 * 1. The whole input is read and checked first (import-parse.ts): any problem exits 2, naming
 *    its lines, before any Plaid call or store write.
 * 2. Credentials, the store's key and a writable store are checked next (exit 3), still before
 *    any call.
 * 3. A token already in the store, for its item, is unchanged without a call. Every other token
 *    is verified with Plaid's free /item/get (item_id, institution, products, item error), and its
 *    institution's name comes from /institutions/get_by_id, once per institution. Both are paced
 *    to Plaid's documented limits (ratelimit.ts).
 * 4. Verified rows are written in batches, under the store lock, through the verified write
 *    (Store.update), every BATCH_ROWS rows or batchIntervalMs(), and at the end. Ctrl-C, SIGTERM or SIGHUP stops
 *    new calls and writes what was verified; running the same import again finishes the rest
 *    (rows already saved come out unchanged), so import is idempotent.
 *
 * Rows are named by line number and alias; no token is ever printed.
 */
import type { Ctx } from '../../context.js';
import { resolveEnvironment } from '../../credentials.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import type { PlaidClient } from '../../plaid/client.js';
import { isItemFailure, plaidErrorJson } from '../../plaid/errors.js';
import { fanOut, pacerFor, PLAID_LIMITS, preferSmallHeap, RateLimiter, realTimers, type Pacer } from '../../plaid/ratelimit.js';
import type { StoredItem, StoreDocument } from '../../store/document.js';
import { aad, type Sealer } from '../../store/seal.js';
import { StoreWriteError, type Store } from '../../store/store.js';
import type { Environment, PlaidErrorJson } from '../../types.js';
import { aliasBase } from '../link/save.js';
import { progress } from '../progress.js';
import type { ItemsImportOptions } from './index.js';
import { importJson, importRowJson, importSummary, importSummaryLine, importTable, type ImportDocument, type ImportRowJson } from './import-format.js';
import { assertStdinNotTerminal, inputError, readImportInput, type ImportRow, type InputProblem } from './import-parse.js';
import { escapeControls } from '../../text.js';

/** A batch is written after this many verified rows, or batchIntervalMs() after the last write, whichever comes first. */
export const BATCH_ROWS = 500;
export const BATCH_MS = 2_000;
/** What each stored item adds to the interval between timed writes. */
export const BATCH_MS_PER_STORED_ITEM = 2;

/**
 * How long verified rows may wait before a timed write: BATCH_MS, longer as the store grows.
 * Every write re-reads, checks and rewrites the whole store (and its backup), so writes at a
 * fixed interval make an import's write work, and the garbage it leaves, grow with the square
 * of the store; an interval in proportion to the store keeps writing a steady share of the run.
 * At 10,000 items it is 20 s: rows verified since are written at the end, on Ctrl-C, SIGTERM or SIGHUP
 * too, and only a crash loses them, at no cost (/item/get is free; the same import redoes them).
 */
export const batchIntervalMs = (storedItems: number): number => Math.max(BATCH_MS, storedItems * BATCH_MS_PER_STORED_ITEM);

/** What /item/get said about a row's token. */
interface Verified {
  row: ImportRow;
  itemId: string;
  institutionId: string | null;
  institutionName: string | null;
  products: string[];
  itemError: string | null;
  /** When Plaid created the item (/item/get's item.created_at), or null when it did not say. */
  createdAt: string | null;
}

/** An ISO-8601 time Plaid sent, normalised (toISOString), or null when absent or not a time. */
function plaidTime(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** A row plaidbal itself refuses, with the error object Plaid's refusals have (plaidErrorJson). */
const ownError = (code: string, message: string): PlaidErrorJson => plaidErrorJson({ error_type: 'PLAIDBAL_ERROR', error_code: code, error_message: message });

export async function runItemsImport(ctx: Ctx, opts: ItemsImportOptions): Promise<number> {
  const format = opts.format ?? 'token';
  if (opts.name !== undefined && format !== 'token') throw usageError(`--name is for one token (--format token); with --format ${format}, give each row its name in the input.`);
  const flagEnv = opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined;
  assertStdinNotTerminal(ctx.io.stdin, 'plaidbal items import', `printf '%s' "$TOKEN" | plaidbal items import --name acme-42, or plaidbal items import --format ndjson < tokens.ndjson`);

  // A batch command that reads and checks all of its input before its fan-out: V8 is tuned for
  // memory from the start (a one-token import is not made slower by it: it waits on Plaid).
  preferSmallHeap();

  // 1. The whole input, checked.
  const rows = await readImportInput(ctx.io.stdin, { format, name: opts.name, environment: flagEnv });
  const environment = rows[0]!.environment;

  // The call budget for /item/get (--rate above Plaid's limit is exit 2, before anything else).
  const pacer = pacerFor('itemGet', environment, { rate: opts.rate, concurrency: opts.concurrency });

  // 2. Credentials, key, disk: every failure here costs nothing at Plaid and leaves the store as it was.
  const store = await ctx.store();
  const plaid = await ctx.plaid(environment);
  const sealer = await store.sealerForWriting();
  store.assertWritable('Nothing was imported');

  // A token already stored is that item's: unchanged, without a call.
  const byToken = new Map<string, StoredItem>();
  for (const item of store.items(environment)) {
    byToken.set(await store.open(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`), item);
  }
  const itemIds = new Set(store.items().map((i) => i.item_id));
  const problems: InputProblem[] = rows.filter((r) => r.name !== null && itemIds.has(r.name)).map((r) => ({ line: r.line, what: `the name "${r.name}" is a stored item's item_id, and cannot be an alias` }));
  if (problems.length) throw inputError({ list: problems, count: problems.length }, format);

  const results: ImportRowJson[] = [];
  const toVerify: ImportRow[] = [];
  for (const row of rows) {
    const known = byToken.get(row.token);
    if (known) results.push(unchangedRow(row, known));
    else toVerify.push(row);
  }

  // 3 and 4: verify, and write in batches.
  const stop = new AbortController();
  // Ctrl-C, SIGTERM and SIGHUP all abort ctx.signal (src/cli.ts main).
  const onAbort = () => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const writer = new BatchWriter(ctx, store, sealer, environment, results);
  let fatal: CliError | null = null;
  const bar = progress(ctx, 'Verifying tokens', toVerify.length, { rate: () => pacer.observedRate() });
  try {
    const verify = verifier(ctx, plaid, environment, stop.signal, pacer);
    // As many calls in flight as the budget and Plaid's latency need (ratelimit.ts, fanOut).
    await fanOut(
      toVerify.length,
      async (n) => {
          const row = toVerify[n]!;
          if (stop.signal.aborted) return;
          try {
            const verified = await verify(row);
            if (verified === null) return; // stopped before or during its call: left for the re-run
            writer.add(verified);
          } catch (error) {
            if (stop.signal.aborted && !(error instanceof CliError && error.plaid)) return;
            // Credential errors, and anything that is not about this token, stop the run; what was
            // verified so far is still written below.
            if (!isItemFailure(error)) {
              fatal ??= asCliError(error);
              stop.abort();
              // The rows waiting for a pacing slot are not sent either.
              pacer.halt();
              return;
            }
            results.push(failedRow(row, plaidErrorJson(error)));
            bar.tick(true);
            return;
          }
          bar.tick();
          if (writer.due()) await writer.flush().catch((error: unknown) => {
            fatal ??= asCliError(error);
            stop.abort();
            pacer.halt();
          });
      },
      { pacer },
    );
  } finally {
    bar.clear();
    ctx.signal.removeEventListener('abort', onAbort);
  }
  // Whatever was verified is written, interrupted or not: a verified token is never dropped.
  try {
    await writer.flush();
  } catch (error) {
    fatal ??= asCliError(error);
  }

  const saved = writer.savedCount;
  const left = rows.length - results.length;
  if (fatal) {
    // Plaid's own messages may end without a full stop ("...secret provided"): the note is a sentence of its own.
    // A write that failed changed nothing, but other writes of this import may have saved rows: the
    // note says so, rather than "left exactly as it was" followed by "N rows were saved".
    const otherWrites = fatal instanceof StoreWriteError && !fatal.committed && saved > 0;
    throw new CliError(`${fatal.message.replace(/([^.!?])\s*$/, '$1.')}${stoppedNote(saved, left, otherWrites)}`, { exitCode: fatal.exitCode === ExitCode.OK ? ExitCode.CONFIG : fatal.exitCode, hint: fatal.hint, plaid: fatal.plaid });
  }
  if (stop.signal.aborted && results.length < rows.length) {
    throw new CliError(`Interrupted.${stoppedNote(saved, left)}`, { exitCode: ExitCode.INTERRUPTED });
  }

  const doc: ImportDocument = { environment, imported_at: ctx.now().toISOString(), summary: { imported: 0, updated: 0, unchanged: 0, failed: 0 }, rows: results.sort((a, b) => a.line - b.line) };
  doc.summary = importSummary(doc.rows);
  ctx.io.stdout.write(opts.json ? importJson(doc) : importTable(doc, ctx.io.out));
  const line = importSummaryLine(doc);
  ctx.info(doc.summary.failed ? ctx.io.err.red(line) : line);
  return doc.summary.failed ? ExitCode.PARTIAL_FAILURE : ExitCode.OK;
}

function stoppedNote(saved: number, left: number, byOtherWrites = false): string {
  const rows = `${saved} row${saved === 1 ? '' : 's'}`;
  const savedPart = byOtherWrites ? `That write changed nothing, but this import's other writes saved ${rows} in the store` : `${rows} ${saved === 1 ? 'was' : 'were'} saved in the store before it stopped`;
  return ` ${savedPart}; ${left} ${left === 1 ? 'was' : 'were'} not imported. Run the same import again to finish: rows already saved come out unchanged.`;
}

function asCliError(error: unknown): CliError {
  return error instanceof CliError ? error : new CliError(`Unexpected error: ${error instanceof Error ? error.message : String(error)}`, { exitCode: ExitCode.UNEXPECTED });
}

function unchangedRow(row: ImportRow, item: StoredItem): ImportRowJson {
  return {
    line: row.line,
    alias: item.alias,
    item_id: item.item_id,
    institution_id: item.institution_id,
    institution_name: item.institution_name,
    status: 'unchanged',
    item_error: null,
    message: row.name !== null && row.name !== item.alias ? aliasKeptNote(item.alias, row.name) : null,
    error: null,
  };
}

function failedRow(row: ImportRow, error: PlaidErrorJson, verified?: Verified): ImportRowJson {
  return {
    line: row.line,
    alias: row.name,
    item_id: verified?.itemId ?? null,
    institution_id: verified?.institutionId ?? null,
    institution_name: verified?.institutionName ?? null,
    status: 'failed',
    item_error: null,
    message: null,
    error,
  };
}

const aliasKeptNote = (kept: string, asked: string) => `already stored as "${kept}"; kept that alias (the input names it "${asked}"; rename with plaidbal items rename ${kept} ${asked})`;

/** Verifies one row's token: /item/get, then the institution's name (once per institution). Null when stopped first. */
function verifier(ctx: Ctx, plaid: PlaidClient, environment: Environment, signal: AbortSignal, pacer: Pacer) {
  const institutionLimiter = new RateLimiter(PLAID_LIMITS.institutionsGetById[environment], realTimers);
  const names = new Map<string, Promise<string | null>>();
  let warned = false;
  const institutionName = (id: string) => {
    let name = names.get(id);
    if (!name) {
      name = (async () => {
        try {
          await institutionLimiter.acquire('institutions', signal);
          const answer = await plaid.call('institutionsGetById', { institution_id: id, country_codes: plaid.profile.countryCodes as never });
          return answer.institution.name;
        } catch (error) {
          if (signal.aborted) return null;
          if (!warned) ctx.info(ctx.io.err.yellow(`! Could not look up the name of institution ${escapeControls(id)} (${error instanceof Error ? escapeControls(error.message) : 'error'}); importing without it.`));
          warned = true;
          return null;
        }
      })();
      names.set(id, name);
    }
    return name;
  };

  return async (row: ImportRow): Promise<Verified | null> => {
    if (signal.aborted) return null;
    // Each row is its own item as far as pacing knows (its item_id is what /item/get tells).
    const answer = await plaid.call('itemGet', { access_token: row.token }, { secrets: [row.token], item: row.name ?? `line ${row.line}`, pace: pacer.gate(`line:${row.line}`) });
    const item = answer.item;
    const institutionId = item.institution_id ?? null;
    return {
      row,
      itemId: item.item_id,
      institutionId,
      institutionName: institutionId ? await institutionName(institutionId) : null,
      products: (item.products ?? []).map(String),
      itemError: item.error?.error_code ?? null,
      createdAt: plaidTime((item as { created_at?: unknown }).created_at),
    };
  };
}

/**
 * Writes verified rows into the store in batches, each one read-modify-write under the store lock
 * (Store.update). A row's status is decided inside the write, against the store as it is on disk,
 * and reported only once that write succeeded: nothing is claimed before it is saved.
 */
class BatchWriter {
  private pending: Verified[] = [];
  private lastWrite = Date.now();
  /** Items in the store as of the last write: what the next one rewrites. */
  private storedItems: number;
  private chain: Promise<void> = Promise.resolve();
  savedCount = 0;

  constructor(
    private readonly ctx: Ctx,
    private readonly store: Store,
    private readonly sealer: Sealer,
    private readonly environment: Environment,
    private readonly results: ImportRowJson[],
  ) {
    this.storedItems = store.items().length;
  }

  add(verified: Verified): void {
    this.pending.push(verified);
  }

  due(): boolean {
    return this.pending.length >= BATCH_ROWS || (this.pending.length > 0 && Date.now() - this.lastWrite >= batchIntervalMs(this.storedItems));
  }

  /** Writes what is pending; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    const run = this.chain.then(() => this.write());
    this.chain = run.catch(() => {});
    return run;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let decided: ImportRowJson[] = [];
    try {
      await this.store.update((doc) => {
        const index = new BatchIndex(doc, this.environment);
        decided = batch.map((v) => this.apply(doc, index, v));
        this.storedItems = doc.items.length;
      });
    } catch (error) {
      // In the store, though the disk did not confirm it (the error says so, and stops the run):
      // its rows count as saved. Kept pending, a retry would find them stored and call them
      // unchanged, and the message would count them as neither saved nor imported.
      if (error instanceof StoreWriteError && error.committed) this.record(decided);
      // Not written: keep the rows pending, so the error message counts them as not imported.
      else this.pending = batch.concat(this.pending);
      throw error;
    }
    this.lastWrite = Date.now();
    this.record(decided);
  }

  private record(decided: ImportRowJson[]): void {
    for (const row of decided) {
      this.results.push(importRowJson(row));
      if (row.status === 'imported' || row.status === 'updated') this.savedCount += 1;
    }
  }

  /** One verified row applied to the document about to be written; returns its row of output. */
  private apply(doc: StoreDocument, index: BatchIndex, v: Verified): ImportRowJson {
    const { row } = v;
    const base = { line: row.line, item_id: v.itemId, institution_id: v.institutionId, institution_name: v.institutionName };
    const env = this.environment;
    const fix = (alias: string) => (v.itemError ? `Plaid reports ${v.itemError} on this item: plaidbal items status ${alias}; plaidbal link --update ${alias} fixes an ITEM_ERROR such as ITEM_LOGIN_REQUIRED.` : null);
    const existing = index.byItemId.get(v.itemId);
    if (existing) {
      if (existing.environment !== env) return failedRow(row, ownError('ENVIRONMENT_MISMATCH', `item ${v.itemId} is stored as a ${existing.environment} item`), v);
      let same = false;
      try {
        same = this.sealer.open(existing.access_token, aad.accessToken(env, existing.item_id)) === row.token;
      } catch {
        same = false; // a stored token that does not open is replaced by the verified one
      }
      const notes = [row.name !== null && row.name !== existing.alias ? aliasKeptNote(existing.alias, row.name) : null, fix(existing.alias)];
      if (same) return { ...base, alias: existing.alias, status: 'unchanged', item_error: v.itemError, message: notes.filter(Boolean).join(' ') || null, error: null };
      existing.access_token = this.sealer.seal(row.token, aad.accessToken(env, existing.item_id));
      const replaced = 'the stored access token was replaced by this one (rotated elsewhere?); the old one is no longer used';
      return { ...base, alias: existing.alias, status: 'updated', item_error: v.itemError, message: [replaced, ...notes].filter(Boolean).join('; '), error: null };
    }
    const holder = row.name !== null ? index.aliasHolder.get(row.name) : undefined;
    if (row.name !== null && holder) {
      return failedRow(
        row,
        ownError('ALIAS_TAKEN', `the name "${row.name}" is already the alias of another item (${holder.item_id}); this token is item ${v.itemId}. Give the row another name, or none.`),
        v,
      );
    }
    if (row.name !== null && index.byItemId.has(row.name)) return failedRow(row, ownError('ALIAS_TAKEN', `the name "${row.name}" is a stored item's item_id`), v);
    const alias = row.name ?? index.freshAlias(v.institutionName);
    const item: StoredItem = {
      item_id: v.itemId,
      alias,
      environment: env,
      institution_id: v.institutionId,
      institution_name: v.institutionName,
      products: v.products,
      // When Plaid created it, so that the Sandbox's 30-day expiry hint counts from the right day;
      // the import's own time when Plaid does not say.
      linked_at: v.createdAt ?? this.ctx.now().toISOString(),
      last_balance_at: null,
      access_token: this.sealer.seal(row.token, aad.accessToken(env, v.itemId)),
    };
    doc.items.push(item);
    index.add(item);
    return { ...base, alias, status: 'imported', item_error: v.itemError, message: fix(alias), error: null };
  }
}

/**
 * The store document of one batch, indexed once: a row is applied in constant time, where a scan
 * of every stored item per row made a 10,000-token import quadratic in time and in garbage
 * (docs/benchmarks.md, "Figures behind the code"). Kept in step with the document as rows are added.
 */
export class BatchIndex {
  readonly byItemId = new Map<string, StoredItem>();
  /** Aliases are unique within an environment (document.ts). */
  readonly aliasHolder = new Map<string, StoredItem>();
  /** For each default alias base, the lowest suffix that may still be free (aliases only get added). */
  private readonly nextSuffix = new Map<string, number>();

  constructor(
    doc: StoreDocument,
    private readonly environment: Environment,
  ) {
    for (const item of doc.items) this.add(item);
  }

  add(item: StoredItem): void {
    this.byItemId.set(item.item_id, item);
    if (item.environment === this.environment) this.aliasHolder.set(item.alias, item);
  }

  /** The alias defaultAlias() would choose, without trying every taken suffix again for each row. */
  freshAlias(institutionName: string | null): string {
    const base = aliasBase(institutionName);
    if (!this.aliasHolder.has(base)) return base;
    for (let n = this.nextSuffix.get(base) ?? 2; ; n++) {
      const alias = `${base}-${n}`;
      if (!this.aliasHolder.has(alias)) {
        this.nextSuffix.set(base, n); // taken once the row is added; the next search starts here
        return alias;
      }
    }
  }
}
