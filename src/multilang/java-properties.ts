/**
 * A reader for the `java.util.Properties` text format, so a MultiLangDaemon properties file means here
 * what it means to the Java daemon: `key = value`, `key: value` or `key value`; `#` and `!` comments;
 * a trailing backslash continues the line; `\t \n \r \f \uXXXX` escapes; the last duplicate wins.
 */
export interface PropertyEntry {
  value: string;
  /** 1-based line where the entry starts, for error messages. */
  line: number;
}

export function parseJavaProperties(text: string): Map<string, PropertyEntry> {
  const entries = new Map<string, PropertyEntry>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i]!.replace(/^[ \t\f]+/, '');
    if (logical === '' || logical.startsWith('#') || logical.startsWith('!')) continue;
    while (endsWithContinuation(logical) && i + 1 < lines.length) {
      logical = logical.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    if (endsWithContinuation(logical)) logical = logical.slice(0, -1);
    const { key, value } = splitKeyValue(logical);
    entries.delete(key); // keep file order of the last occurrence
    entries.set(key, { value: unescape(value), line: start + 1 });
  }
  return entries;
}

/** An odd number of trailing backslashes continues the line; an even number is escaped backslashes. */
function endsWithContinuation(line: string): boolean {
  let n = 0;
  for (let j = line.length - 1; j >= 0 && line[j] === '\\'; j--) n++;
  return n % 2 === 1;
}

function splitKeyValue(line: string): { key: string; value: string } {
  let j = 0;
  let key = '';
  for (; j < line.length; j++) {
    const c = line[j]!;
    if (c === '\\') {
      key += c + (line[j + 1] ?? '');
      j++;
      continue;
    }
    if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') break;
    key += c;
  }
  let rest = line.slice(j).replace(/^[ \t\f]+/, '');
  if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]+/, '');
  return { key: unescape(key), value: rest };
}

const ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f' };

function unescape(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return ESCAPES[e] ?? e;
  });
}
