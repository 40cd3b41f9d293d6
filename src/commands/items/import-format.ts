/**
 * Output of `plaidbal items import`: one row per input row, named by its line number and alias,
 * never by its token. Pure: data in, string out.
 */
import { plainTable } from '../../format/table.js';
import type { ChalkInstance } from 'chalk';
import type { Environment, PlaidErrorJson } from '../../types.js';
import { escapeControlsDeep } from '../../text.js';

export type ImportStatus = 'imported' | 'updated' | 'unchanged' | 'failed';

/** One row of `plaidbal items import --json`. Key order is part of the contract. */
export interface ImportRowJson {
  line: number;
  /** The alias the item has in the store, or the one asked for when the row failed (null when none was). */
  alias: string | null;
  item_id: string | null;
  institution_id: string | null;
  institution_name: string | null;
  status: ImportStatus;
  /** Plaid's error_code on the item itself (item.error of /item/get, e.g. ITEM_LOGIN_REQUIRED), for an item imported anyway. */
  item_error: string | null;
  /** What else is worth knowing about the row (a replaced token, a kept alias, the fix for item_error). */
  message: string | null;
  /** Why the row failed: Plaid's error object, or plaidbal's own (PLAIDBAL_…). */
  error: PlaidErrorJson | null;
}

/** A row with its keys in the documented order, whatever order its fields were gathered in. */
export function importRowJson(row: ImportRowJson): ImportRowJson {
  const { line, alias, item_id, institution_id, institution_name, status, item_error, message, error } = row;
  return { line, alias, item_id, institution_id, institution_name, status, item_error, message, error };
}

export interface ImportDocument {
  environment: Environment;
  imported_at: string;
  summary: Record<ImportStatus, number>;
  rows: ImportRowJson[];
}

export function importSummary(rows: ImportRowJson[]): Record<ImportStatus, number> {
  const summary: Record<ImportStatus, number> = { imported: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const row of rows) summary[row.status] += 1;
  return summary;
}

export function importJson(doc: ImportDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The summary line written to stderr after the table or JSON. */
export function importSummaryLine(doc: ImportDocument): string {
  const s = doc.summary;
  return `${s.imported} imported, ${s.updated} updated, ${s.unchanged} unchanged, ${s.failed} failed (${doc.environment}).`;
}

export function importTable(shown: ImportDocument, chalk: ChalkInstance): string {
  const doc = escapeControlsDeep(shown);
  const table = plainTable(['Line', 'Alias', 'Item ID', 'Institution', 'Status', 'Note'], chalk);
  const colour: Record<ImportStatus, (s: string) => string> = { imported: chalk.green, updated: chalk.yellow, unchanged: chalk.dim, failed: chalk.red };
  for (const row of doc.rows) {
    const note = row.error ? `${row.error.error_code}: ${row.error.error_message}` : row.item_error ? `${row.item_error}. ${row.message ?? ''}`.trim() : (row.message ?? '');
    table.push([
      String(row.line),
      row.alias ?? chalk.dim('—'),
      row.item_id ? chalk.dim(row.item_id) : chalk.dim('—'),
      row.institution_name ?? row.institution_id ?? chalk.dim('—'),
      colour[row.status](row.status),
      note,
    ]);
  }
  return `${table.toString()}\n`;
}
