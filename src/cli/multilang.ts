import { parseArgs } from 'node:util';
import { consoleLogger } from '../common/logger.ts';
import { readMultiLangProperties } from '../multilang/daemon-config.ts';
import { MultiLangDaemon } from '../multilang/daemon.ts';

/**
 * `ts-kcl multilang --properties app.properties`: the Java MultiLangDaemon's drop-in. Also takes the
 * Java daemon's `--properties-file` flag and a bare file name, so start scripts change only the command.
 */
export async function runMultiLang(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      properties: { type: 'string' },
      'properties-file': { type: 'string', short: 'p' },
      'log-level': { type: 'string', default: 'info' },
      // The Java daemon's logback file: accepted so start scripts keep working; ts-kcl logs JSON lines.
      'log-configuration': { type: 'string', short: 'l' },
    },
  });
  if (values['log-configuration']) process.stderr.write('ts-kcl multilang: --log-configuration (logback) has no effect; use --log-level\n');
  const path = values.properties ?? values['properties-file'] ?? positionals[0];
  if (!path) throw new Error('--properties is required: the MultiLangDaemon properties file (executableName, streamName, applicationName, ...)');
  const level = values['log-level'];
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') throw new Error('--log-level must be debug, info, warn or error');
  const daemon = new MultiLangDaemon(readMultiLangProperties(path), { logger: consoleLogger(level) });
  // As the Java daemon's shutdown hook: every child gets shutdownRequested and may checkpoint.
  process.once('SIGTERM', () => void daemon.startGracefulShutdown());
  process.once('SIGINT', () => void daemon.startGracefulShutdown());
  await daemon.run();
  return 0;
}
