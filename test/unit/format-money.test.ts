import { describe, expect, it } from 'vitest';
import { currencyLabel, currencyText, exactDecimal, formatMoney, formatMoneyDecimal, minorDigits } from '../../src/format/money.js';

describe('formatMoney', () => {
  it('shows null as a dash, never as zero', () => {
    expect(formatMoney(null, 'USD', null)).toBe('—');
    expect(formatMoney(null, null, 'BTC')).toBe('—');
    expect(formatMoney(null, null, null)).toBe('—');
  });

  it('pads to the currency standard digits', () => {
    expect(formatMoney(100, 'USD', null)).toBe('$100.00');
    expect(formatMoney(320.76, 'USD', null)).toBe('$320.76');
    expect(formatMoney(65262, 'USD', null)).toBe('$65,262.00');
    expect(formatMoney(0, 'USD', null)).toBe('$0.00');
  });

  it('keeps every digit Plaid sent', () => {
    expect(formatMoney(23631.9805, 'USD', null)).toBe('$23,631.9805');
    expect(formatMoney(0.1 + 0.2, 'USD', null)).toBe('$0.30000000000000004');
    expect(formatMoney(1234.5678, 'EUR', null)).toBe('€1,234.5678');
  });

  it('writes exponent-form numbers out in full', () => {
    expect(formatMoney(1e-7, 'USD', null)).toBe('$0.0000001');
    expect(formatMoney(-1e-7, 'USD', null)).toBe('-$0.0000001');
    expect(formatMoney(1.5e21, 'USD', null)).toBe('$1,500,000,000,000,000,000,000.00');
    // The digits Plaid sent (the shortest form, as --json prints it), not the binary value's.
    expect(formatMoney(2 ** 70, 'USD', null)).toBe('$1,180,591,620,717,411,300,000.00');
    expect(formatMoney(1e23, 'USD', null)).toBe('$100,000,000,000,000,000,000,000.00');
    expect(formatMoney(Number.MAX_SAFE_INTEGER, 'USD', null)).toBe('$9,007,199,254,740,991.00');
  });

  it('keeps fractions longer than the 20 digits Intl takes on Node 20', () => {
    expect(formatMoney(1.2345678901234567e-10, 'USD', null)).toBe('$0.00000000012345678901234568');
    expect(formatMoney(-1.2345678901234567e-10, null, 'ETH')).toBe('-0.00000000012345678901234568 ETH');
    expect(formatMoney(5e-324, 'USD', null)).toBe(`$0.${'0'.repeat(323)}5`);
  });

  it('never puts exponent notation in the output', () => {
    for (const value of [1e-7, 1.5e21, 2 ** 70, 5e-324, Number.MAX_VALUE, 1e300]) {
      expect(formatMoney(value, 'USD', null)).not.toMatch(/e[+-]?\d/i);
    }
  });

  it('formats currencies without minor units', () => {
    expect(formatMoney(1000, 'JPY', null)).toBe('¥1,000');
    expect(formatMoney(0.5, 'JPY', null)).toBe('¥0.5');
    expect(formatMoney(-1500, 'JPY', null)).toBe('-¥1,500');
  });

  it('formats other ISO currencies with their symbols', () => {
    expect(formatMoney(1234.5, 'EUR', null)).toBe('€1,234.50');
    expect(formatMoney(1234.5, 'GBP', null)).toBe('£1,234.50');
    expect(formatMoney(1234.5, 'CAD', null)).toBe('CA$1,234.50');
    // Three minor digits: the standard floor is per currency, not a fixed 2.
    expect(formatMoney(1.5, 'KWD', null)).toBe('KWD\u00a01.500');
  });

  it('formats negatives as negatives', () => {
    expect(formatMoney(-12.5, 'USD', null)).toBe('-$12.50');
    expect(formatMoney(-23631.9805, 'USD', null)).toBe('-$23,631.9805');
  });

  it('does not show negative zero', () => {
    expect(formatMoney(-0, 'USD', null)).toBe('$0.00');
    expect(formatMoney(-0, 'JPY', null)).toBe('¥0');
    expect(formatMoney(-0, null, 'BTC')).toBe('0 BTC');
  });

  it('formats unofficial currencies as a grouped number and the code', () => {
    expect(formatMoney(0.12345678, null, 'BTC')).toBe('0.12345678 BTC');
    expect(formatMoney(1234.5, null, 'ETH')).toBe('1,234.5 ETH');
    expect(formatMoney(2, null, 'DOGE')).toBe('2 DOGE');
  });

  it('falls back to number and code for an ISO code Intl does not know', () => {
    expect(formatMoney(12.34, 'XYZ', null)).toBe('12.34 XYZ');
    expect(formatMoney(12.34, 'US', null)).toBe('12.34 US');
    expect(formatMoney(12.34, 'not a code', null)).toBe('12.34 not a code');
  });

  it('shows a plain number when there is no code at all', () => {
    expect(formatMoney(1234.5, null, null)).toBe('1,234.5');
    expect(formatMoney(-0.25, null, null)).toBe('-0.25');
  });

  it('honours a locale and survives one Intl rejects', () => {
    expect(formatMoney(23631.9805, 'EUR', null, { locale: 'de-DE' })).toBe('23.631,9805\u00a0€');
    expect(formatMoney(1234.5, 'USD', null, { locale: 'en_US.UTF-8' })).toBe('$1,234.50');
  });
});

