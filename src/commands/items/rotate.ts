/**
 * `plaidbal items rotate`: a new access token for an item through /item/access_token/invalidate.
 *
 * Plaid "returns a new access_token and immediately invalidates the previous access_token"
 * (plaid-openapi 2020-09-14.yml, /item/access_token/invalidate; plaid.com/docs/api/items/
 * #itemaccess_tokeninvalidate). From the moment Plaid acts, the store's token is dead and the
 * new one exists only in this process, so:
 *
 * 1. Before the call: the store's key is unlocked and the store checked writable (nothing
 *    happens at Plaid when either fails), and the store lock is taken (Store.update), so no
 *    other plaidbal process writes in between.
 * 2. The call is made once: never retried (a retry after a lost answer sends a dead token and
 *    gets INVALID_ACCESS_TOKEN) and not aborted by Ctrl-C.
 * 3. Plaid's answer is sealed at once and written, still under the lock, through the verified
 *    writer (write.ts).
 * 4. When that write fails, the sealed new token goes to a recovery file (recovery.ts), still
 *    under the lock (so a `config rekey` waiting for it finds the file), and the message says how
 *    to finish: `plaidbal items rotate --recover`.
 *
 * The one window left: from the moment Plaid acts until the store (or the recovery file) is on
 * disk, a crash, a kill -9, a power cut or a lost answer loses the new token. That is one
 * network round trip plus a few milliseconds of sealing and writing.
 */
import type { Ctx } from '../../context.js';
import { enterCritical } from '../../critical.js';
import { resolveEnvironment } from '../../credentials.js';
import { CliError, ExitCode, configError, usageError } from '../../errors.js';
import { whyNoPrompt } from '../../io.js';
import { isItemFailure, plaidErrorJson } from '../../plaid/errors.js';
import { pacerFor } from '../../plaid/ratelimit.js';
import type { StoredItem } from '../../store/document.js';
import { aad } from '../../store/seal.js';
import { StoreWriteError, type Store } from '../../store/store.js';
import type { Environment } from '../../types.js';
import { cappedList, errorText, escapeControls } from '../../text.js';
import { pickItems } from '../pick.js';
import { progress } from '../progress.js';
import type { ItemsRotateOptions } from './index.js';
import { findRecoveries, pendingRecoveryFor, readRecovery, recoveryRecord, removeRecovery, writeRecovery, type RecoveryRecord } from './recovery.js';
import { rotateJson, rotateTable, type RotateDocument, type RotateResult } from './rotate-format.js';

const finishCommand = 'plaidbal items rotate --recover';

/**
 * The rotation call got no usable answer (a timeout, a dropped connection, a 5xx): Plaid may have
 * rotated the token, whose new value never arrived, or done nothing. Only asking Plaid about the
 * stored token tells which; plaidbal never retries the call (a retry would send a token that may
 * already be dead).
 */
/** The item was removed (by another plaidbal process) before its turn: nothing was asked of Plaid. */
class RemovedMeanwhile extends CliError {
  constructor(item: StoredItem) {
    super(`"${item.alias}" was removed by another plaidbal process. Nothing was rotated.`, { exitCode: ExitCode.USAGE });
  }
}

/** An earlier rotation of the item waits in a recovery file (`file`), so its stored token is dead: not rotated again. */
class UnfinishedRotation extends CliError {
  constructor(
    item: { alias: string },
    readonly file: string,
  ) {
    super(`An earlier rotation of "${item.alias}" is not finished: its new token is in ${file}. Nothing was rotated.`, { exitCode: ExitCode.USAGE, hint: `Finish it first with: ${finishCommand}` });
  }
}

class RotationUncertain extends CliError {
  constructor(
    readonly item: StoredItem,
    cause: CliError,
  ) {
    super(
      `Plaid's answer to the rotation of "${item.alias}" was lost (${cause.message.replace(/\.$/, '')}). Plaid may have rotated the access token, in which case the new one never reached plaidbal and the stored one no longer works; or it did nothing. plaidbal did not retry: a retry would send a token that may already be dead.`,
      {
        exitCode: ExitCode.PLAID_FAILURE,
        plaid: cause.plaid,
        hint: `Check with: plaidbal items status ${item.alias}. If that works, nothing changed: rotate again. If it fails with INVALID_ACCESS_TOKEN, the rotation went through: link the institution again, then delete this copy with: plaidbal items remove --local ${item.alias} --yes.`,
      },
    );
  }
}

