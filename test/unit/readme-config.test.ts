// The README's configuration table must name every SchedulerConfig field, and only real ones, so it
// cannot fall behind src/config.ts. Both sides are parsed: the interface with the TypeScript parser.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Dotted paths of every leaf field of SchedulerConfig: object literals and config.ts interfaces are opened. */
export function schedulerConfigFields(source: string): string[] {
  const file = ts.createSourceFile('config.ts', source, ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  file.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  });
  const members = (type: ts.TypeNode | undefined): ts.NodeArray<ts.TypeElement>[] => {
    if (!type) return [];
    if (ts.isTypeLiteralNode(type)) return [type.members];
    if (ts.isUnionTypeNode(type) || ts.isIntersectionTypeNode(type)) return type.types.flatMap(members);
    if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
      const declared = interfaces.get(type.typeName.text);
      return declared ? [declared.members] : [];
    }
    return [];
  };
  const fields = new Set<string>();
  const walk = (groups: ts.NodeArray<ts.TypeElement>[], prefix: string): void => {
    for (const member of groups.flat()) {
      if (!ts.isPropertySignature(member) || !ts.isIdentifier(member.name)) continue;
      const path = prefix + member.name.text;
      const inner = members(member.type);
      if (inner.length > 0) walk(inner, `${path}.`);
      else fields.add(path);
    }
  };
  const root = interfaces.get('SchedulerConfig');
  assert.ok(root, 'src/config.ts declares SchedulerConfig');
  walk([root.members], '');
  return [...fields].sort();
}

/** Every `name` in the first column of the table under "## Configuration". */
export function readmeConfigFields(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Configuration'));
  const table = section.slice(section.indexOf('| ts-kcl field |')).split('\n');
  const fields = new Set<string>();
  for (const line of table.slice(2)) {
    if (!line.startsWith('|')) break;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(/`([A-Za-z0-9.]+)`/g)) fields.add(m[1]!);
  }
  return [...fields].sort();
}

describe('README configuration table', () => {
  const inConfig = schedulerConfigFields(read('src/config.ts'));
  const inReadme = readmeConfigFields(read('README.md'));

  it('parses both sides', () => {
    assert.ok(inConfig.includes('clientConfig.endpoints.kinesisHttp2'), 'nested object fields are opened');
    assert.ok(inConfig.includes('retrieval.consumerArn') && inConfig.includes('retrieval.maxRecords'), 'both retrieval modes are opened');
    assert.ok(inReadme.length > 20, 'the table is found');
  });

  it('names every SchedulerConfig field', () => {
    assert.deepEqual(inConfig.filter((f) => !inReadme.includes(f)), [], 'fields missing from the README table');
  });

  it('names no field SchedulerConfig lacks', () => {
    assert.deepEqual(inReadme.filter((f) => !inConfig.includes(f)), [], 'README rows for fields that do not exist');
  });
});
