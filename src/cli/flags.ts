import { parseArgs } from 'node:util';

/**
 * One flag vocabulary for every command: each command declares its flags once, and the same
 * declaration parses them (typed, validated, naming the flag on error), answers `--help` and writes
 * the usage text, so a flag that works is always a flag the usage lists.
 */
export type FlagKind = 'string' | 'boolean' | 'int' | 'port' | 'duration';

export interface FlagSpec {
  kind: FlagKind;
  help: string;
  /** Placeholder in the usage text, e.g. NAME or URL. */
  value?: string;
  default?: string | boolean;
  required?: boolean;
  /** Old spellings still accepted, with a deprecation line on stderr. */
  deprecated?: string[];
}

export interface CommandSpec {
  name: string;
  summary: string;
  flags: Record<string, FlagSpec>;
  /** Lines after the flags: examples, notes. */
  notes?: string[];
}

/** A mistake in the command line: printed as one line plus a pointer to `--help`, exit 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The parsed flags of one command, typed by accessor. */
export class Flags {
  constructor(
    private readonly spec: CommandSpec,
    private readonly values: Record<string, string | boolean | undefined>,
  ) {}

  string(name: string): string | undefined {
    const v = this.values[this.known(name)];
    return typeof v === 'string' ? v : undefined;
  }

  required(name: string): string {
    const v = this.string(name);
    if (v === undefined || v === '') throw new UsageError(`--${name} is required: ${this.spec.flags[name]!.help}`);
    return v;
  }

  boolean(name: string): boolean {
    return this.values[this.known(name)] === true;
  }

  int(name: string): number | undefined {
    const v = this.string(name);
    return v === undefined ? undefined : parseInteger(name, v);
  }

  port(name: string): number | undefined {
    const v = this.string(name);
    return v === undefined ? undefined : parsePort(name, v);
  }

  duration(name: string): number | undefined {
    const v = this.string(name);
    return v === undefined ? undefined : parseDuration(name, v);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be ${allowed.join(' or ')}, not "${v}"`);
    return v as T;
  }

  private known(name: string): string {
    if (!(name in this.spec.flags)) throw new Error(`ts-kcl ${this.spec.name} declares no --${name}`);
    return name;
  }
}

/** Parses `args` against the spec; `undefined` when `--help` was asked (the usage is then printed). */
export function parseFlags(spec: CommandSpec, args: string[], out: { stdout: (s: string) => void; stderr: (s: string) => void } = stdio): Flags | undefined {
  if (args.includes('--help') || args.includes('-h')) {
    out.stdout(usage(spec));
    return undefined;
  }
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  const aliases = new Map<string, string>();
  for (const [name, flag] of Object.entries(spec.flags)) {
    options[name] = { type: flag.kind === 'boolean' ? 'boolean' : 'string' };
    for (const old of flag.deprecated ?? []) {
      options[old] = { type: flag.kind === 'boolean' ? 'boolean' : 'string' };
      aliases.set(old, name);
    }
  }
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, value] of Object.entries(parsed)) {
    const current = aliases.get(name);
    if (current !== undefined) out.stderr(`ts-kcl ${spec.name}: --${name} is deprecated; use --${current}\n`);
    values[current ?? name] ??= value;
  }
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (values[name] === undefined && flag.default !== undefined) values[name] = flag.default;
    const v = values[name];
    if (typeof v !== 'string') continue;
    if (flag.kind === 'int') parseInteger(name, v);
    if (flag.kind === 'duration') parseDuration(name, v);
    if (flag.kind === 'port') parsePort(name, v);
  }
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (flag.required && (values[name] === undefined || values[name] === '')) throw new UsageError(`--${name} is required: ${flag.help}`);
  }
  return new Flags(spec, values);
}

const stdio = { stdout: (s: string): void => void process.stdout.write(s), stderr: (s: string): void => void process.stderr.write(s) };

/** `10s`, `500ms`, `2m`, `1h` or plain milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${flag} must be a duration such as 10s, 500ms, 2m or plain milliseconds (10000), not "${text}"`);
  const factor = { ms: 1, s: 1000, m: 60000, h: 3600000 }[(m[2] ?? 'ms') as 'ms'];
  return Math.round(Number(m[1]) * factor);
}

export function parseInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new UsageError(`--${flag} must be a positive whole number, not "${text}"`);
  return Number(text);
}

export function parsePort(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > 65535) throw new UsageError(`--${flag} must be a port number from 0 (any free port) to 65535, not "${text}"`);
  return Number(text);
}

/** The usage text of one command: every flag it accepts, with its help. */
export function usage(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, f]) => {
    const placeholder = f.kind === 'boolean' ? '' : ` ${f.value ?? (f.kind === 'duration' ? 'DURATION' : f.kind === 'int' ? 'N' : f.kind === 'port' ? 'PORT' : 'VALUE')}`;
    const extra = [f.required ? 'required' : '', f.default !== undefined && f.default !== false ? `default ${String(f.default)}` : '', f.deprecated?.length ? `was ${f.deprecated.map((d) => `--${d}`).join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    return [`--${name}${placeholder}`, `${f.help}${extra ? ` (${extra})` : ''}`] as const;
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return [
    `Usage: ts-kcl ${spec.name} [flags]`,
    '',
    spec.summary,
    '',
    'Flags:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    `  ${'--help'.padEnd(width)}  this text`,
    ...(spec.notes?.length ? ['', ...spec.notes] : []),
    '',
  ].join('\n');
}