/** A rotation that Plaid made but the store did not take: the error says what is kept where, and how to finish. */
class RotationNotSaved extends CliError {
  constructor(
    readonly item: StoredItem,
    readonly recoveryFile: string | null,
    readonly requestId: string,
    cause: CliError | Error,
    failures: string[] = [],
  ) {
    const why = cause instanceof CliError ? cause.message : `Unexpected error: ${cause.message}`;
    const hint = cause instanceof CliError && cause.hint ? `${cause.hint} ` : '';
    super(
      recoveryFile
        ? `Plaid rotated the access token of "${item.alias}" (its old token no longer works), but the store could not be saved. ${why} The new token is kept, sealed, in ${recoveryFile}.`
        : `Plaid rotated the access token of "${item.alias}" (its old token no longer works), but neither the store nor a recovery file could be saved, so the new token is lost. ${why} (${failures.join('; ')})`,
      {
        exitCode: ExitCode.CONFIG,
        hint: recoveryFile
          ? `${hint}Then finish with: ${finishCommand} (it finds the file, saves the token in the store and deletes the file). Do not delete the file yourself: it holds the only copy of the item's token.`
          : `The item cannot be used any more: link the institution again (plaidbal link), then delete this copy with: plaidbal items remove --local ${item.alias} --yes. ` +
            `The item itself stays at Plaid (and billed, for subscription products) until removed there: ask Plaid support, quoting item_id ${item.item_id} and request_id ${requestId}.`,
      },
    );
  }
}

