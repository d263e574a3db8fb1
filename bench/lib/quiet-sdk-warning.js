// Imported first by bench child processes: prints every process warning as Node does, except the AWS
// SDK's NodeVersionSupportWarning (Node 20 support notice), which would repeat once per process.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (String(warning?.message ?? warning).startsWith('NodeVersionSupportWarning')) return;
  process.stderr.write(`(node:${process.pid}) ${warning?.name ?? 'Warning'}: ${warning?.message ?? warning}\n`);
});
