import { createServer } from 'node:net';
import { freePort } from './local-servers.ts';

/** Whether nothing listens on this loopback port right now. */
export function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The port to use: the one the user asked for (it must be free), else the stable default, else (it is
 * taken, e.g. by another `ts-kcl local`) any free one. `note` says when the default was taken.
 */
export async function choosePort(what: string, asked: number | undefined, stable: number): Promise<{ port: number; note?: string }> {
  if (asked !== undefined) {
    if (asked !== 0 && !(await isFree(asked))) throw new Error(`${what} port ${asked} is in use: pick another or leave the flag out`);
    return { port: asked === 0 ? await freePort() : asked };
  }
  if (await isFree(stable)) return { port: stable };
  const port = await freePort();
  return { port, note: `${what}: port ${stable} is in use, so ${port} instead` };
}