export async function runItemsRotate(ctx: Ctx, ref: string | undefined, opts: ItemsRotateOptions): Promise<number> {
  if (opts.recover !== undefined) {
    if (ref !== undefined || opts.all) throw usageError('--recover finishes earlier rotations; use it without an item or --all.');
    return recover(ctx, typeof opts.recover === 'string' ? opts.recover : null);
  }
  const store = await ctx.store();
  const environment = opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined;
  // A write: the item is always named (or --all passed), even when only one is linked.
  const items = pickItems(store, { refs: ref !== undefined ? [ref] : [], all: opts.all, env: environment, nameWith: 'plaidbal items rotate <item>', allowAll: true, onlyItemByDefault: false, oneEnvironment: true });
  const env = items[0]!.environment;
  // Rotations run one at a time (each is saved under the store's lock before the next), paced to the budget.
  const pacer = pacerFor('itemAccessTokenInvalidate', env, { rate: opts.rate, concurrency: 1 });

  // Checked for every item before anything is asked or sent, and again under the lock (below).
  for (const item of items) assertNoUnfinishedRotation(store, item);

  if (!opts.yes) {
    const what = items.length === 1 ? `the access token of "${items[0]!.alias}" (${escapeControls(items[0]!.institution_name ?? items[0]!.item_id)}, ${env})` : `the access tokens of ${items.length} ${env} items (${cappedList(items.map((i) => i.alias))})`;
    if (!ctx.io.canPrompt) throw usageError(`Rotating ${what} needs confirmation, and plaidbal cannot ask here (${whyNoPrompt(ctx.io)}).`, 'Pass --yes to confirm.');
    const ok = await ctx.prompt.confirm(`Rotate ${what}? Each old token stops working at once.`, { default: false });
    if (!ok) {
      ctx.info('Nothing was rotated.');
      // Declined, as `balance` and `link` exit when the user says no: a script can tell it from done.
      return ExitCode.LINK_CANCELLED;
    }
  }

  // Everything that can fail before Plaid acts fails here: the key, the credentials, the disk.
  const sealer = await store.unlock();
  store.assertWritable('Nothing was rotated at Plaid');
  const plaid = await ctx.plaid(env, { retries: 0 });

  const rotateOne = async (item: StoredItem): Promise<RotateResult> => {
    let made: { sealed: string; requestId: string } | null = null;
    /** The rotation call is on its way to Plaid and has not been answered. */
    let asking = false;
    // From the call until the new token is in the store or a recovery file, Ctrl-C waits (critical.ts).
    let leave = () => {};
    try {
      return await saveRotation();
    } finally {
      leave();
    }

    async function saveRotation(): Promise<RotateResult> {
      // The pacing slot is waited for before the lock and outside the critical section: a wait of
      // up to a minute must neither hold up every other plaidbal process nor defer Ctrl-C.
      const gate = opts.all ? pacer.gate(item.item_id) : undefined;
      if (gate) await gate.acquire(ctx.signal);
      /** The recovery file of a rotation whose store write failed, written before the lock was released. */
      let kept: ReturnType<typeof writeRecovery> | null = null;
      const keep = (rotated: { sealed: string; requestId: string }) => writeRecovery(store, recoveryRecord(store, item, rotated.sealed, rotated.requestId, ctx.now()));
      try {
        await store.update(async (doc) => {
          const target = doc.items.find((i) => i.item_id === item.item_id);
          if (!target) throw new RemovedMeanwhile(item);
          // Another process may have rotated it since the check above, its store write failing: the
          // stored token is then dead, and the new one is in a recovery file.
          assertNoUnfinishedRotation(store, target);
          const oldToken = await store.open(target.access_token, aad.accessToken(target.environment, target.item_id), `access token of "${target.alias}"`);
          // Stopped while waiting for the lock or unsealing: nothing has happened at Plaid yet.
          if (ctx.signal.aborted) throw ctx.signal.reason;
          leave = enterCritical(`saving the new access token of "${target.alias}" (Plaid has rotated it; stopping now would lose it)`);
          asking = true;
          // The slot is taken (above): the call only tells the pacer how it went.
          const pace = gate && { acquire: async () => {}, settle: gate.settle };
          const answer = await plaid.call('itemAccessTokenInvalidate', { access_token: oldToken }, { secrets: [oldToken], item: target.alias, uninterruptible: true, pace });
          asking = false;
          const fresh = (answer as { new_access_token?: unknown }).new_access_token;
          if (typeof fresh !== 'string' || fresh === '') {
            throw new CliError(`Plaid answered /item/access_token/invalidate for "${target.alias}" without a new access token (request_id ${answer.request_id}). The old token may no longer work.`, {
              exitCode: ExitCode.PLAID_FAILURE,
              hint: `Check with: plaidbal items status ${target.alias}. If Plaid no longer knows it, link the institution again.`,
            });
          }
          made = { sealed: sealer.seal(fresh, aad.accessToken(target.environment, target.item_id)), requestId: answer.request_id };
          target.access_token = made.sealed;
        }, {
          // Under the lock: a `config rekey` waiting for it then finds the file and refuses. Written
          // after the lock's release, a rekey in between would retire the key the file is sealed with.
          onFailure: () => {
            const rotated = made as { sealed: string; requestId: string } | null;
            if (rotated) kept = keep(rotated);
          },
        });
      } catch (error) {
        const rotated = made as { sealed: string; requestId: string } | null;
        if (!rotated) {
          // Plaid did nothing (or refused): the store is as it was.
          if (error instanceof CliError && error.plaid?.error_code === 'INVALID_ACCESS_TOKEN') {
            throw new CliError(error.message, {
              exitCode: error.exitCode,
              plaid: error.plaid,
              hint:
                `Plaid no longer knows the stored token of "${item.alias}": the item was removed at Plaid, or an earlier rotation was cut off after Plaid acted (a crash, or a lost answer), which loses its new token. ` +
                `Either way the item cannot be used: link the institution again, then delete this copy with: plaidbal items remove --local ${item.alias} --yes`,
            });
          }
          // Plaid answered with an error of the request's own (4xx, 429): it did nothing. Anything
          // else from the call itself leaves it open whether the token was rotated.
          const refused = error instanceof CliError && error.plaid?.status !== undefined && error.plaid.status < 500;
          if (asking && error instanceof CliError && !refused) throw new RotationUncertain(item, error);
          throw error;
        }
        const cause = error instanceof Error ? error : new Error(String(error));
        const written = (kept as ReturnType<typeof writeRecovery> | null) ?? keep(rotated);
        if (error instanceof StoreWriteError && error.committed) {
          // The new store is in place; only the disk's confirmation failed. The recovery file covers a crash.
          ctx.info(ctx.io.err.yellow(`! ${error.message}${written.path ? ` The new token is also kept in ${written.path}; \`${finishCommand}\` removes it once the store is safe.` : ''}`));
          return { item, result: 'rotated', requestId: rotated.requestId, error: null, message: null, recoveryFile: written.path };
        }
        throw new RotationNotSaved(item, written.path, rotated.requestId, cause, 'failures' in written ? written.failures : []);
      }
      return { item, result: 'rotated', requestId: (made as { requestId: string } | null)!.requestId, error: null, message: null, recoveryFile: null };
    }
  };

  if (!opts.all) {
    const result = await rotateOne(items[0]!);
    if (opts.json) ctx.io.stdout.write(rotateJson(rotateDocument(env, ctx, [result])));
    ctx.info(`${ctx.io.err.green('✓')} Rotated the access token of "${result.item.alias}": the old one no longer works at Plaid, the new one is sealed in the store.`);
    return ExitCode.OK;
  }

  const results: RotateResult[] = [];
  const bar = progress(ctx, 'Rotating', items.length, { rate: () => pacer.observedRate() });
  let stopped: string | null = null;
  /** Plaid refused the credentials (isItemFailure): the run's error, thrown once the results are printed. */
  let refused: CliError | null = null;
  try {
    for (const item of items) {
      if (stopped || ctx.signal.aborted) {
        results.push({ item, result: 'skipped', requestId: null, error: null, message: stopped ?? 'interrupted', recoveryFile: null });
        continue;
      }
      try {
        results.push(await rotateOne(item));
      } catch (error) {
        if (ctx.signal.aborted && error === ctx.signal.reason) {
          // Stopped before this item's call (waiting for its pacing slot, the lock or the key): nothing happened at Plaid.
          results.push({ item, result: 'skipped', requestId: null, error: null, message: 'interrupted', recoveryFile: null });
          continue;
        } else if (error instanceof RemovedMeanwhile) {
          // Gone from the store since the run began: nothing to rotate, and the others go on.
          results.push({ item, result: 'skipped', requestId: null, error: null, message: 'not attempted: removed by another plaidbal process meanwhile', recoveryFile: null });
        } else if (error instanceof UnfinishedRotation) {
          // Another process rotated it since the run began, and its store write failed: the others go on.
          results.push({ item, result: 'skipped', requestId: null, error: null, message: `not attempted: an earlier rotation is not finished (its new token is in ${error.file}; finish with: ${finishCommand})`, recoveryFile: error.file });
        } else if (error instanceof RotationNotSaved) {
          results.push({ item, result: error.recoveryFile ? 'recovery_file' : 'lost', requestId: error.requestId, error: null, message: error.message, recoveryFile: error.recoveryFile });
          // The store cannot be written: every further rotation would end the same way.
          stopped = 'not attempted: the store could not be saved';
        } else if (error instanceof RotationUncertain) {
          results.push({ item, result: 'unknown', requestId: error.plaid?.request_id ?? null, error: error.plaid ? plaidErrorJson(error) : null, message: error.message, recoveryFile: null });
        } else if (isItemFailure(error)) {
          results.push({ item, result: 'failed', requestId: error.plaid?.request_id ?? null, error: plaidErrorJson(error), message: error.message, recoveryFile: null });
        } else if (error instanceof CliError && error.plaid) {
          // INVALID_API_KEYS and the other credential errors say nothing about this item: every
          // further call would be refused the same way (as in balance --all).
          results.push({ item, result: 'failed', requestId: error.plaid.request_id ?? null, error: plaidErrorJson(error), message: error.message, recoveryFile: null });
          stopped = `not attempted: Plaid refused the credentials (${error.plaid.error_code})`;
          refused = error;
        } else if (error instanceof CliError && error.exitCode === ExitCode.CONFIG) {
          results.push({ item, result: 'failed', requestId: null, error: null, message: error.message, recoveryFile: null });
          stopped = 'not attempted: the store could not be used';
        } else {
          throw error;
        }
      }
      bar.tick(results.at(-1)!.result !== 'rotated');
    }
  } finally {
    bar.clear();
  }

  ctx.io.stdout.write(opts.json ? rotateJson(rotateDocument(env, ctx, results)) : await rotateTable(results, ctx.io.out));
  const failed = results.filter((r) => r.result !== 'rotated');
  for (const r of failed) if (r.result === 'recovery_file') ctx.info(`${ctx.io.err.yellow('!')} ${r.message}\n  Finish with: ${finishCommand}`);
  if (failed.length === 0) {
    ctx.info(`${ctx.io.err.green('✓')} Rotated ${results.length} access token${results.length === 1 ? '' : 's'}.`);
    return ExitCode.OK;
  }
  ctx.info(ctx.io.err.red(`${failed.length} of ${results.length} items were not rotated.`));
  if (refused) throw refused;
  return ExitCode.PARTIAL_FAILURE;
}

function rotateDocument(environment: Environment, ctx: Ctx, results: RotateResult[]): RotateDocument {
  return { environment, rotated_at: ctx.now().toISOString(), results };
}

/** Refuses to rotate an item whose earlier rotation waits in a recovery file: its stored token is dead. */
function assertNoUnfinishedRotation(store: Store, item: { item_id: string; alias: string }): void {
  const pending = pendingRecoveryFor(store, item.item_id);
  if (pending) throw new UnfinishedRotation(item, pending);
}

/** A recovery file --recover cannot finish (unreadable, another store's, sealed before a rekey, its item gone): the others still can. */
class UnfinishableFile extends CliError {
  constructor(error: CliError) {
    super(error.message, { exitCode: error.exitCode, hint: error.hint });
  }
}

/** Puts the sealed tokens of recovery files into the store, then deletes the files. */
async function recover(ctx: Ctx, file: string | null): Promise<number> {
  const store = await ctx.store();
  const files = file ? [file] : findRecoveries(store);
  if (files.length === 0) {
    ctx.info('No unfinished rotation: there is no recovery file of this store.');
    return ExitCode.OK;
  }
  let finished = 0;
  /** Files that cannot be finished: said at the end, so that they do not hold up the others. */
  const left: CliError[] = [];
  for (const path of files) {
    try {
      await finishOne(path);
      finished += 1;
    } catch (error) {
      // Named on the command line, a file's problem is the command's; found, it holds up no other file.
      if (file !== null || !(error instanceof UnfinishableFile)) throw error;
      left.push(error);
    }
  }
  if (left.length === 0) return ExitCode.OK;
  for (const error of left) ctx.info(errorText(ctx.io.err, error));
  throw configError(`${left.length} of ${files.length} recovery files could not be finished (above)${finished ? `; ${finished} other ${finished === 1 ? 'file was' : 'files were'}` : ''}.`);

  async function finishOne(path: string): Promise<void> {
    let record: RecoveryRecord;
    try {
      record = readRecovery(path);
    } catch (error) {
      throw error instanceof CliError ? new UnfinishableFile(error) : error;
    }
    if (record.store_id !== store.meta.store_id) {
      throw new UnfinishableFile(configError(`${path} belongs to another store (${record.store_path}). Nothing was changed.`, `Point PLAIDBAL_CONFIG_DIR at that store's directory and run ${finishCommand} again.`));
    }
    if (record.key_check !== store.meta.key?.check) {
      throw new UnfinishableFile(
        configError(
          `${path} was sealed with a key this store no longer has (it was re-keyed since). Nothing was changed.`,
          `The key that sealed it is gone with the rekey, so the token in it cannot be opened: link the institution again, then delete this copy with: plaidbal items remove --local ${record.alias} --yes (and then the file).`,
        ),
      );
    }
    const bound = aad.accessToken(record.environment, record.item_id);
    // Proves the file was sealed for this item with this store's key before it goes in.
    await store.open(record.access_token, bound, `access token in ${path}`);
    await store.update((doc) => {
      const target = doc.items.find((i) => i.item_id === record.item_id && i.environment === record.environment);
      if (!target) throw new UnfinishableFile(usageError(`The item of ${path} ("${record.alias}", ${record.item_id}) is no longer in the store. Nothing was changed.`, 'Keep the file if you mean to restore the item from a backup.'));
      target.access_token = record.access_token;
    });
    removeRecovery(path);
    ctx.info(`${ctx.io.err.green('✓')} Finished the rotation of "${record.alias}": its new token is in the store, and ${path} was deleted.`);
  }
}
