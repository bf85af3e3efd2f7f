/** A small collector of validation problems, each with the path of the field, for settings forms. */

export interface ValidationIssue {
  /** Dotted path of the field, e.g. `gridFees.perKwh.F2`; '' for the whole value. */
  readonly path: string;
  /** A sentence for people. */
  readonly message: string;
}

export type Validated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

export class Issues {
  readonly list: ValidationIssue[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  get ok(): boolean {
    return this.list.length === 0;
  }

  /** A finite number in [min, max]; records an issue and returns undefined otherwise. */
  number(value: unknown, path: string, what: string, min = -Infinity, max = Infinity): number | undefined {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.add(path, `${what} must be a number (got ${describe(value)})`);
      return undefined;
    }
    if (value < min || value > max) {
      this.add(path, `${what} must be ${range(min, max)} (got ${value})`);
      return undefined;
    }
    return value;
  }

  string(value: unknown, path: string, what: string, pattern?: RegExp, hint?: string): string | undefined {
    if (typeof value !== 'string' || value.trim() === '') {
      this.add(path, `${what} is required (got ${describe(value)})`);
      return undefined;
    }
    if (pattern && !pattern.test(value)) {
      this.add(path, `${what} ${hint ?? `does not match ${pattern}`} (got ${describe(value)})`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string, what: string): T | undefined {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.add(path, `${what} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${describe(value)})`);
    return undefined;
  }

  result<T>(value: T): Validated<T> {
    return this.ok ? { ok: true, value } : { ok: false, issues: this.list };
  }
}

function range(min: number, max: number): string {
  if (min === -Infinity && max === Infinity) return 'finite';
  if (max === Infinity) return `at least ${min}`;
  if (min === -Infinity) return `at most ${max}`;
  return `between ${min} and ${max}`;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 37) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'a list' : 'an object';
}

/** All issues as one message, for an exception. */
export function issuesMessage(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}
