// Summarises a .heapsnapshot (v8.writeHeapSnapshot): self size and count by constructor/type, biggest first.
//   node bench/lib/heap-summary.js file.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const snap = JSON.parse(readFileSync(positionals[0], 'utf8'));
const meta = snap.snapshot.meta;
const F = meta.node_fields.length;
const idx = (name) => meta.node_fields.indexOf(name);
const [iType, iName, iSize] = [idx('type'), idx('name'), idx('self_size')];
const types = meta.node_types[0];
const groups = new Map();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += F) {
  const type = types[snap.nodes[i + iType]];
  const name = type === 'object' || type === 'closure' ? snap.strings[snap.nodes[i + iName]] : `(${type})`;
  const size = snap.nodes[i + iSize];
  total += size;
  const g = groups.get(name) ?? { count: 0, size: 0 };
  g.count++;
  g.size += size;
  groups.set(name, g);
}
console.log(`total self size ${(total / 1048576).toFixed(1)} MB in ${snap.nodes.length / F} nodes`);
for (const [name, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, Number(args.top))) {
  console.log(`${(g.size / 1048576).toFixed(2).padStart(8)} MB ${String(g.count).padStart(8)}  ${name.slice(0, 80)}`);
}
