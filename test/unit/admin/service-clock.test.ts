import { describe, expect, it } from 'vitest';
import { coalescedRead } from '../../../src/admin/service-clock.js';

// The clock offset on PostgreSQL: concurrent requests share a read, and every caller gets
// a read sent after it called (spec 21.2: an advance answered before a request started
// applies to it).

function controlledRead() {
  const sent: Array<{ resolve: (v: number) => void; reject: (e: Error) => void }> = [];
  const read = () =>
    new Promise<number>((resolve, reject) => {
      sent.push({ resolve, reject });
    });
  return { sent, read };
}

describe('coalescedRead', () => {
  it('sends one read per caller when they come one after another', async () => {
    const r = controlledRead();
    const offset = coalescedRead(r.read);
    const first = offset();
    r.sent[0]!.resolve(1);
    expect(await first).toBe(1);
    const second = offset();
    expect(r.sent).toHaveLength(2);
    r.sent[1]!.resolve(2);
    expect(await second).toBe(2);
  });

  it('lets the callers that come during a read share the next one, sent after it returns', async () => {
    const r = controlledRead();
    const offset = coalescedRead(r.read);
    const first = offset();
    const waiting = [offset(), offset(), offset()];
    expect(r.sent).toHaveLength(1); // nobody joins the read sent before they called
    r.sent[0]!.resolve(10);
    expect(await first).toBe(10);
    await Promise.resolve();
    await Promise.resolve();
    expect(r.sent).toHaveLength(2);
    r.sent[1]!.resolve(20); // e.g. an advance committed while the first read was in flight
    expect(await Promise.all(waiting)).toEqual([20, 20, 20]);
  });

  it('gives a failed read to its own callers only', async () => {
    const r = controlledRead();
    const offset = coalescedRead(r.read);
    const first = offset();
    const later = offset();
    r.sent[0]!.reject(new Error('database away'));
    await expect(first).rejects.toThrow('database away');
    await Promise.resolve();
    await Promise.resolve();
    r.sent[1]!.resolve(5);
    expect(await later).toBe(5);
  });
});
