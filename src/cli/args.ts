// Option values checked and converted once, for every command that takes them; a bad one is a usage error.
import { usage } from './command.js';

export function required(name: string, value: string | undefined): string {
  if (!value) throw usage(`--${name} is required (see --help)`);
  return value;
}

/** A repeatable option that must be given at least once (`--dataset`). */
export function requiredList(name: string, value: string[] | undefined): string[] {
  if (!value || value.length === 0) throw usage(`--${name} is required (see --help)`);
  return value;
}

export function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usage(`--${name} takes a whole number above 0`);
  return n;
}

/** `--face-sizes 24,32,48,64`: face heights in pixels, 8 to 512. */
export function faceSizes(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const sizes = value.split(',').map(Number);
  if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 8 || s > 512))
    throw usage('--face-sizes takes face heights in pixels, 8 to 512, separated by commas');
  return sizes;
}

/** `--sides`: detector sides (vision.detectorSide) in pixels, 256 to 1024, separated by commas. */
export function detectorSides(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const sides = value.split(',').map(Number);
  if (sides.some((s) => !Number.isInteger(s) || s < 256 || s > 1024)) throw usage('--sides takes detector sides in pixels, 256 to 1024, separated by commas');
  return sides;
}

export function positiveNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 60) throw usage(`--${name} takes a number above 0, at most 60`);
  return n;
}

export function fraction(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw usage(`--${name} takes a fraction between 0 and 1`);
  return n;
}

export function splitFractions(validation: string | undefined, test: string | undefined): { validation: number; test: number } | undefined {
  if (validation === undefined && test === undefined) return undefined;
  const share = (name: string, value: string | undefined, fallback: number) => {
    const n = value === undefined ? fallback : Number(value);
    if (!(n >= 0 && n < 0.5)) throw usage(`--${name} takes a fraction from 0 to 0.5`);
    return n;
  };
  return { validation: share('validation', validation, 0.2), test: share('test', test, 0.2) };
}

export function headKind(value: string | undefined): 'ncm' | 'mlp' | undefined {
  if (value === undefined || value === 'ncm' || value === 'mlp') return value;
  throw usage('--head takes ncm or mlp');
}

/** Options that mean nothing together with `mode` (eval's two modes): refused rather than ignored. */
export function refuseWith(mode: string, given: Record<string, unknown>, names: string[]): void {
  const stray = names.filter((n) => given[n] !== undefined);
  if (stray.length) throw usage(`${stray.map((n) => `--${n}`).join(', ')} cannot go with ${mode} (see actor-recognizer eval --help)`);
}
