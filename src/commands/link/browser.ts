import type { Ctx } from '../../context.js';
import { usageError } from '../../errors.js';
import type { LinkOptions } from './index.js';

export async function runLink(_ctx: Ctx, _opts: LinkOptions): Promise<number> {
  throw usageError('Browser linking is not built yet.', 'Use `plaidbal link --sandbox` for Sandbox items.');
}
