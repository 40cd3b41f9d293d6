import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LINK_PRODUCTS } from '../../src/commands/link/products.js';
import { environmentChoices, environmentOf, itemChoices, offerableAlias, productChoices, type ItemMetadata } from '../../src/commands/completion/values.js';
import { binaryString } from '../helpers/code-points.js';

const ITEMS: ItemMetadata[] = [
  { alias: 'demo', environment: 'sandbox', institution_name: 'First Platypus Bank' },
  { alias: 'checking', environment: 'production', institution_name: 'Tartan Bank' },
  { alias: 'tartan', environment: 'sandbox', institution_name: null },
];
const values = (choices: { value: string }[]) => choices.map((c) => c.value);

describe('offerableAlias: only aliases a shell takes as they are', () => {
  it('offers letters (any script), digits and _ . + % , -', () => {
    for (const alias of ['demo', 'first-platypus-bank-2', 'a_b.c+d%e,f', 'café', 'банк', '銀行', '007']) expect(offerableAlias(alias), alias).toBe(true);
  });

  it('leaves out what bash would expand or split, and what would need quoting', () => {
    for (const alias of ['$(reboot)', '`id`', '$HOME', 'a*', 'b?', '{a,b}', '~root', 'a:b', 'a=b', 'me@bank', "it's", 'a"b', 'a b', 'a\tb', 'a;b', 'a|b', 'a&b', 'a>b', 'a\\b', '!x', '#x', '-x', '']) {
      expect(offerableAlias(alias), JSON.stringify(alias)).toBe(false);
    }
  });
});

describe('environmentOf: the --env already on the line', () => {
  it('reads --env X and --env=X, the last one winning', () => {
    expect(environmentOf(['balance', '--env', 'production'])).toBe('production');
    expect(environmentOf(['balance', '--env=sandbox'])).toBe('sandbox');
    expect(environmentOf(['--env', 'sandbox', 'balance', '--env', 'production'])).toBe('production');
  });

  it('ignores a missing, unknown or retired environment', () => {
    expect(environmentOf(['balance'])).toBeUndefined();
    expect(environmentOf(['balance', '--env'])).toBeUndefined();
    expect(environmentOf(['balance', '--env', 'development'])).toBeUndefined();
    expect(environmentOf(['balance', '--env=Production'])).toBeUndefined();
  });
});

describe('itemChoices', () => {
  it('offers every offerable alias, described by environment and institution', () => {
    expect(itemChoices(ITEMS, ['balance', '--item', ''])).toEqual([
      { value: 'demo', description: 'sandbox, First Platypus Bank' },
      { value: 'checking', description: 'production, Tartan Bank' },
      { value: 'tartan', description: 'sandbox' },
    ]);
  });

  it('keeps to the environment an --env before the cursor names', () => {
    expect(values(itemChoices(ITEMS, ['balance', '--env', 'sandbox', '--item', '']))).toEqual(['demo', 'tartan']);
    expect(values(itemChoices(ITEMS, ['items', 'status', '--env=production', '']))).toEqual(['checking']);
    // The word under the cursor is not an --env value yet.
    expect(values(itemChoices(ITEMS, ['balance', '--item', 'x', '--env']))).toEqual(['demo', 'checking', 'tartan']);
  });

  it('leaves out aliases that are not offerable', () => {
    const odd: ItemMetadata[] = [...ITEMS, { alias: '$(touch /tmp/x)', environment: 'sandbox', institution_name: null }];
    expect(values(itemChoices(odd, ['items', 'remove', '']))).toEqual(['demo', 'checking', 'tartan']);
  });

  it('makes a description one printable line: no control, bidi or line-breaking characters, and short', () => {
    const nasty: ItemMetadata[] = [{ alias: 'x', environment: 'sandbox', institution_name: 'Evil\x1b[2J\u202eBank\nfake\tline\u2028more' + 'y'.repeat(100) }];
    const [choice] = itemChoices(nasty, ['']);
    expect(choice!.description).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e\u2028]/);
    expect(choice!.description.startsWith('sandbox, Evil [2J Bank fake line more')).toBe(true);
    expect([...choice!.description].length).toBeLessThanOrEqual(60);
  });

  it('whatever the aliases and institution names, offers only offerable aliases and one-line descriptions', () => {
    const text = fc.oneof(binaryString({ maxLength: 30 }), fc.string({ maxLength: 30 }), fc.string({ minLength: 50, maxLength: 120 }), fc.constantFrom('$(id)', '`id`', 'a b', 'a\nb', 'x\u202ey', 'é', '銀行', '-x', 'a:b'));
    const items = fc.array(fc.record({ alias: text, environment: fc.constantFrom('sandbox' as const, 'production' as const), institution_name: fc.option(text) }), { maxLength: 8 });
    fc.assert(
      fc.property(items, (list) => {
        const offered = itemChoices(list, ['balance', '--item', '']);
        expect(offered.map((c) => c.value)).toEqual(list.filter((i) => offerableAlias(i.alias)).map((i) => i.alias));
        for (const { value, description } of offered) {
          expect(value).toMatch(/^[\p{L}\p{N}_.+%,-]+$/u);
          expect(description).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
          expect([...description].length).toBeLessThanOrEqual(60);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('offers nothing when nothing is linked', () => {
    expect(itemChoices([], ['balance', '--item', ''])).toEqual([]);
  });
});

describe('productChoices: a comma-separated list', () => {
  it('offers every Link product for an empty word', () => {
    expect(values(productChoices(''))).toEqual([...LINK_PRODUCTS]);
  });

  it('offers the rest after what is typed, leaving out those already listed', () => {
    const offered = values(productChoices('auth,tr'));
    expect(offered).toContain('auth,transactions');
    expect(offered).toContain('auth,transfer');
    expect(offered).not.toContain('auth,auth');
    expect(offered.every((v) => v.startsWith('auth,'))).toBe(true);
    expect(values(productChoices('auth,transactions,')).filter((v) => /,(auth|transactions)$/.test(v))).toEqual([]);
  });

  it('reads the value of --products=…', () => {
    expect(values(productChoices('--products=auth,')).slice(0, 2)).toEqual(['auth,assets', 'auth,beacon']);
  });

  it('never offers balance, which is not a Link product', () => {
    expect(values(productChoices(''))).not.toContain('balance');
  });
});

it('environmentChoices: sandbox and production', () => {
  expect(values(environmentChoices())).toEqual(['sandbox', 'production']);
});
