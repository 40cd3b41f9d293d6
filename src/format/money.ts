/**
 * Money formatting for balances. Plaid sends amounts as JSON numbers with as many decimals as the
 * institution reports (a 401k at 23631.9805, a crypto wallet at 0.12345678), so nothing here may
 * round a digit away: the currency's standard digits are a floor, never a ceiling.
 */

/** Shown for a value Plaid left null. Never 0: "no balance reported" is not "a balance of zero". */
export const MISSING = '—';

export interface MoneyOptions {
  /** BCP 47 tag; anything Intl rejects (e.g. `en_US.UTF-8` from LANG) falls back to en-US. */
  locale?: string;
}

const DEFAULT_LOCALE = 'en-US';

/**
 * Node 20's V8 caps minimum/maximumFractionDigits at 20 (the raise to 100 landed later), so longer
 * fractions are formatted to 20 digits and then get their exact digits spliced back in.
 */
const INTL_MAX_FRACTION_DIGITS = 20;

/**
 * Intl accepts any well-formed three-letter code ("XYZ" prints as "XYZ 1.00"); only codes ICU
 * knows get currency styling, the rest use the same plain fallback as unofficial codes.
 */
let knownCurrencies: ReadonlySet<string> | undefined;

const formatters = new Map<string, Intl.NumberFormat>();

export function formatMoney(
  value: number | null,
  iso: string | null,
  unofficial: string | null,
  opts: MoneyOptions = {},
): string {
  if (value === null) return MISSING;
  if (!Number.isFinite(value)) return withCode(String(value), cleanCode(iso) ?? cleanCode(unofficial));
  return formatMoneyDecimal(exactDecimal(value), iso, unofficial, opts);
}

/** formatMoney for an exact decimal string ("-12.5", "10000000000000000.1"), e.g. a total from sumExact. */
export function formatMoneyDecimal(decimal: string, iso: string | null, unofficial: string | null, opts: MoneyOptions = {}): string {
  const isoCode = cleanCode(iso);
  const code = isoCode ?? cleanCode(unofficial);
  const locale = resolveLocale(opts.locale);
  const fractionLength = fractionOf(decimal).length;

  if (isoCode !== null && isKnownCurrency(isoCode)) {
    return formatDecimal(decimal, Math.max(standardDigits(isoCode, locale), fractionLength), locale, isoCode);
  }
  return withCode(formatDecimal(decimal, fractionLength, locale, null), code);
}

/** The currency's standard decimals (2 for USD, 0 for JPY, 3 for KWD); 2 when the code is unofficial or unknown. */
export function minorDigits(iso: string | null): number {
  const isoCode = cleanCode(iso);
  return isoCode !== null && isKnownCurrency(isoCode) ? standardDigits(isoCode, DEFAULT_LOCALE) : 2;
}

/** The code for the Currency column: ISO first (Plaid nulls it when the code is unofficial). */
export function currencyLabel(iso: string | null, unofficial: string | null): string {
  return cleanCode(iso) ?? cleanCode(unofficial) ?? MISSING;
}

/** The currency in words: `USD`; `BTC (unofficial currency code)`; `unknown currency (…)`. */
export function currencyText(iso: string | null, unofficial: string | null): string {
  const isoCode = cleanCode(iso);
  if (isoCode !== null) return isoCode;
  const unofficialCode = cleanCode(unofficial);
  if (unofficialCode !== null) return `${unofficialCode} (unofficial currency code)`;
  return 'unknown currency (Plaid sent no currency code)';
}

/**
 * The decimal digits the double stands for, never in exponent form: the shortest form that reads
 * back as the same double (what JSON.parse read from Plaid's answer, and what --json prints), its
 * exponent written out, so 1e23 is 100000000000000000000000, never the binary value's
 * 99999999999999991611392: digits Plaid never sent. -0 becomes "0".
 */
export function exactDecimal(value: number): string {
  const text = String(value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign = '', lead = '', rest = '', exponentText = '0'] = match;
  const digits = lead + rest;
  const point = 1 + Number(exponentText); // where the decimal point falls within `digits`
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function fractionOf(decimal: string): string {
  const dot = decimal.indexOf('.');
  return dot === -1 ? '' : decimal.slice(dot + 1);
}

function formatDecimal(decimal: string, digits: number, locale: string, currency: string | null): string {
  if (digits <= INTL_MAX_FRACTION_DIGITS) {
    return formatter(locale, currency, digits).format(decimal as Intl.StringNumericLiteral);
  }
  // Cut (not round) to what Intl can take, so the sign and integer part stay exact, then put the
  // full fraction back in the locale's own digits.
  const dot = decimal.indexOf('.');
  const cut = decimal.slice(0, dot + 1 + INTL_MAX_FRACTION_DIGITS);
  const fraction = localiseDigits(fractionOf(decimal).padEnd(digits, '0'), locale);
  return formatter(locale, currency, INTL_MAX_FRACTION_DIGITS)
    .formatToParts(cut as Intl.StringNumericLiteral)
    .map((part) => (part.type === 'fraction' ? fraction : part.value))
    .join('');
}

/** `digits === null` asks for the currency's defaults, which is how its standard digits are read. */
function formatter(locale: string, currency: string | null, digits: number | null): Intl.NumberFormat {
  const key = `${locale}|${currency ?? ''}|${digits ?? ''}`;
  let cached = formatters.get(key);
  if (cached === undefined) {
    const options: Intl.NumberFormatOptions = currency === null ? {} : { style: 'currency', currency };
    if (digits !== null) {
      options.minimumFractionDigits = digits;
      options.maximumFractionDigits = digits;
    }
    cached = new Intl.NumberFormat(locale, options);
    formatters.set(key, cached);
  }
  return cached;
}

/** `code` must pass isKnownCurrency: Intl throws a RangeError on anything it cannot take. */
function standardDigits(code: string, locale: string): number {
  return formatter(locale, code, null).resolvedOptions().maximumFractionDigits ?? 2;
}

function localiseDigits(asciiDigits: string, locale: string): string {
  const plain = formatter(locale, null, 0);
  return asciiDigits.replace(/\d/g, (digit) => plain.format(Number(digit)));
}

function isKnownCurrency(code: string): boolean {
  knownCurrencies ??= new Set(Intl.supportedValuesOf('currency'));
  // ASCII letters only: "ıls".toUpperCase() is "ILS", but Intl rejects "ıls" itself.
  return /^[A-Za-z]{3}$/.test(code) && knownCurrencies.has(code.toUpperCase());
}

function resolveLocale(locale: string | undefined): string {
  if (locale === undefined) return DEFAULT_LOCALE;
  try {
    return Intl.getCanonicalLocales(locale)[0] ?? DEFAULT_LOCALE;
  } catch {
    return DEFAULT_LOCALE;
  }
}

function cleanCode(code: string | null | undefined): string | null {
  const trimmed = code?.trim();
  return trimmed ? trimmed : null;
}

function withCode(amount: string, code: string | null): string {
  return code === null ? amount : `${amount} ${code}`;
}
