/**
 * Output of `plaidbal doctor`: a report for people (✓ / ! / ✗ / –, what was found, the fix) or
 * one JSON document for programs. Pure: data in, string out.
 */
import type { ChalkInstance } from 'chalk';
import { escapeControls } from '../../text.js';
import type { Check, CheckStatus } from './checks.js';

/** The one JSON document `plaidbal doctor --json` prints. Key order is part of the contract. */
export interface DoctorDocument {
  plaidbal_version: string;
  checked_at: string;
  /** True when no check failed (warnings allowed). */
  ok: boolean;
  exit_code: number;
  checks: Check[];
}

export function doctorJson(doc: DoctorDocument): string {
  const ordered = {
    plaidbal_version: doc.plaidbal_version,
    checked_at: doc.checked_at,
    ok: doc.ok,
    exit_code: doc.exit_code,
    checks: doc.checks.map((c) => ({
      id: c.id,
      environment: c.environment,
      title: c.title,
      status: c.status,
      found: c.found,
      fix: c.fix,
      exit_code: c.exit_code,
      details: c.details,
    })),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

export const SYMBOLS: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗', skipped: '–' };

function symbol(status: CheckStatus, c: ChalkInstance): string {
  const s = SYMBOLS[status];
  return status === 'ok' ? c.green(s) : status === 'warn' ? c.yellow(s) : status === 'fail' ? c.red.bold(s) : c.dim(s);
}

/** One line per check (its symbol, title and what was found), the fix indented under it, then a summary. */
export function doctorReport(doc: DoctorDocument, c: ChalkInstance): string {
  const width = Math.max(...doc.checks.map((check) => check.title.length));
  const lines = [c.bold(`plaidbal doctor ${doc.plaidbal_version}`), ''];
  for (const check of doc.checks) {
    const found = escapeControls(check.found);
    lines.push(`${symbol(check.status, c)} ${c.bold(check.title.padEnd(width))}  ${check.status === 'skipped' ? c.dim(found) : found}`);
    if (check.fix && check.status !== 'ok' && check.status !== 'skipped') lines.push(`  ${' '.repeat(width)}  ${c.cyan('Fix:')} ${escapeControls(check.fix)}`);
    else if (check.fix && check.status === 'skipped') lines.push(`  ${' '.repeat(width)}  ${c.dim(`To check it: ${escapeControls(check.fix)}`)}`);
  }
  lines.push('');
  const failed = doc.checks.filter((check) => check.status === 'fail');
  const warned = doc.checks.filter((check) => check.status === 'warn');
  const warnings = warned.length ? `${warned.length} warning${warned.length === 1 ? '' : 's'}` : '';
  if (failed.length === 0) {
    lines.push(c.green(`No problems found${warnings ? ` (${warnings})` : ''}.`));
  } else {
    const titles = failed.map((check) => check.title).join(', ');
    lines.push(c.red(`${failed.length} problem${failed.length === 1 ? '' : 's'}: ${titles}${warnings ? `; ${warnings}` : ''}. Exit code ${doc.exit_code}.`));
  }
  return `${lines.join('\n')}\n`;
}
