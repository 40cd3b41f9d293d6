// Types for src/unit-wrapper.mjs, which src/load.ts and scripts/build.mjs import.
export const UNIT_HEAD: string;
export const UNIT_TAIL: string;
export function wrapUnit(body: string): string;
