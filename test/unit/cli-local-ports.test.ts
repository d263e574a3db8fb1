import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { choosePort } from '../../src/local/ports.ts';
import { freePort } from '../../src/local/local-servers.ts';

describe('ts-kcl local ports', () => {
  it('the stable default when free; a free one (with a note) when taken; an asked-for port that is taken is an error', async () => {
    const stable = await freePort();
    assert.deepEqual(await choosePort('Kinesis', undefined, stable), { port: stable });
    const taken = createServer().listen(stable, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const other = await choosePort('Kinesis', undefined, stable);
      assert.notEqual(other.port, stable);
      assert.equal(other.note, `Kinesis: port ${stable} is in use, so ${other.port} instead`);
      await assert.rejects(choosePort('Kinesis', stable, 4567), new RegExp(`Kinesis port ${stable} is in use`));
      assert.notEqual((await choosePort('Kinesis', 0, stable)).port, 0, '0 means any free port');
    } finally {
      taken.close();
    }
  });
});
