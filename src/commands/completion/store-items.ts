/**
 * The linked items as completion sees them: the store's readable metadata, read straight from
 * store.json. Completion runs on every Tab press, so it does not go through Store (conf, the
 * key): it never unlocks, never prompts, never takes the lock and never writes. A store that
 * is missing, unreadable, unparseable or not a plaidbal store gives no items, and no error:
 * the shell would print it in the middle of the line being typed.
 */
import { readFileSync } from 'node:fs';
import { documentProblem, type StoreDocument } from '../../store/document.js';
import { storePath } from '../../store/paths.js';
import type { ItemMetadata } from './values.js';

export function storeItems(env: NodeJS.ProcessEnv): ItemMetadata[] {
  try {
    const document: unknown = JSON.parse(readFileSync(storePath(env), 'utf8'));
    if (documentProblem(document) !== null) return [];
    return (document as StoreDocument).items.map(({ alias, environment, institution_name }) => ({ alias, environment, institution_name }));
  } catch {
    return [];
  }
}
