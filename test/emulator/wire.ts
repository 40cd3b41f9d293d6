/**
 * The JSON shapes the emulator sends, derived from the official `plaid` package's types.
 * The package declares enums (AccountType, Products, ...) as TypeScript enums; on the wire
 * they are plain strings, so `Wire<T>` turns every enum into the union of its string values.
 */
import type { AccountBalance, AccountBase, Institution, Item, ItemWithConsentFields, PlaidError } from 'plaid';

export type Wire<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Wire<U>[]
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;

export type WireAccount = Wire<AccountBase>;
export type WireBalance = Wire<AccountBalance>;
export type WireItem = Wire<Item>;
export type WireItemWithConsent = Wire<ItemWithConsentFields>;
export type WireInstitution = Wire<Institution>;
export type WirePlaidError = Wire<PlaidError>;
export type AccountTypeName = WireAccount['type'];
export type ProductName = Wire<Item>['billed_products'][number];
export type PlaidErrorTypeName = WirePlaidError['error_type'];