// Codes that are not clean ISO codes. check had its own copy of this module that printed them
// differently ('ıls' threw a RangeError, ' USD ' kept its spaces): the one module pins them.
describe('codes that are not clean ISO codes', () => {
  it("'ıls' is not a currency Intl takes (its upper case is ILS, yet it is not ASCII): the number and the code", () => {
    expect(formatMoney(12.5, 'ıls', null)).toBe('12.5 ıls');
    expect(formatMoneyDecimal('12.50', 'ıls', null)).toBe('12.50 ıls');
    expect(minorDigits('ıls')).toBe(2);
    expect(currencyText('ıls', null)).toBe('ıls');
  });

  it("' USD ' is USD: spaces around a code are dropped", () => {
    expect(formatMoney(12.5, ' USD ', null)).toBe('$12.50');
    expect(formatMoneyDecimal('12.50', ' USD ', null)).toBe('$12.50');
    expect(formatMoneyDecimal('12.5', null, ' BTC ')).toBe('12.5 BTC');
    expect(minorDigits(' JPY ')).toBe(0);
    expect(currencyText(' USD ', null)).toBe('USD');
    expect(currencyText('  ', ' BTC ')).toBe('BTC (unofficial currency code)');
    expect(currencyLabel(' USD ', null)).toBe('USD');
  });
});

describe('minorDigits', () => {
  it("is the currency's standard decimals, and 2 for anything else", () => {
    expect(minorDigits('USD')).toBe(2);
    expect(minorDigits('usd')).toBe(2);
    expect(minorDigits('JPY')).toBe(0);
    expect(minorDigits('KWD')).toBe(3);
    expect(minorDigits('XYZ')).toBe(2);
    expect(minorDigits(null)).toBe(2);
  });
});

describe('currencyText', () => {
  it('names the ISO code, else the unofficial one as such, else says there is none', () => {
    expect(currencyText('USD', null)).toBe('USD');
    expect(currencyText(null, 'BTC')).toBe('BTC (unofficial currency code)');
    expect(currencyText(null, null)).toBe('unknown currency (Plaid sent no currency code)');
    expect(currencyText('', '')).toBe('unknown currency (Plaid sent no currency code)');
  });
});

describe('currencyLabel', () => {
  it('prefers the ISO code, then the unofficial one, then a dash', () => {
    expect(currencyLabel('USD', null)).toBe('USD');
    expect(currencyLabel(null, 'BTC')).toBe('BTC');
    expect(currencyLabel(null, null)).toBe('—');
  });
});

describe('exactDecimal', () => {
  it('expands exponent forms; integers as --json prints them (JSON.stringify), not as their binary value', () => {
    expect(exactDecimal(1e-7)).toBe('0.0000001');
    expect(exactDecimal(-1.5e-9)).toBe('-0.0000000015');
    expect(exactDecimal(1.5e21)).toBe('1500000000000000000000');
    expect(exactDecimal(2 ** 60)).toBe('1152921504606847000');
    expect(exactDecimal(2 ** 70)).toBe('1180591620717411300000'); // JSON: 1.1805916207174113e+21
    expect(exactDecimal(1e23)).toBe('100000000000000000000000'); // not 99999999999999991611392
    expect(exactDecimal(-1e23)).toBe('-100000000000000000000000');
    expect(exactDecimal(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(exactDecimal(-0)).toBe('0');
    expect(exactDecimal(23631.9805)).toBe('23631.9805');
  });

  it('reads back as the same double', () => {
    for (const value of [1e-7, 1.2345678901234567e-10, 23631.9805, 0.1 + 0.2, 1.5e21, 2 ** 70, 5e-324]) {
      expect(Number(exactDecimal(value))).toBe(value);
    }
  });
});
