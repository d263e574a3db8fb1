import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ByteBudget, byteBudgetChannel, type ByteReservation } from '../../src/retrieval/byte-budget.ts';

const never = new AbortController().signal;
/** Lets granted promises run their continuations. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
/** A waiting reservation request: `granted()` is the bytes it got, undefined while it waits. */
function request(budget: ByteBudget, bytes: number): { granted(): number | undefined } {
  let got: ByteReservation | undefined;
  void budget.reserve(bytes, never).then((r) => (got = r));
  return { granted: () => got?.bytes };
}

describe('ByteBudget', () => {
  it('grants what fits at once and makes the rest wait', () => {
    const budget = new ByteBudget(100);
    const a = budget.tryReserve(60);
    assert.ok(a);
    assert.equal(budget.tryReserve(41), undefined);
    const b = budget.tryReserve(40);
    assert.ok(b);
    assert.equal(budget.reserved, 100);
  });

  it('grants any size when nothing is reserved: a page bigger than the budget still goes, alone', async () => {
    const budget = new ByteBudget(100);
    const big = budget.tryReserve(500);
    assert.ok(big);
    assert.equal(budget.reserved, 500);
    const second = request(budget, 10);
    await settle();
    assert.equal(second.granted(), undefined, 'nothing else while over the budget');
    big.release();
    await settle();
    assert.equal(second.granted(), 10);
  });

  it('serves waiters first come, first served: a small request does not pass a big one', async () => {
    const budget = new ByteBudget(100);
    const first = budget.tryReserve(90)!;
    const order: string[] = [];
    void budget.reserve(80, never).then((r) => {
      order.push('big');
      return r;
    });
    void budget.reserve(5, never).then(() => order.push('small'));
    assert.equal(budget.tryReserve(5), undefined, 'tryReserve queues behind the waiters too');
    await settle();
    assert.deepEqual(order, [], 'the small one waits behind the big one even though it fits');
    first.release();
    await settle();
    assert.deepEqual(order, ['big', 'small']);
    assert.equal(budget.reserved, 85);
  });

  it('never makes a zero-byte request wait (an idle shard does not queue behind busy ones)', () => {
    const budget = new ByteBudget(100);
    budget.tryReserve(100);
    void budget.reserve(50, never);
    const idle = budget.tryReserve(0);
    assert.ok(idle);
    assert.equal(idle.bytes, 0);
  });

  it('resize: a grow may pass the budget; a shrink wakes the waiters that now fit', async () => {
    const budget = new ByteBudget(100);
    const page = budget.tryReserve(30)!;
    page.resize(150); // the page turned out bigger: already in memory, allowed
    assert.equal(budget.reserved, 150);
    assert.equal(page.bytes, 150);
    const next = request(budget, 50);
    await settle();
    assert.equal(next.granted(), undefined);
    page.resize(50);
    await settle();
    assert.equal(next.granted(), 50);
    assert.equal(budget.reserved, 100);
  });

  it('release is idempotent, and a released reservation ignores resize', () => {
    const budget = new ByteBudget(100);
    const a = budget.tryReserve(40)!;
    const b = budget.tryReserve(40)!;
    a.release();
    a.release();
    a.resize(90);
    assert.equal(a.bytes, 0);
    assert.equal(budget.reserved, 40);
    b.release();
    assert.equal(budget.reserved, 0);
  });

  it('an aborted waiter leaves the queue, rejects with the reason, and lets the one behind it go', async () => {
    const budget = new ByteBudget(100);
    budget.tryReserve(50);
    const abort = new AbortController();
    const blocked = budget.reserve(80, abort.signal);
    const behind = request(budget, 50);
    await settle();
    assert.equal(budget.waiting, 2);
    abort.abort(new Error('stopped'));
    await assert.rejects(blocked, /stopped/);
    await settle();
    assert.equal(behind.granted(), 50, 'the next waiter fits once the head left');
    assert.equal(budget.waiting, 0);
    assert.equal(budget.reserved, 100, 'the aborted request took nothing');
    await assert.rejects(budget.reserve(10, abort.signal), /stopped/, 'an aborted signal is refused at once');
  });

  it('reserveNow and expedite grant past the budget (a shard with nothing queued must not stall behind stuck ones)', async () => {
    const budget = new ByteBudget(100);
    const full = budget.tryReserve(100)!;
    const now = budget.reserveNow(40);
    assert.equal(budget.reserved, 140, 'granted past the budget');
    let expedite: (() => void) | undefined;
    const box: { got?: ByteReservation } = {};
    void budget.reserve(30, new AbortController().signal, (e) => (expedite = e)).then((r) => (box.got = r));
    await settle();
    const got = (): ByteReservation | undefined => box.got;
    assert.equal(got(), undefined, 'waiting while the budget is spent');
    expedite!();
    await settle();
    assert.equal(got()?.bytes, 30, 'expedited: granted at once');
    assert.equal(budget.waiting, 0);
    expedite!(); // already granted: nothing happens
    assert.equal(budget.reserved, 170);
    for (const r of [full, now, got()!]) r.release();
    assert.equal(budget.reserved, 0);
  });

  it('publishes its reserved bytes on the diagnostics channel while someone listens', () => {
    const budget = new ByteBudget(100);
    const seen: number[] = [];
    const listener = (message: unknown): void => {
      const { budget: from } = message as { budget: ByteBudget };
      if (from === budget) seen.push(from.reserved);
    };
    subscribe(byteBudgetChannel.name, listener);
    try {
      const r = budget.tryReserve(30)!;
      r.resize(70);
      r.release();
    } finally {
      unsubscribe(byteBudgetChannel.name, listener);
    }
    assert.deepEqual(seen, [30, 70, 0]);
  });

  it('refuses a capacity that is not positive', () => {
    assert.throws(() => new ByteBudget(0), RangeError);
  });
});
