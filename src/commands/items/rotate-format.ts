/**
 * Output of `plaidbal items rotate`: per-item results as a table or one JSON document. Pure:
 * data in, string out. Never a token, sealed or not: only what happened, and where a recovery
 * file is.
 */
import type { ChalkInstance } from 'chalk';
import type { StoredItem } from '../../store/document.js';
import type { Environment, PlaidErrorJson } from '../../types.js';
import { escapeControlsDeep } from '../../text.js';

/**
 * rotated: the new token is in the store. failed: Plaid refused or the call failed (the old
 * token still works). recovery_file: Plaid rotated, the store could not be saved, the new token
 * is in `recovery_file`. lost: neither could be saved. skipped: not attempted.
 */
export type RotateOutcome = 'rotated' | 'failed' | 'unknown' | 'recovery_file' | 'lost' | 'skipped';

export interface RotateResult {
  item: StoredItem;
  result: RotateOutcome;
  requestId: string | null;
  error: PlaidErrorJson | null;
  message: string | null;
  recoveryFile: string | null;
}

export interface RotateDocument {
  environment: Environment;
  rotated_at: string;
  results: RotateResult[];
}

export function rotateJson(doc: RotateDocument): string {
  return `${JSON.stringify(
    {
      environment: doc.environment,
      rotated_at: doc.rotated_at,
      items: doc.results.map((r) => ({
        item_id: r.item.item_id,
        name: r.item.alias,
        institution_name: r.item.institution_name,
        result: r.result,
        request_id: r.requestId,
        error: r.error,
        message: r.message,
        recovery_file: r.recoveryFile,
      })),
    },
    null,
    2,
  )}\n`;
}

const WORDS: Record<RotateOutcome, string> = {
  rotated: 'rotated',
  failed: 'failed: old token still works',
  unknown: 'answer lost: check with items status',
  recovery_file: 'rotated, NOT SAVED: see the recovery file',
  lost: 'rotated, new token LOST',
  skipped: 'skipped',
};

export async function rotateTable(shown: RotateResult[], chalk: ChalkInstance): Promise<string> {
  // Loaded here, not at the top, so that --json does not load cli-table3.
  const { plainTable } = await import('../../format/table.js');
  // Institutions, Plaid's error codes, request_ids and messages that quote Plaid: never raw to a terminal.
  const results = escapeControlsDeep(shown);
  const table = plainTable(['Item', 'Institution', 'Result', 'Detail'], chalk);
  for (const r of results) {
    const colour = r.result === 'rotated' ? chalk.green : r.result === 'skipped' ? chalk.dim : chalk.red;
    const detail = r.result === 'failed' || r.result === 'unknown' ? (r.error ? `${r.error.error_code}${r.requestId ? ` (request_id ${r.requestId})` : ''}` : (r.message ?? '')) : r.result === 'recovery_file' ? (r.recoveryFile ?? '') : r.result === 'skipped' ? (r.message ?? '') : (r.requestId ? `request_id ${r.requestId}` : '');
    table.push([chalk.bold(r.item.alias), r.item.institution_name ?? r.item.institution_id ?? '—', colour(WORDS[r.result]), detail]);
  }
  return `${table.toString()}\n`;
}
